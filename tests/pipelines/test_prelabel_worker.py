"""Pre-labelling on real Celery workers (Redis broker, PostgreSQL test database).

The first tests use the in-process worker of tests/conftest.py. The last one
starts ``celery -A annotator worker --pool solo`` as subprocesses, SIGKILLs the
first while it holds a chunk, and shows that a fresh worker finishes the job
with every document's suggestions exactly once.

How the killed worker's chunk comes back: tasks are acknowledged late, so the
chunk it was running stays in Redis's "unacked" set; kombu's Redis transport
puts messages older than ``visibility_timeout`` back on their queue (every
consumer checks periodically). The workers here run with a 5-second visibility
timeout and a key prefix of this test's own (``global_keyprefix``), so nothing
of other processes sharing the Redis server is restored or touched. The chunk
then runs again: if the killed worker had already committed it, its
``JobChunk`` row makes the second run a no-op; if not, it runs in full.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from pipelines.actions import create_prelabel_job
from pipelines.loading import load_pipeline
from pipelines.models import JobChunk
from pipelines.prelabel import mapper_for, predict_suggestions
from pipelines.registry import resolve_model
from projects.actions.documents import do_create_documents
from projects.models import Document, Job, Suggestion
from tests.conftest import require, wait_for_job
from tests.pipelines.conftest import seed_texts

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]


def post_prelabel(client, project, **body) -> dict:
    response = client.post(f"/api/v1/projects/{project.pk}/prelabel/", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["job"]


def test_a_worker_prelabels_in_chunks_and_reports_progress(celery_worker, seed_project, people, client_for):
    client = client_for(people["admin"])
    job = post_prelabel(client, seed_project, model="seed_ner")
    # Answered at once; the worker (a thread of this process) may have taken it already.
    assert job["status"] in {"pending", "running"} and job["progress"] == {"done": 0, "total": None}
    job = wait_for_job(client, job["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"done": 24, "total": 24}
    assert (job["result"]["chunks"], job["result"]["workers"]) == (12, 1)
    assert list(JobChunk.objects.filter(job_id=job["id"]).values_list("index", flat=True)) == list(range(12))
    assert Suggestion.objects.filter(document__project=seed_project).count() == job["result"]["suggestions"] > 0


def test_a_worker_reports_a_model_without_ner_in_the_job(celery_worker, project, people, client_for):
    client = client_for(people["admin"])
    job = wait_for_job(client, post_prelabel(client, project, model="no_ner")["id"])
    assert (job["status"], job["result"]) == ("failed", {"code": "no_ner"})
    assert "has no component that sets entities" in job["error"]


# ------------------------------------------------------------------------------ killing a worker

def worker_database_url() -> str:
    """The test database (its name is only known inside a test), for worker subprocesses."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """``celery -A annotator worker --pool solo`` on the test's queue, reading the test database."""

    def __init__(self, env: dict, queue: str, producer):
        self.env, self.queue, self.producer = env, queue, producer
        self.name = f"killtest-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
        self.log = tempfile.NamedTemporaryFile(prefix="annotator-worker-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "annotator", "worker", "--pool", "solo", "-Q", queue,
             "-n", self.name, "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
            cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not self.producer.control.ping(destination=[self.name], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        os.unlink(self.log.name)


def in_flight_chunks(client, prefix: str, job_id: int) -> list[int]:
    """Chunk indexes of ``job_id`` that a worker has taken and not yet acknowledged."""
    indexes = []
    for raw in client.hvals(prefix + "unacked"):
        message = json.loads(raw)[0]
        headers = message.get("headers") or {}
        if headers.get("task") == "pipelines.prelabel_chunk":
            job, index = json.loads(headers["argsrepr"].replace("(", "[").replace(")", "]"))
            if job == job_id:
                indexes.append(index)
    return indexes


def expected_suggestions(project) -> set[tuple]:
    info = resolve_model(project, "seed_ner")
    items = list(Document.objects.filter(project=project).order_by("id").values_list("id", "text", "tokens"))
    rows = predict_suggestions(load_pipeline(info), items, language="en", mapper=mapper_for(project), batch_size=64)
    return set(rows)


def test_a_worker_killed_mid_job_leaves_a_job_that_a_fresh_worker_finishes_exactly_once(
        transactional_db, project, people, settings, seed_models):
    import redis
    from celery import Celery

    broker = os.environ.get("CELERY_BROKER_URL", "")
    require(broker.startswith("redis://"), "Redis broker (CELERY_BROKER_URL=redis://...)")
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")

    texts = [f"{text} ({copy})" for copy in range(10) for text in seed_texts()]  # 240 documents
    do_create_documents(project, [{"text": t} for t in texts], acting_user=people["admin"])
    total = Document.objects.filter(project=project).count()
    settings.PRELABEL_CHUNK_SIZE = 30
    job = create_prelabel_job(project, model="seed_ner", acting_user=people["admin"])
    chunks = -(-total // 30)

    run = uuid.uuid4().hex[:8]
    prefix, queue = f"annotator-killtest-{run}:", f"annotator-killtest-{run}"
    options = {"global_keyprefix": prefix, "visibility_timeout": 5, "unacked_restore_interval": 1,
               "unacked_restore_throttle": 1}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.pipelines.worker_settings",
           "DATABASE_URL": worker_database_url(), "DJANGO_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
           "CELERY_TASK_DEFAULT_QUEUE": queue, "SPACY_MODEL_DIRS": str(seed_models),
           "ANNOTATOR_BROKER_TRANSPORT_OPTIONS": json.dumps(options), "LOG_LEVEL": "WARNING"}
    producer = Celery("killtest", broker=broker, set_as_current=False)
    producer.conf.broker_transport_options = options
    client = redis.Redis.from_url(broker)
    workers = []
    try:
        first = WorkerProcess(env, queue, producer)
        workers.append(first)
        first.wait_ready()
        producer.send_task("pipelines.prelabel", args=[job.pk], queue=queue)

        # Let it finish some chunks, then kill it in the middle of the next one: taken, not yet written.
        deadline = time.monotonic() + 120
        while True:
            done = set(JobChunk.objects.filter(job=job).values_list("index", flat=True))
            if len(done) >= 2 and set(in_flight_chunks(client, prefix, job.pk)) - done:
                first.kill()
                break
            if time.monotonic() > deadline or first.process.poll() is not None:
                pytest.fail(f"no chunk to kill the worker on: {Job.objects.get(pk=job.pk).__dict__}\n"
                            f"{first.output()}")
            time.sleep(0.005)
        held = in_flight_chunks(client, prefix, job.pk)  # what the dead worker never acknowledged
        done_at_kill = set(JobChunk.objects.filter(job=job).values_list("index", flat=True))
        assert len(held) == 1 and held[0] not in done_at_kill, (held, done_at_kill)
        assert Job.objects.get(pk=job.pk).status == "running"
        assert len(done_at_kill) < chunks

        second = WorkerProcess(env, queue, producer)
        workers.append(second)
        second.wait_ready()
        deadline = time.monotonic() + 120
        while not Job.objects.get(pk=job.pk).is_finished:
            if time.monotonic() > deadline:
                pytest.fail(f"the fresh worker did not finish the job:\n{second.output()}")
            time.sleep(0.1)
    finally:
        for worker in workers:
            worker.stop()
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        producer.close()

    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, second.output())
    assert (job.progress_done, job.progress_total) == (total, total)
    assert list(JobChunk.objects.filter(job=job).values_list("index", flat=True)) == list(range(chunks))
    assert sum(JobChunk.objects.filter(job=job).values_list("documents", flat=True)) == total
    assert job.result["documents"] == total
    assert job.result["workers"] == 2  # the killed one's chunks, and the fresh one's
    # Exactly one suggestion set per document: what the model finds, each span once, none lost.
    stored = list(Suggestion.objects.filter(document__project=project).values_list(
        "document_id", "start", "end", "label_id"))
    assert len(stored) == len(set(stored)) == job.result["suggestions"]
    assert set(stored) == expected_suggestions(project)
    assert len({document for document, *_ in stored}) > 0.9 * total
