"""Import benchmark: JSONL and CoNLL files of the same documents into PostgreSQL, through a real Celery worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/import.py [--docs 100000] [--small 10000] \\
        [--formats jsonl,conll] [--processes N] [--pool solo|prefork]

For each size (``--small`` first, then ``--docs``) it writes a JSON Lines file of
generated news-like documents (about 60 spaCy tokens and 5 token-aligned
PERSON/GPE/ORG spans each, with accented names, an emoji in some sentences and
a random number in every sentence) and the CoNLL file of the same documents (our
CoNLL export of them: a ``-DOCSTART-`` line per document, a token per line,
IOB2 tags). Each file goes into a fresh project through a fresh worker

    celery -A annotator worker --pool solo --concurrency 1 -Q <a queue of its own>

started as a subprocess with the same environment, the way the API imports it:
``exports.actions.do_start_import`` stores the upload and queues
``exports.run_import`` on commit; the worker runs it: the file cut into
chunks that ``IMPORT_PROCESSES`` worker processes read, check (every span for
bounds, label, overlap and alignment with its document's tokens: the project
language's spaCy tokens for JSONL, which are packed and stored, the file's own
for CoNLL) and pack, while the worker stores them with ``COPY``, all in one
transaction. It prints documents, spans, wall seconds (from queueing to the job
row saying succeeded), documents per second, and the peak RSS of the worker's
process tree (the worker and the import's processes, summed, sampled every
0.05 s), then the ratio of the peaks, and the load average when each import ended
(the machine may be shared: figures are only as quiet as it is).

Figures on the 2-core development machine, shared with other work (load average 2.1-4.1), two import
worker processes: JSONL 2,451-3,390 documents/s at 100,000 over three runs (1,255-1,486 at 10,000), CoNLL
2,097-2,663/s (1,380-1,488); worker tree peak RSS 490 vs 542 MiB (JSONL) and 479 vs 537 MiB (CoNLL) at 10,000
vs 100,000 documents. Back to back, JSONL at 100,000: 3,384/s with two worker processes, 2,654/s with one.
CPU seconds of the JSONL import of 100,000 (worker processes / PostgreSQL's backend / importing process),
back to back at load 1.6-2.3: 17.5 + 16.2 / 22.3 / 7.1 (2,573/s); before issue 16's savings, with one worker
process, 33.6 / 22.6 / 6.7 (2,357/s). See README, Performance.

The database is a dedicated one on the same server as DATABASE_URL
(``annotator_bench`` unless ``--database`` says otherwise), created when
missing, migrated, and emptied at the start. With ``--eager`` the import runs
in this process instead (no broker needed) and the output says so.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
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

FORMATS = ("jsonl", "conll")


class Worker:
    """``celery worker`` in a subprocess on a queue of its own; the process tree whose memory is measured."""

    def __init__(self, queue: str, pool: str):
        self.queue = queue
        self.pool = pool
        self.node = f"bench-{uuid.uuid4().hex[:8]}@%h"
        self.process = None

    def __enter__(self) -> Worker:
        from annotator.celery import app

        command = [str(BASE_DIR / ".venv" / "bin" / "celery"), "-A", "annotator", "worker", "--pool", self.pool,
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

    def tree_rss_mib(self) -> float:
        return sum(rss_kib(pid) for pid in process_tree(self.process.pid)) / 1024

    def __exit__(self, *exc) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it (from /proc's parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:  # it has just ended
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def rss_kib(pid: int | str) -> int:
    try:
        return vm_kib(pid, "VmRSS")
    except (OSError, RuntimeError):  # ended, or a zombie
        return 0


class PeakSampler:
    """The peak of ``measure()`` sampled on a thread every ``interval`` seconds while the block runs."""

    def __init__(self, measure, interval: float = 0.05):
        self.measure, self.interval, self.peak = measure, interval, 0.0
        self.stop = threading.Event()

    def __enter__(self) -> PeakSampler:
        def sample():
            while not self.stop.is_set():
                self.peak = max(self.peak, self.measure())
                self.stop.wait(self.interval)

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.measure())


def peak_rss_self_mib() -> float:
    return vm_kib("self", "VmHWM") / 1024


def write_conll_of(jsonl: Path, path: Path) -> None:
    """Our CoNLL export of the JSON Lines file's documents: the same texts, tokens and entities."""
    from exports.formats.conll import write_conll
    from exports.formats.jsonl import read_jsonl
    from projects.tokens import blank_pipeline

    with open(jsonl, encoding="utf-8") as lines, open(path, "w", encoding="utf-8") as out:
        out.writelines(write_conll((record for _, record in read_jsonl(lines)), blank_pipeline("en")))


# ------------------------------------------------------------------------------------- one run

