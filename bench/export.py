"""Export benchmark: a project of N documents (5 spans each) on PostgreSQL, exported in every format.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator .venv/bin/python bench/export.py [--docs 100000] [--small 10000]

For each size it fills a fresh project through the import path (gold
annotations, one relation per document), then, for each format, runs the
export (``exports.actions.write_export``: database -> records -> writer ->
SHA-256, into a sink that only counts bytes) in a fresh subprocess and prints
wall time, documents per second and that process's peak RSS (``VmHWM``).
In the same run it measures the floor: a DocBin holding only what an
annotation export needs (attrs ORTH, SPACY, ENT_IOB, ENT_TYPE, SENT_START,
no user_data), built from in-memory (text, spans) pairs of the same
documents, and prints the spaCy export's rate as a fraction of the floor's.
Targets: spaCy >= 0.7 of the floor; CoNLL and JSONL >= 10,000 docs/s with peak
memory flat (within 20%) between the two sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Not bench/ itself: its scripts' names (queue.py) would shadow the standard library's modules.
sys.path[:] = [str(BASE_DIR)] + [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "bench"]

from bench.common import bench_database_url, ensure_database, setup_django, vm_kib, write_corpus  # noqa: E402

FORMATS = ("jsonl", "conll", "spacy")


class Sink:
    """A binary file that keeps nothing: the export's cost without the disk's."""

    size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def fill_project(count: int, workdir: Path) -> int:
    from django.contrib.auth import get_user_model

    from exports.imports import analyze_imported_tables, import_records, read_records
    from projects.actions.labels import do_create_label
    from projects.actions.projects import do_create_project

    user, _ = get_user_model().objects.get_or_create(username="bench")
    project = do_create_project(acting_user=user, name=f"export bench {count}")
    do_create_label(project, name="near", kind="relation")
    corpus = workdir / f"corpus-{count}.jsonl"
    write_corpus(corpus, count, seed=count)
    with_relations = corpus.with_suffix(".rel.jsonl")
    with open(corpus, encoding="utf-8") as source, open(with_relations, "w", encoding="utf-8") as out:
        for line in source:
            record = json.loads(line)
            record["relations"] = [{"head": 0, "tail": 1, "label": "near"}]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    started = time.perf_counter()
    with open(with_relations, "rb") as raw:
        result = import_records(project, read_records("jsonl", raw, "en"), importer=user, create_labels=True,
                                skip_duplicates=False, annotations_as="gold")
    analyze_imported_tables()  # as an import job does when it commits
    print(f"  filled project {project.pk}: {result['documents']:,} documents, {result['spans']:,} spans, "
          f"{result['relations']:,} relations in {time.perf_counter() - started:.1f} s", flush=True)
    return project.pk


def measure(project_id: int, fmt: str) -> dict:
    """One export in this (fresh) process."""
    from exports.actions import write_export
    from projects.models import Project

    project = Project.objects.get(pk=project_id)
    sink = Sink()
    started = time.perf_counter()
    info = write_export(project, sink, fmt=fmt, source="gold")
    seconds = time.perf_counter() - started
    return {"format": fmt, "documents": info.documents, "bytes": sink.size, "seconds": seconds,
            "peak_rss_mib": vm_kib("self", "VmHWM") / 1024}


def measure_floor(project_id: int) -> dict:
    """The floor DocBin from in-memory (text, spans) pairs: what any annotation export must at least do."""
    import spacy
    from spacy.tokens import DocBin

    from exports.collect import collect_records
    from projects.models import Project

    project = Project.objects.get(pk=project_id)
    pairs = [(r.text, [(s.start, s.end, s.label) for s in r.spans]) for r in collect_records(project)]
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    started = time.perf_counter()
    doc_bin = DocBin(attrs=["ORTH", "SPACY", "ENT_IOB", "ENT_TYPE", "SENT_START"], store_user_data=False)
    for text, spans in pairs:
        doc = nlp(text)
        doc.ents = [doc.char_span(start, end, label=label) for start, end, label in spans]
        doc_bin.add(doc)
    size = len(doc_bin.to_bytes())
    seconds = time.perf_counter() - started
    return {"format": "floor", "documents": len(pairs), "bytes": size, "seconds": seconds,
            "peak_rss_mib": vm_kib("self", "VmHWM") / 1024}


def in_subprocess(database_url: str, project_id: int, fmt: str) -> dict:
    command = [sys.executable, __file__, "--measure", fmt, "--project", str(project_id)]
    env = {**os.environ, "DATABASE_URL": database_url}
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=BASE_DIR).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the large project")
    parser.add_argument("--small", type=int, default=10_000, help="documents in the small project (0 to skip)")
    parser.add_argument("--database", default="annotator_bench_export", help="the dedicated database (emptied!)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:  # a child: one measurement, printed as JSON
        os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret-" + "k" * 40)  # DEBUG off, as in production
        import django

        django.setup()
        result = measure_floor(args.project) if args.measure == "floor" else measure(args.project, args.measure)
        print(json.dumps(result))
        return

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://... (the benchmark runs on PostgreSQL)")
    database_url = bench_database_url(url, args.database)
    ensure_database(url, args.database)
    with tempfile.TemporaryDirectory(prefix="annotator-bench-export-") as workdir:
        setup_django(database_url, workdir, "bench-export")
        sizes = [n for n in (args.small, args.docs) if n]
        results: dict[int, dict[str, dict]] = {}
        for count in sizes:
            print(f"{count:,} documents", flush=True)
            project_id = fill_project(count, Path(workdir))
            results[count] = {}
            for fmt in (*FORMATS, "floor"):
                r = in_subprocess(database_url, project_id, fmt)
                results[count][fmt] = r
                print(f"  {fmt:6} {r['seconds']:7.2f} s  {r['documents'] / r['seconds']:9,.0f} docs/s  "
                      f"peak RSS {r['peak_rss_mib']:6.0f} MiB  {r['bytes'] / 1e6:8.1f} MB", flush=True)
            ours, floor = results[count]["spacy"], results[count]["floor"]
            ratio = (ours["documents"] / ours["seconds"]) / (floor["documents"] / floor["seconds"])
            print(f"  spaCy export / floor: {ratio:.2f} (target >= 0.7)", flush=True)
        if len(sizes) == 2:
            small, large = sizes
            for fmt in ("jsonl", "conll"):
                growth = results[large][fmt]["peak_rss_mib"] / results[small][fmt]["peak_rss_mib"]
                print(f"{fmt} peak memory {large:,} vs {small:,} documents: x{growth:.2f} (target <= 1.20)")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
