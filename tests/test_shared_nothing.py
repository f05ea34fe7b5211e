"""Scale-out without a shared disk: two web processes and two Celery workers that share only PostgreSQL, Redis
and an S3 bucket (a real SeaweedFS server, tests/seaweedfs.py), each with its own empty local folders.

The queues are crossed so each step provably crosses machines: web A's tasks go to worker B's queue, web B's to
worker A's. An import uploaded through web A is run by worker B; an export worker B writes downloads through
web A byte for byte with its SHA-256; a model worker A trains pre-labels on worker B; a snapshot worker B writes
downloads the same after every process's local folder is deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from celery import Celery
from rest_framework.authtoken.models import Token

from projects.actions.labels import do_create_label
from projects.actions.projects import do_create_project
from projects.models import Document
from tests.conftest import FINISHED, require
from tests.pipelines.conftest import SEED_LABELS, gold_spans, seed_texts
from tests.pipelines.test_prelabel_worker import WorkerProcess, worker_database_url
from tests.seaweedfs import free_ports

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[1]


class WebProcess:
    """``gunicorn annotator.wsgi`` on a free local port, with the product's own settings."""

    def __init__(self, env: dict, folder: Path):
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(folder / "web.log", "wb")  # noqa: SIM115 - open while the process runs
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "annotator.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "2", "--timeout", "120"],
            cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(self.url + "/api/v1/", timeout=10)
                return
            except (requests.ConnectionError, requests.Timeout):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.log.flush()
                    pytest.fail(f"the web process did not start:\n{Path(self.log.name).read_text()[-4000:]}")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.log.close()


class Machine:
    """What one machine has of its own: a folder for MEDIA_ROOT, the model cache and logs (ANNOTATOR_VAR_DIR)."""

    def __init__(self, root: Path, name: str):
        self.folder = root / name
        self.media = self.folder / "media"
        self.media.mkdir(parents=True)

    def env(self, common: dict, queue: str) -> dict:
        return {**common, "ANNOTATOR_VAR_DIR": str(self.folder), "DJANGO_MEDIA_ROOT": str(self.media),
                "CELERY_TASK_DEFAULT_QUEUE": queue}

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.folder)) for p in self.folder.rglob("*") if p.is_file())


@pytest.fixture
def cluster(seaweedfs, tmp_path):
    """Web A and B, worker A and B; web A sends its tasks to worker B, web B to worker A."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    require(broker.startswith("redis://"), "Redis broker (CELERY_BROKER_URL=redis://...)")
    bucket = seaweedfs.create_bucket()
    run = uuid.uuid4().hex[:8]
    queue_a, queue_b = f"annotator-web-a-{run}", f"annotator-web-b-{run}"
    common = {**{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_", "ANNOTATOR_"))},
              **seaweedfs.environment(bucket), "DJANGO_SETTINGS_MODULE": "annotator.settings",
              "DATABASE_URL": worker_database_url(), "CELERY_BROKER_URL": broker,
              "DJANGO_SECRET_KEY": "test-only-not-secret-" + "k" * 40, "ALLOWED_HOSTS": "127.0.0.1",
              "EXPORT_SYNC_MAX_DOCUMENTS": "1",  # exports and snapshots run on a worker
              "DATABASE_POOL_MAX_SIZE": "2", "LOG_LEVEL": "WARNING"}
    machines = {name: Machine(tmp_path, name) for name in ("web_a", "web_b", "worker_a", "worker_b")}
    producer = Celery("shared-nothing", broker=broker, set_as_current=False)
    processes = {}
    try:
        processes["web_a"] = WebProcess(machines["web_a"].env(common, queue_b), machines["web_a"].folder)
        processes["web_b"] = WebProcess(machines["web_b"].env(common, queue_a), machines["web_b"].folder)
        processes["worker_a"] = WorkerProcess(machines["worker_a"].env(common, queue_a), queue_a, producer)
        processes["worker_b"] = WorkerProcess(machines["worker_b"].env(common, queue_b), queue_b, producer)
        for process in processes.values():
            process.wait_ready()
        yield {"bucket": bucket, "machines": machines, **processes}
    finally:
        for process in processes.values():
            process.stop()
        producer.close()


class Api:
    def __init__(self, web: WebProcess, token: str):
        self.url, self.session = web.url, requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.url + path, timeout=60, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.url + path, timeout=60, **kwargs)

    def wait(self, job_id: int, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/api/v1/jobs/{job_id}/").json()
            if job["status"] in FINISHED:
                assert job["status"] == "succeeded", job
                return job
            if time.monotonic() > deadline:
                pytest.fail(f"job {job_id} did not finish within {timeout} s: {job}")
            time.sleep(0.1)


def ran(worker: WorkerProcess, task: str) -> int:
    """How many ``task`` messages ``worker``'s log shows it received (each step here sends one of its kind)."""
    log = Path(worker.log.name).read_text(errors="replace")
    return sum(f"Task {task}[" in line and "received" in line for line in log.splitlines())