def run_once(path: Path, fmt: str, count: int, *, eager: bool, queue: str, pool: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.db import connection

    from exports.actions import do_start_import
    from projects.actions.labels import do_create_label
    from projects.actions.projects import do_create_project
    from projects.models import Document, Job, Span

    user, _ = get_user_model().objects.get_or_create(username="bench")
    project = do_create_project(acting_user=user, name=f"Import bench, {count} documents, {fmt}")
    for label in LABELS:
        do_create_label(project, acting_user=user, name=label, kind="entity")

    def start() -> Job:
        with open(path, "rb") as fh:
            return do_start_import(project, File(fh, name=path.name), fmt=fmt, create_labels=False,
                                   skip_duplicates=True, acting_user=user)

    if eager:
        started = time.perf_counter()
        job = start()
        job.refresh_from_db()
        wall = time.perf_counter() - started
        idle = peak = None
    else:
        with Worker(queue, pool) as worker:
            idle = worker.tree_rss_mib()
            with PeakSampler(worker.tree_rss_mib) as sampler:
                started = time.perf_counter()
                job = start()
                while True:
                    job.refresh_from_db()
                    if job.is_finished:
                        break
                    time.sleep(0.05)
                wall = time.perf_counter() - started
            peak = sampler.peak
            if job.status != Job.Status.SUCCEEDED:
                print(worker.log_tail(), file=sys.stderr)
    load = os.getloadavg()[0]
    connection.close()
    if job.status != Job.Status.SUCCEEDED:
        sys.exit(f"the {fmt} import job {job.status}: {job.error}")
    documents = Document.objects.filter(project=project).count()
    spans = Span.objects.filter(annotation__document__project=project).count()
    return {
        "documents": documents, "spans": spans, "wall": wall, "rate": documents / wall,
        "worker_seconds": (job.finished_at - job.started_at).total_seconds(), "idle_rss": idle, "peak_rss": peak,
        "file_mib": path.stat().st_size / 2**20, "load": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the large run (default 100000)")
    parser.add_argument("--small", type=int, default=10_000,
                        help="documents in the small run, for the memory ratio (default 10000; 0 to skip)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="jsonl, conll or both (default)")
    parser.add_argument("--processes", type=int, default=None,
                        help="the import's worker processes (IMPORT_PROCESSES; default one per core)")
    parser.add_argument("--pool", default="solo", choices=("solo", "prefork"), help="the Celery worker's pool")
    parser.add_argument("--database", default="annotator_bench", help="the dedicated database (emptied!)")
    parser.add_argument("--eager", action="store_true", help="import in this process, without a worker")
    args = parser.parse_args()
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    if not set(formats) <= set(FORMATS):
        sys.exit(f"--formats takes {' and '.join(FORMATS)}")

    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL (postgres://...) is required")
    if not args.eager and not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        sys.exit("CELERY_BROKER_URL (redis://...) is required for the worker path; or pass --eager")
    if args.processes is not None:
        os.environ["IMPORT_PROCESSES"] = str(args.processes)  # read by the worker's settings, and this process's
    url = bench_database_url(os.environ["DATABASE_URL"], args.database)
    ensure_database(url, args.database)
    queue = f"bench-import-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "media").mkdir()
        setup_django(url, str(workdir / "media"), queue)
        from django.conf import settings

        where = ("in this process (eager, no worker)" if args.eager else
                 f"on a Celery worker subprocess ({args.pool} pool)")
        print(f"import bench: {' and '.join(formats)} on PostgreSQL database {args.database!r}, {where}, "
              f"{settings.IMPORT_PROCESSES} import processes, batch size {settings.IMPORT_BATCH_SIZE}, "
              f"DEBUG={settings.DEBUG}; load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
              flush=True)
        sizes = [n for n in (args.small, args.docs) if n]
        results = {}
        for count in sizes:
            jsonl = workdir / f"bench-{count}.jsonl"
            write_corpus(jsonl, count, seed=count)
            for fmt in formats:
                path = jsonl
                if fmt == "conll":
                    path = workdir / f"bench-{count}.conll"
                    write_conll_of(jsonl, path)
                result = results[fmt, count] = run_once(path, fmt, count, eager=args.eager, queue=queue,
                                                        pool=args.pool)
                memory = (f"worker tree RSS idle {result['idle_rss']:.0f} MiB, peak {result['peak_rss']:.0f} MiB"
                          if result["peak_rss"] else
                          f"this process peak RSS {peak_rss_self_mib():.0f} MiB (cumulative)")
                print(f"{fmt:>5} {count:>8} docs ({result['file_mib']:.1f} MiB file): {result['documents']} "
                      f"documents, {result['spans']} spans, {result['wall']:.1f} s wall ({result['worker_seconds']:.1f}"
                      f" s in the job), {result['rate']:,.0f} documents/s; {memory}; load average "
                      f"{result['load']:.1f}", flush=True)
                if fmt == "conll":
                    path.unlink()
            jsonl.unlink()
        if len(sizes) == 2 and not args.eager:
            for fmt in formats:
                small, large = (results[fmt, n] for n in sizes)
                print(f"{fmt}: peak worker tree RSS {sizes[0]:,} vs {sizes[1]:,} documents: {small['peak_rss']:.0f} "
                      f"MiB vs {large['peak_rss']:.0f} MiB, ratio {large['peak_rss'] / small['peak_rss']:.2f}")
        print(json.dumps({f"{fmt}-{n}": {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}
                          for (fmt, n), r in results.items()}))


if __name__ == "__main__":
    main()
