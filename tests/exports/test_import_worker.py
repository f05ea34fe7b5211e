"""Imports on a real Celery worker (Redis broker): the in-process worker of tests/conftest.py, reading and writing
the test database from its own thread; and a prefork worker subprocess, whose imports run worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from projects.models import Annotation, Document, Job, Span
from tests.conftest import require, wait_for_job
from tests.exports.test_imports import NO_WARNINGS

BASE_DIR = Path(__file__).resolve().parents[2]

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


# ------------------------------------------------------------------------------- a prefork worker's import processes

def descendants(root: int) -> list[tuple[int, bytes]]:
    """``(pid, command line)`` of every process below ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        try:
            found.append((pid, (Path("/proc") / str(pid) / "cmdline").read_bytes()))
        except OSError:
            continue
        todo.extend(children.get(pid, ()))
    return found


def import_processes_of(root: int) -> list[int]:
    return [pid for pid, command in descendants(root) if b"exports.processes" in command]


class PreforkWorker:
    """``celery -A annotator worker --pool prefork`` (the product's default pool, whose pool processes are
    daemons) as a subprocess on a queue of its own, reading the test database; its imports always use two
    worker processes (``IMPORT_PARALLEL_BYTES=0``), which check every batch of 5 lines."""

    def __init__(self):
        import uuid

        from celery import Celery

        from tests.pipelines.test_prelabel_worker import worker_database_url

        broker = os.environ.get("CELERY_BROKER_URL", "")
        require(broker.startswith("redis://"), "Redis broker (CELERY_BROKER_URL=redis://...)")
        require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
        self.queue = f"annotator-prefork-{uuid.uuid4().hex[:8]}"
        self.name = f"prefork-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.pipelines.worker_settings",
               "DATABASE_URL": worker_database_url(), "DJANGO_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
               "CELERY_TASK_DEFAULT_QUEUE": self.queue, "IMPORT_PARALLEL_BYTES": "0", "IMPORT_PROCESSES": "2",
               "IMPORT_BATCH_SIZE": "5", "IMPORT_CHECK_WHILE_STARTING": "false", "LOG_LEVEL": "WARNING"}
        self.log = tempfile.NamedTemporaryFile(prefix="annotator-prefork-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "annotator", "worker", "--pool", "prefork", "--concurrency", "1",
             "-Q", self.queue, "-n", self.name, "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.producer = Celery("prefork-test", broker=broker, set_as_current=False)
        deadline = time.monotonic() + 90
        while not self.producer.control.ping(destination=[self.name], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def start_import(self, project, people, content: str) -> Job:
        """An import job of ``content`` (jsonl), sent to this worker as the API's would be."""
        from projects.actions.jobs import do_create_job

        path = default_storage.save("imports/prefork/news.jsonl", ContentFile(content.encode()))
        job = do_create_job(project, Job.Kind.IMPORT, acting_user=people["admin"], params={
            "path": path, "format": "jsonl", "filename": "news.jsonl", "create_labels": False,
            "skip_duplicates": True, "annotations_as": "submitted"})
        self.producer.send_task("exports.run_import", args=[job.pk], queue=self.queue)
        return job

    def wait(self, job: Job, timeout: float = 180, watch=None) -> Job:
        deadline = time.monotonic() + timeout
        while True:
            if watch is not None:
                watch()
            job.refresh_from_db()
            if job.is_finished:
                return job
            if time.monotonic() > deadline:
                pytest.fail(f"job {job.pk} did not finish within {timeout} s: {job.status}\n{self.output()}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.producer.close()
        self.log.close()
        os.unlink(self.log.name)


@pytest.fixture
def prefork_worker():
    worker = PreforkWorker()
    yield worker
    worker.stop()


def test_a_prefork_worker_imports_through_worker_processes_of_its_own(prefork_worker, project, people):
    seen: set[int] = set()
    job = prefork_worker.start_import(project, people, jsonl(documents_line(n) for n in range(200)))
    job = prefork_worker.wait(job, watch=lambda: seen.update(import_processes_of(prefork_worker.process.pid)))
    assert job.status == Job.Status.SUCCEEDED, f"{job.error}\n{prefork_worker.output()}"
    assert job.result["documents"] == 200 and job.result["spans"] == 400
    assert len(seen) >= 2  # the import's processes ran below the pool process, a daemon
    assert "daemonic" not in prefork_worker.output()
    assert not import_processes_of(prefork_worker.process.pid)  # and are gone


def test_import_processes_killed_under_a_prefork_worker_fail_the_job_and_the_worker_goes_on(
        prefork_worker, project, people):
    killed: list[int] = []

    def kill_them():
        if not killed:
            for pid in import_processes_of(prefork_worker.process.pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    before = Document.objects.count()
    job = prefork_worker.start_import(project, people, jsonl(documents_line(n) for n in range(400)))
    job = prefork_worker.wait(job, watch=kill_them)
    assert killed
    assert job.status == Job.Status.FAILED, prefork_worker.output()
    assert job.result["code"] == "import_process_lost"
    assert "killed by signal 9" in job.error and "nothing from this file was imported" in job.error
    assert Document.objects.count() == before and not Span.objects.exists()
    assert not import_processes_of(prefork_worker.process.pid)
    deadline = time.monotonic() + 10  # the task deletes the upload once it has recorded the failure
    while default_storage.exists(job.params["path"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not default_storage.exists(job.params["path"])
    # The Celery worker itself lives on and imports the next file.
    again = prefork_worker.wait(prefork_worker.start_import(project, people, jsonl([documents_line(1000)])))
    assert again.status == Job.Status.SUCCEEDED, again.error