def seed_jsonl() -> bytes:
    lines = []
    for text in seed_texts():
        lines.append({"text": text, "spans": [{"start": s, "end": e, "label": label}
                                              for s, e, label in gold_spans(text)]})
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()


def test_two_webs_and_two_workers_share_nothing_but_the_database_redis_and_the_bucket(cluster, seaweedfs,
                                                                                       make_user):
    admin = make_user("admin")
    project = do_create_project(acting_user=admin, name="Shared nothing", split_train=0.6, split_dev=0.4,
                                split_test=0.0)
    for label in SEED_LABELS:
        do_create_label(project, acting_user=admin, name=label, kind="entity")
    token = Token.objects.create(user=admin).key
    web_a, web_b = Api(cluster["web_a"], token), Api(cluster["web_b"], token)
    worker_a, worker_b = cluster["worker_a"], cluster["worker_b"]
    s3, bucket = seaweedfs.client(), cluster["bucket"]

    # An import uploaded through web A is run by worker B.
    response = web_a.post(f"/api/v1/projects/{project.pk}/imports/", files={"file": ("seed.jsonl", seed_jsonl())},
                          data={"format": "jsonl", "annotations_as": "gold"})
    assert response.status_code == 202, response.text
    job = web_a.wait(response.json()["job"]["id"])
    assert job["result"]["documents"] == len(seed_texts()) == Document.objects.filter(project=project).count()
    assert (ran(worker_b, "exports.run_import"), ran(worker_a, "exports.run_import")) == (1, 0)

    # An export written by worker B downloads through web A, byte for byte, with its SHA-256.
    response = web_a.get(f"/api/v1/projects/{project.pk}/export/", params={"format": "spacy"})
    assert response.status_code == 202, response.text
    job = web_a.wait(response.json()["job"]["id"])
    assert (ran(worker_b, "exports.run_export"), ran(worker_a, "exports.run_export")) == (1, 0)
    download = web_a.get(job["result"]["url"])
    assert download.status_code == 200
    stored = s3.get_object(Bucket=bucket, Key=job["result"]["path"])["Body"].read()
    assert download.content == stored
    assert hashlib.sha256(download.content).hexdigest() == job["result"]["sha256"] == download.headers[
        "X-Content-SHA256"]

    # A model trained by worker A (through web B) pre-labels on worker B (through web A).
    response = web_b.post(f"/api/v1/projects/{project.pk}/models/", json={"name": "news", "epochs": 3})
    assert response.status_code == 202, response.text
    web_b.wait(response.json()["job"]["id"])
    assert (ran(worker_a, "pipelines.train"), ran(worker_b, "pipelines.train")) == (1, 0)
    response = web_a.post(f"/api/v1/projects/{project.pk}/prelabel/", json={"model": "news"})
    assert response.status_code == 202, response.text
    job = web_a.wait(response.json()["job"]["id"])
    assert (ran(worker_b, "pipelines.prelabel"), ran(worker_a, "pipelines.prelabel")) == (1, 0)
    assert (job["result"]["source"], job["result"]["model_version"]) == ("trained", "1")
    # Every document went through the model (whether 3 epochs on 14 paragraphs find entities is not the point).
    assert job["progress"] == {"done": len(seed_texts()), "total": len(seed_texts())}
    cached = [f for f in cluster["machines"]["worker_b"].files() if f.startswith(f"model-cache/{project.pk}/news/v1-")]
    assert cached and any(f.endswith("/meta.json") for f in cached)  # fetched into worker B's cache
    assert not [f for f in cluster["machines"]["worker_a"].files() if f.startswith("model-cache/")]

    # A snapshot written by worker B survives deleting every process's local folder.
    response = web_a.post(f"/api/v1/projects/{project.pk}/snapshots/", json={"note": "shared nothing"})
    assert response.status_code == 202, response.text
    job = web_a.wait(response.json()["job"]["id"])
    assert (ran(worker_b, "exports.run_snapshot"), ran(worker_a, "exports.run_snapshot")) == (1, 0)
    snapshot_id, sha256 = job["result"]["snapshot"], job["result"]["sha256"]
    for machine in cluster["machines"].values():
        assert not any(machine.media.rglob("*")), machine.files()  # nothing went to any MEDIA_ROOT
        shutil.rmtree(machine.folder)
    for web in (web_a, web_b):
        for fmt, digest in sha256.items():
            download = web.get(f"/api/v1/snapshots/{snapshot_id}/export/", params={"format": fmt})
            assert download.status_code == 200, download.text
            assert hashlib.sha256(download.content).hexdigest() == digest == download.headers["X-Content-SHA256"]
