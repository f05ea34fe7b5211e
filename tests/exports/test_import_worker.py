"""Imports on a real Celery worker (Redis broker), reading and writing the test database from its own thread."""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from projects.models import Annotation, Document, Job, Span
from tests.conftest import wait_for_job
from tests.exports.test_imports import NO_WARNINGS

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]



@pytest.fixture(autouse=True)
def _fresh_cache():
    """Job progress and cancel flags live in the cache, keyed by job id; ids repeat between transactional tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def post_import(client, project, content: str, fmt: str = "jsonl", **fields) -> dict:
    upload = SimpleUploadedFile(f"upload.{fmt}", content.encode("utf-8"))
    response = client.post(f"/api/v1/projects/{project.pk}/imports/", {"file": upload, "format": fmt, **fields},
                           format="multipart")
    assert response.status_code == 202, response.content
    return response.json()["job"]


def documents_line(n: int) -> dict:
    text = f"Bulletin {n}: Leila Nasser arrived in Kraków."
    start = text.index("Leila")
    return {"text": text, "meta": {"n": n},
            "spans": [{"start": start, "end": start + len("Leila Nasser"), "label": "PERSON"},
                      {"start": text.index("Kraków"), "end": text.index("Kraków") + 6, "label": "GPE"}],
            "relations": [{"head": 0, "tail": 1, "label": "located_in"}]}


def jsonl(objects) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects)


def test_worker_imports_a_posted_file(celery_worker, project, people, client_for, settings):
    settings.IMPORT_BATCH_SIZE = 4
    admin = client_for(people["admin"])
    job = post_import(admin, project, jsonl(documents_line(n) for n in range(10)))
    assert job["kind"] == "import" and job["status"] in {"pending", "running", "succeeded"}
    job = wait_for_job(admin, job["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["result"] == {"documents": 10, "annotations": 10, "spans": 20, "relations": 10,
                             "duplicates_skipped": 0, "labels_created": [], **NO_WARNINGS}
    assert job["progress"] == {"done": 10, "total": 10}
    documents = Document.objects.filter(project=project, text__startswith="Bulletin ")
    assert sorted(d.meta["n"] for d in documents) == list(range(10))
    assert {d.status for d in documents} == {Document.Status.SUBMITTED}
    assert Annotation.objects.filter(document__in=documents, annotator=people["admin"],
                                     status=Annotation.Status.SUBMITTED).count() == 10
    assert not default_storage.exists(Job.objects.get(pk=job["id"]).params["path"])


def test_worker_fails_a_bad_file_with_the_line_number_and_keeps_nothing(celery_worker, project, people, client_for,
                                                                        settings):
    settings.IMPORT_BATCH_SIZE = 3
    admin = client_for(people["admin"])
    before = Document.objects.count()
    content = jsonl(documents_line(n) for n in range(7)) + '{"text": "broken\n' + jsonl([documents_line(99)])
    job = wait_for_job(admin, post_import(admin, project, content)["id"])
    assert job["status"] == "failed"
    assert job["error"].startswith("line 8: not valid JSON")
    assert Document.objects.count() == before
    assert not Span.objects.exists() and not Annotation.objects.exists()


def test_job_cancelled_while_pending_is_never_run(celery_worker, project, people, client_for):
    admin = client_for(people["admin"])
    with transaction.atomic():  # the task is queued when this commits, so the cancel comes first
        first = post_import(admin, project, "Never to be imported.\nNor this.\n", "text")
        response = admin.post(f"/api/v1/jobs/{first['id']}/cancel/")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
    # The worker takes tasks one at a time, in order: once a later import has finished, the first was handled.
    second = wait_for_job(admin, post_import(admin, project, "Imported after the cancelled one.\n", "text")["id"])
    assert second["status"] == "succeeded", second["error"]

    first_job = Job.objects.get(pk=first["id"])
    assert first_job.status == Job.Status.CANCELLED
    assert first_job.started_at is None and first_job.result == {}
    assert not Document.objects.filter(text__in=["Never to be imported.", "Nor this."]).exists()
    assert not default_storage.exists(first_job.params["path"])  # the worker still removed its upload
    assert admin.get(f"/api/v1/jobs/{first['id']}/").json()["status"] == "cancelled"
