"""Import benchmark: JSONL documents with spans into PostgreSQL, through a real Celery worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/import.py [--docs 100000] [--small 10000]

For each size (``--small`` first, then ``--docs``) it writes a JSON Lines file of
generated news-like documents (about 60 spaCy tokens and 5 token-aligned
PERSON/GPE/ORG spans each, with accented names, an emoji in some sentences and
a random number in every sentence), creates a fresh project, starts a worker

    celery -A annotator worker --pool solo --concurrency 1 -Q <a queue of its own>

as a subprocess with the same environment, and imports the file the way the
API does: ``exports.actions.do_start_import`` stores the upload and queues
``exports.run_import`` on commit; the worker runs it: every span checked for
bounds, label, overlap and alignment with the project language's spaCy
tokens (see ``exports.imports._Tokenizer``, which also packs the tokens stored with each document), rows written with ``COPY``, all in
one transaction. It prints documents, spans, wall seconds (from queueing to
the job row saying succeeded), documents per second, and the worker's peak
RSS (``VmHWM`` in ``/proc/<pid>/status``; a fresh worker per size, so each
peak is that import's), then the ratio of the peaks.

Figures on the 2-core development machine (shared with other work, load
average 3-6 during the runs): 10,000 documents in 3.9-4.4 s (2,260-2,530
documents/s), 100,000 in 37.6-41.3 s (2,420-2,660 documents/s); worker peak
RSS 169 MiB for both (idle 151 MiB), ratio 1.00-1.01.

The database is a dedicated one on the same server as DATABASE_URL
(``annotator_bench`` unless ``--database`` says otherwise), created when
missing, migrated, and emptied at the start. With ``--eager`` the import runs
in this process instead (no broker needed) and the output says so.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Not bench/ itself: its scripts' names (queue.py) would shadow the standard library's modules.
sys.path[:] = [str(BASE_DIR)] + [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "bench"]

from bench.common import (  # noqa: E402 - after the sys.path fix above
    LABELS,
    bench_database_url,
    ensure_database,
    setup_django,
    vm_kib,
    write_corpus,
)


class Worker:
    """``celery worker`` in a subprocess on a queue of its own; the process whose memory is measured."""

    def __init__(self, queue: str):
        self.queue = queue
        self.node = f"bench-{uuid.uuid4().hex[:8]}@%h"
        self.process = None

    def __enter__(self) -> Worker:
        from annotator.celery import app

        command = [str(BASE_DIR / ".venv" / "bin" / "celery"), "-A", "annotator", "worker", "--pool", "solo",
                   "--concurrency", "1", "-Q", self.queue, "-n", self.node, "--loglevel", "WARNING",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if not Path(command[0]).exists():
            command[0:1] = [sys.executable, "-m", "celery"]
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=dict(os.environ), stdout=subprocess.DEVNULL,
                                        stderr=self.log)
        hostname = self.node.replace("%h", os.uname().nodename)
        deadline = time.monotonic() + 90
        while not app.control.ping(destination=[hostname], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not start:\n" + self.log_tail())
        return self

    def log_tail(self, lines: int = 30) -> str:
        self.log.seek(0)
        return "\n".join(self.log.read().decode(errors="replace").splitlines()[-lines:])

    def peak_rss_mib(self) -> float:
        return vm_kib(self.process.pid, "VmHWM") / 1024

    def rss_mib(self) -> float:
        return vm_kib(self.process.pid, "VmRSS") / 1024

    def __exit__(self, *exc) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def peak_rss_self_mib() -> float:
    return vm_kib("self", "VmHWM") / 1024


# ------------------------------------------------------------------------------------- one run

def run_once(count: int, workdir: Path, *, eager: bool, queue: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.db import connection

    from exports.actions import do_start_import
    from projects.actions.labels import do_create_label
    from projects.actions.projects import do_create_project
    from projects.models import Document, Job, Span

    path = workdir / f"bench-{count}.jsonl"
    write_corpus(path, count, seed=count)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    project = do_create_project(acting_user=user, name=f"Import bench, {count} documents")
    for label in LABELS:
        do_create_label(project, acting_user=user, name=label, kind="entity")

    def start() -> Job:
        with open(path, "rb") as fh:
            return do_start_import(project, File(fh, name=path.name), fmt="jsonl", create_labels=False,
                                   skip_duplicates=True, acting_user=user)

    if eager:
        started = time.perf_counter()
        job = start()
        job.refresh_from_db()
        wall = time.perf_counter() - started
        idle = peak = None
    else:
        with Worker(queue) as worker:
            idle = worker.rss_mib()
            started = time.perf_counter()
            job = start()
            while True:
                job.refresh_from_db()
                if job.is_finished:
                    break
                time.sleep(0.1)
            wall = time.perf_counter() - started
            peak = worker.peak_rss_mib()
            if job.status != Job.Status.SUCCEEDED:
                print(worker.log_tail(), file=sys.stderr)
    connection.close()
    if job.status != Job.Status.SUCCEEDED:
        sys.exit(f"the import job {job.status}: {job.error}")
    documents = Document.objects.filter(project=project).count()
    spans = Span.objects.filter(annotation__document__project=project).count()
    return {
        "documents": documents, "spans": spans, "wall": wall, "rate": documents / wall,
        "worker_seconds": (job.finished_at - job.started_at).total_seconds(), "idle_rss": idle, "peak_rss": peak,
        "file_mib": path.stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the large run (default 100000)")
    parser.add_argument("--small", type=int, default=10_000,
                        help="documents in the small run, for the memory ratio (default 10000; 0 to skip)")
    parser.add_argument("--database", default="annotator_bench", help="the dedicated database (emptied!)")
    parser.add_argument("--eager", action="store_true", help="import in this process, without a worker")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL (postgres://...) is required")
    if not args.eager and not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        sys.exit("CELERY_BROKER_URL (redis://...) is required for the worker path; or pass --eager")
    url = bench_database_url(os.environ["DATABASE_URL"], args.database)
    ensure_database(url, args.database)
    queue = f"bench-import-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "media").mkdir()
        setup_django(url, str(workdir / "media"), queue)
        from django.conf import settings

        where = "in this process (eager, no worker)" if args.eager else "on a Celery worker subprocess (solo pool)"
        print(f"import bench: jsonl on PostgreSQL database {args.database!r}, {where}, "
              f"batch size {settings.IMPORT_BATCH_SIZE}, DEBUG={settings.DEBUG}")
        sizes = [n for n in (args.small, args.docs) if n]
        results = {}
        for count in sizes:
            result = results[count] = run_once(count, workdir, eager=args.eager, queue=queue)
            memory = (f"worker RSS idle {result['idle_rss']:.0f} MiB, peak {result['peak_rss']:.0f} MiB"
                      if result["peak_rss"] else f"this process peak RSS {peak_rss_self_mib():.0f} MiB (cumulative)")
            print(f"{count:>8} docs ({result['file_mib']:.1f} MiB file): {result['documents']} documents, "
                  f"{result['spans']} spans, {result['wall']:.1f} s wall ({result['worker_seconds']:.1f} s in the "
                  f"job), {result['rate']:,.0f} documents/s; {memory}", flush=True)
        if len(sizes) == 2 and not args.eager:
            small, large = (results[n] for n in sizes)
            print(f"peak worker RSS {sizes[0]:,} vs {sizes[1]:,} documents: {small['peak_rss']:.0f} MiB vs "
                  f"{large['peak_rss']:.0f} MiB, ratio {large['peak_rss'] / small['peak_rss']:.2f} "
                  f"(growth over idle {small['peak_rss'] - small['idle_rss']:.0f} vs "
                  f"{large['peak_rss'] - large['idle_rss']:.0f} MiB)")


if __name__ == "__main__":
    main()
