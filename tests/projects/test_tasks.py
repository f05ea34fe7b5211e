"""The one job pipeline: every kind started by ``do_start_job``, run by the ``job_task`` shell, retried alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery
from celery.signals import task_retry
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

import exports.tasks
from annotator.celery import app as celery_app
from exports.models import Snapshot
from pipelines.models import TrainedModel
from projects.errors import Conflict
from projects.models import Document, Job, Suggestion
from projects.tasks import MAX_RETRIES
from tests.conftest import wait_for_job

BASE_DIR = Path(__file__).resolve().parents[2]
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


def stored_files() -> set[str]:
    root = Path(default_storage.location)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def broker_down(monkeypatch):
    """The current Celery app sends tasks to a broker that cannot be reached (as when Redis is down), not in-process.

    A fresh app made current, as the product's is, so the product's app keeps its pooled connections.
    """
    monkeypatch.setenv("CELERY_BROKER_URL", UNREACHABLE_BROKER)  # Celery reads it before its own setting
    app = Celery("broker-down")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_always_eager = False
    app.set_current()
    try:
        yield app
    finally:
        celery_app.set_current()
        app.close()


@pytest.fixture
def retries():
    """The names of the tasks Celery retried during the test."""
    seen = []

    def record(sender=None, **kwargs):
        seen.append(sender.name)

    task_retry.connect(record, weak=False)
    yield seen
    task_retry.disconnect(record)


def start_import(client, project):
    upload = SimpleUploadedFile("lines.txt", b"Never imported.\n")
    return client.post(f"/api/v1/projects/{project.pk}/imports/", {"file": upload, "format": "text"},
                       format="multipart")


def start_export(client, project):
    return client.get(f"/api/v1/projects/{project.pk}/export/?format=jsonl")


def start_snapshot(client, project):
    return client.post(f"/api/v1/projects/{project.pk}/snapshots/", {"note": "never"}, format="json")


def start_prelabel(client, project):
    return client.post(f"/api/v1/projects/{project.pk}/prelabel/", {"model": "rules"}, format="json")


def start_training(client, project):
    return client.post(f"/api/v1/projects/{project.pk}/models/", {"name": "never"}, format="json")


def start_agreement(client, project):
    return client.get(f"/api/v1/projects/{project.pk}/agreement/")


STARTS = {"import": start_import, "export": start_export, "snapshot": start_snapshot, "prelabel": start_prelabel,
          "train": start_training, "agreement": start_agreement}


@pytest.mark.django_db(transaction=True)  # the job row commits, and its task is queued, within the request
@pytest.mark.parametrize("kind", STARTS)
def test_every_job_kind_asked_for_while_the_broker_is_unreachable_answers_503_and_its_job_fails_at_once(
        project, people, client_for, settings, broker_down, kind):
    settings.EXPORT_SYNC_MAX_DOCUMENTS = -1  # exports and snapshots of any size run as jobs
    settings.AGREEMENT_SYNC_MAX_ANNOTATIONS = -1  # so does the agreement
    documents, files = Document.objects.count(), stored_files()
    response = STARTS[kind](client_for(people["admin"]), project)
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    job = Job.objects.get()
    message = (f"the {job.kind} job could not be queued (the task queue is unavailable); nothing was done, please "
               "try again later")
    assert body == {"detail": message, "code": "queue_unavailable", "job_id": job.pk}
    assert job.status == Job.Status.FAILED and job.error == message
    assert job.result == {"code": "queue_unavailable"}
    assert job.finished_at is not None and job.started_at is None
    assert stored_files() == files  # an import's upload is deleted again
    assert Document.objects.count() == documents
    assert not Snapshot.objects.exists() and not Suggestion.objects.exists() and not TrainedModel.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_agreement_asked_for_again_once_the_broker_is_back_starts_a_new_job_not_the_failed_one(
        project, people, client_for, settings, broker_down, monkeypatch):
    settings.AGREEMENT_SYNC_MAX_ANNOTATIONS = -1
    client = client_for(people["reviewer"])
    assert start_agreement(client, project).status_code == 503
    assert start_agreement(client, project).status_code == 503  # still down: another failed job, not a stuck one
    failed = list(Job.objects.values_list("status", flat=True))
    assert failed == ["failed", "failed"]
    celery_app.set_current()  # the broker is back (tasks run in-process here)
    response = start_agreement(client, project)
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == "succeeded"  # a new job, run (in-process here), not one of the failed ones
    assert Job.objects.filter(status="failed").count() == 2
    assert start_agreement(client, project).status_code == 200  # computed, and cached


@pytest.mark.django_db(transaction=True)
def test_the_admin_import_form_says_the_queue_is_unavailable(project, people, broker_down, client):
    people["admin"].is_staff = people["admin"].is_superuser = True
    people["admin"].save()
    client.force_login(people["admin"])
    upload = SimpleUploadedFile("lines.txt", b"Never imported.\n")
    response = client.post(f"/admin/projects/project/{project.pk}/import/", {"file": upload, "format": "text",
                                                                             "annotations_as": "submitted"})
    assert response.status_code == 200
    assert "could not be queued (the task queue is unavailable)" in response.content.decode()
    assert Job.objects.get().result == {"code": "queue_unavailable"}


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_says_when_the_agreement_could_not_be_queued(project, people, settings, broker_down, client):
    settings.AGREEMENT_SYNC_MAX_ANNOTATIONS = -1
    client.force_login(people["reviewer"])
    response = client.get(f"/projects/{project.pk}/dashboard/")
    assert response.status_code == 200
    assert "The agreement could not be computed: the agreement job could not be queued" in response.content.decode()


def test_a_web_process_finds_the_tasks_by_name_without_importing_their_modules():
    """Actions never import a tasks module; the first lookup has Celery discover them."""
    code = ("import django; django.setup(); import sys; from projects.actions.jobs import registered_task; "
            "assert 'exports.tasks' not in sys.modules; "
            "print(*(registered_task(n).name for n in ('exports.run_import', 'pipelines.train', "
            "'curation.compute_agreement')))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.settings.test", "CELERY_BROKER_URL": UNREACHABLE_BROKER}
    out = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["exports.run_import", "pipelines.train", "curation.compute_agreement"]


@pytest.mark.django_db
def test_an_annotator_error_fails_the_job_with_its_detail_and_code(project, people, client_for, settings,
                                                                  django_capture_on_commit_callbacks, monkeypatch,
                                                                  retries):
    settings.EXPORT_SYNC_MAX_DOCUMENTS = -1

    def not_exportable(job):
        raise Conflict("this project cannot be exported as jsonl: a reason", code="not_exportable")

    monkeypatch.setattr(exports.tasks, "run_export_job", not_exportable)
    client = client_for(people["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = start_export(client, project).json()["job"]["id"]
    job = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert (job["status"], job["error"]) == ("failed", "this project cannot be exported as jsonl: a reason")
    assert job["result"] == {"code": "not_exportable"}
    assert retries == []


@pytest.mark.django_db
def test_retries_used_up_fail_the_job_with_database_unavailable_and_run_its_cleanup(
        project, people, client_for, django_capture_on_commit_callbacks, monkeypatch, retries):
    calls = []

    def database_away(job):
        calls.append(job.pk)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(exports.tasks, "run_import", database_away)
    files = stored_files()
    client = client_for(people["admin"])
    with django_capture_on_commit_callbacks(execute=True):  # eager: the retries run at once, one after another
        job_id = start_import(client, project).json()["job"]["id"]
    job = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert job["status"] == "failed"
    assert job["result"] == {"code": "database_unavailable"}
    assert job["error"].startswith("the worker could not reach the database (OperationalError: server closed")
    assert len(calls) == MAX_RETRIES + 1 and retries == ["exports.run_import"] * MAX_RETRIES
    assert stored_files() == files  # the upload went once the job had ended, not before a retry


# ------------------------------------------------------------------------------------------- on a real worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_transient_database_error_is_retried_on_the_worker_and_the_job_then_succeeds(
        celery_worker, project, people, client_for, settings, monkeypatch, retries):
    settings.EXPORT_SYNC_MAX_DOCUMENTS = -1
    export = exports.tasks.run_export_job
    calls = []

    def flaky(job):
        calls.append(job.pk)
        if len(calls) == 1:
            raise OperationalError("could not connect to server: Connection refused")
        return export(job)

    monkeypatch.setattr(exports.tasks, "run_export_job", flaky)
    client = client_for(people["reviewer"])
    job = wait_for_job(client, start_export(client, project).json()["job"]["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["url"] == f"/api/v1/jobs/{job['id']}/download/"
    assert calls == [job["id"], job["id"]] and retries == ["exports.run_export"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_bug_fails_the_job_with_internal_error_on_the_worker_and_is_never_retried(
        celery_worker, project, people, client_for, settings, monkeypatch, retries):
    settings.AGREEMENT_SYNC_MAX_ANNOTATIONS = -1
    calls = []

    def buggy(job, progress):
        calls.append(job.pk)
        raise KeyError("spans")

    monkeypatch.setattr("curation.tasks.run_agreement_job", buggy)
    client = client_for(people["reviewer"])
    job = wait_for_job(client, start_agreement(client, project).json()["job"]["id"])
    assert job["status"] == "failed"
    assert job["error"] == "computing the agreement failed with an internal error; ask again to retry"
    assert job["result"] == {"code": "internal_error"}
    assert calls == [job["id"]] and retries == []
