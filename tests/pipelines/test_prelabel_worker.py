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
from pipelines.models import JobChunk, TrainedModel
from pipelines.prelabel import mapper_for, predict_suggestions
from pipelines.registry import resolve_model
from projects.actions.documents import do_create_documents
from projects.actions.jobs import do_create_job
from projects.models import Document, DocumentScore, Job, Suggestion
from tests.conftest import require, wait_for_job
from tests.pipelines.conftest import annotate_gold, seed_texts

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
            # One process, so it reserves only the task it runs (acks late, prefetch multiplier 1), as prefork does.
            [sys.executable, "-m", "celery", "-A", "annotator", "worker", "--pool", "solo", "--concurrency", "1",
             "-Q", queue,
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


def expected_suggestions(project) -> set[tuple]:
    info = resolve_model(project, "seed_ner")
    items = list(Document.objects.filter(project=project).order_by("id").values_list("id", "text", "tokens"))
    prediction = predict_suggestions(load_pipeline(info), items, language="en", mapper=mapper_for(project),
                                     batch_size=64)
    return {row[:4] for row in prediction.rows}


class KillTest:
    """Worker subprocesses on a queue and broker key prefix of this test's own, and a producer for them.

    ``visibility_timeout``: when Redis gives a dead worker's unacknowledged message to another worker;
    ``env``: more settings for the workers (heartbeat intervals, say).
    """

    def __init__(self, *, visibility_timeout: float, seed_models, env: dict | None = None):
        import redis
        from celery import Celery

        broker = os.environ.get("CELERY_BROKER_URL", "")
        require(broker.startswith("redis://"), "Redis broker (CELERY_BROKER_URL=redis://...)")
        require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
        run = uuid.uuid4().hex[:8]
        self.prefix, self.queue = f"annotator-killtest-{run}:", f"annotator-killtest-{run}"
        options = {"global_keyprefix": self.prefix, "visibility_timeout": visibility_timeout,
                   "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.pipelines.worker_settings",
                    "DATABASE_URL": worker_database_url(), "DJANGO_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
                    "CELERY_TASK_DEFAULT_QUEUE": self.queue, "SPACY_MODEL_DIRS": str(seed_models),
                    "ANNOTATOR_BROKER_TRANSPORT_OPTIONS": json.dumps(options), "LOG_LEVEL": "WARNING",
                    **(env or {})}
        self.producer = Celery("killtest", broker=broker, set_as_current=False)
        self.producer.conf.broker_transport_options = options
        self.redis = redis.Redis.from_url(broker)
        self.workers: list[WorkerProcess] = []

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.queue, self.producer)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def send(self, task: str, *args) -> None:
        self.producer.send_task(task, args=list(args), queue=self.queue)

    def in_flight(self, task: str) -> list[tuple]:
        """The arguments of the messages of ``task`` that a worker has taken and not yet acknowledged."""
        held = []
        for raw in self.redis.hvals(self.prefix + "unacked"):
            headers = json.loads(raw)[0].get("headers") or {}
            if headers.get("task") == task:
                held.append(tuple(json.loads(headers["argsrepr"].replace("(", "[").replace(")", "]"))))
        return held

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        keys = list(self.redis.scan_iter(match=self.prefix + "*"))
        if keys:
            self.redis.delete(*keys)
        self.producer.close()


@pytest.fixture
def kill_test(seed_models):
    tests = []

    def make(**options) -> KillTest:
        tests.append(KillTest(seed_models=seed_models, **options))
        return tests[-1]

    yield make
    for test in tests:
        test.close()


def prelabel_job_of_240_documents(project, people, settings) -> tuple[Job, int, int]:
    texts = [f"{text} ({copy})" for copy in range(10) for text in seed_texts()]  # 240 documents
    do_create_documents(project, [{"text": t} for t in texts], acting_user=people["admin"])
    total = Document.objects.filter(project=project).count()
    settings.PRELABEL_CHUNK_SIZE = 30
    job = create_prelabel_job(project, model="seed_ner", acting_user=people["admin"])
    return job, total, -(-total // 30)


def kill_in_a_chunk(test: KillTest, worker: WorkerProcess, job: Job) -> set[int]:
    """Let ``worker`` finish some chunks of ``job``, then SIGKILL it in the middle of the next one (taken and
    started, not yet written); the chunks done by then."""
    deadline = time.monotonic() + 120
    while True:
        done = set(JobChunk.objects.filter(job=job).values_list("index", flat=True))
        # In flight and counted in running_tasks: the chunk is running (the one before it was acknowledged
        # only after it counted itself out).
        if (len(done) >= 2 and set(in_flight_chunks(test, job.pk)) - done
                and Job.objects.filter(pk=job.pk, running_tasks=1).exists()):
            worker.kill()
            break
        if time.monotonic() > deadline or worker.process.poll() is not None:
            pytest.fail(f"no chunk to kill the worker on: {Job.objects.get(pk=job.pk).__dict__}\n{worker.output()}")
        time.sleep(0.005)
    held = in_flight_chunks(test, job.pk)  # what the dead worker never acknowledged
    done_at_kill = set(JobChunk.objects.filter(job=job).values_list("index", flat=True))
    assert len(held) == 1 and held[0] not in done_at_kill, (held, done_at_kill)
    assert Job.objects.get(pk=job.pk).status == "running"
    assert Job.objects.get(pk=job.pk).running_tasks == 1  # the dead worker's chunk, never counted out
    return done_at_kill


def in_flight_chunks(test: KillTest, job_id: int) -> list[int]:
    """Chunk indexes of ``job_id`` that a worker has taken and not yet acknowledged."""
    return [index for job, index in test.in_flight("pipelines.prelabel_chunk") if job == job_id]


def wait_until_finished(job: Job, worker: WorkerProcess, timeout: float) -> float:
    """Seconds until ``job`` finished."""
    started = time.monotonic()
    while not Job.objects.get(pk=job.pk).is_finished:
        if time.monotonic() - started > timeout:
            pytest.fail(f"the job did not finish within {timeout} s: {Job.objects.get(pk=job.pk).__dict__}\n"
                        f"{worker.output()}")
        time.sleep(0.1)
    return time.monotonic() - started


def assert_every_document_prelabelled_exactly_once(job: Job, project, total: int, chunks: int) -> None:
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
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
    # The scoring pass rides along: one uncertainty per document and model version, whatever was redelivered.
    scores = list(DocumentScore.objects.filter(project=project).values_list("document_id", "model_version"))
    assert len(scores) == len(set(scores)) == total
    assert not Document.objects.filter(project=project, uncertainty__isnull=True).exists()


def test_a_worker_killed_mid_job_leaves_a_job_that_a_fresh_worker_finishes_exactly_once(
        transactional_db, project, people, settings, kill_test):
    """The broker's redelivery: the killed worker's chunk comes back after the visibility timeout (5 s here)."""
    job, total, chunks = prelabel_job_of_240_documents(project, people, settings)
    test = kill_test(visibility_timeout=5)
    first = test.start_worker()
    test.send("pipelines.prelabel", job.pk)
    done_at_kill = kill_in_a_chunk(test, first, job)
    assert len(done_at_kill) < chunks

    second = test.start_worker()
    wait_until_finished(job, second, timeout=120)
    assert_every_document_prelabelled_exactly_once(job, project, total, chunks)


# Short heartbeat intervals for the workers below, and the broker's own redelivery an hour away (the default):
# what brings a killed worker's job back within seconds is its heartbeat stopping.
HEARTBEAT_ENV = {"JOB_HEARTBEAT_SECONDS": "0.5", "JOB_HEARTBEAT_TIMEOUT": "3", "JOB_SWEEP_SECONDS": "0.5"}


def test_a_killed_workers_prelabelling_job_is_sent_again_once_its_heartbeat_stops_not_an_hour_later(
        transactional_db, project, people, settings, kill_test):
    job, total, chunks = prelabel_job_of_240_documents(project, people, settings)
    test = kill_test(visibility_timeout=3600, env=HEARTBEAT_ENV)
    first = test.start_worker()
    test.send("pipelines.prelabel", job.pk)
    kill_in_a_chunk(test, first, job)
    killed_at = time.monotonic()

    second = test.start_worker()  # takes the chunks still queued; its sweeper finds the one the dead worker held
    wait_until_finished(job, second, timeout=90)
    assert time.monotonic() - killed_at < 90  # the broker would have given the chunk back after 3,600 s
    assert_every_document_prelabelled_exactly_once(job, project, total, chunks)
    assert job.params["workers_lost"] == 1
    assert test.in_flight("pipelines.prelabel_chunk")  # the dead worker's message is still unacknowledged


def test_a_killed_workers_training_job_reads_failed_with_worker_lost_within_the_heartbeat_timeout(
        transactional_db, seed_project, people, settings, client_for, kill_test):
    annotate_gold(seed_project, people["reviewer"])
    settings.JOB_HEARTBEAT_TIMEOUT = 3  # this (web) process sweeps when the job is read
    test = kill_test(visibility_timeout=3600, env={**HEARTBEAT_ENV, "JOB_SWEEP_SECONDS": "3600"})  # reads only
    worker = test.start_worker()
    client = client_for(people["admin"])
    # The job do_start_training makes, queued to the worker subprocess (this process would run it in-process).
    job_id = do_create_job(seed_project, Job.Kind.TRAIN, acting_user=people["admin"], total=500,
                           params={"name": "doomed", "base": None, "epochs": 500}).pk
    test.send("pipelines.train", job_id)

    deadline = time.monotonic() + 120
    while (job := Job.objects.get(pk=job_id)).progress_done < 2:  # two epochs in: training, and beating
        if time.monotonic() > deadline or job.is_finished:
            pytest.fail(f"the training did not get going: {job.__dict__}\n{worker.output()}")
        time.sleep(0.05)
    assert (job.status, job.running_tasks) == ("running", 1)
    worker.kill()
    killed_at = time.monotonic()

    while (body := client.get(f"/api/v1/jobs/{job_id}/").json())["status"] == "running":
        assert time.monotonic() - killed_at < 30, body
        time.sleep(0.2)
    lost_after = time.monotonic() - killed_at
    assert body["status"] == "failed" and body["result"]["code"] == "worker_lost", body
    assert body["error"].startswith("the worker running this train job stopped")
    assert 2 < lost_after < 3 + 0.5 + 5  # the timeout, a beat, and slack
    assert test.in_flight("pipelines.train") == [(job_id,)]  # the broker has not given it back, and need not
    assert not TrainedModel.objects.filter(name="doomed").exists()
