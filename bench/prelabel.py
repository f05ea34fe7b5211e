"""Pre-labelling benchmark: end to end on Celery workers against raw ``nlp.pipe``, same pipeline, same texts.

(Raw ``nlp.pipe`` decodes the recognizer with the same beam as the workers, ``PRELABEL_BEAM_WIDTH``, for the
scores; ``PRELABEL_BEAM_WIDTH=1`` measures greedy decoding without scores.)

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/prelabel.py [--docs 10000] [--workers 1,2]

It trains a spaCy pipeline the way a user's would be (a blank English pipeline
with spaCy's default NER component, a few epochs on 300 generated documents),
saves it into a temporary folder registered through ``SPACY_MODEL_DIRS``, and
creates a project of ``--docs`` generated news-like documents (about 60 spaCy
tokens and 5 PERSON/GPE/ORG names each, accented names, an emoji in some
sentences, a random number in every sentence) in a dedicated PostgreSQL
database (``annotator_bench_prelabel`` unless ``--database`` says otherwise;
created when missing, migrated and emptied).

Then, in one run:

- raw: ``nlp.pipe`` over the same texts in this process, with the pipeline as
  the workers load it (``pipelines.loading.load_pipeline``, same batch size),
  before, between and after the worker runs (the machine may be shared);
- end to end, for each worker count: that many ``celery -A annotator worker
  --pool solo`` subprocesses on a queue of their own, then the job submitted
  through the action the API calls (``pipelines.actions.do_start_prelabel``,
  queued on commit) and timed from submission to the Job row saying
  succeeded: planning, chunk tasks through Redis, loading the pipeline in each
  worker, reading texts, ``nlp.pipe``, label mapping, alignment checks against
  the project tokenizer and bulk writes of the suggestions into PostgreSQL.
  Suggestions of the previous run are deleted first, so each run writes into
  the same empty table.

With ``--rounds N`` it repeats the runs and reports medians. It prints
documents per second for each, per wall second and per CPU second
(the workers' own CPU time, read from /proc: a figure that other load on the
machine disturbs less), the ratio end to end / raw (each end-to-end run
against the raw runs just before and after it), the speed-up of N workers
over one, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Not this script's folder: a bench script named like a standard module (bench/queue.py) would shadow it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(BASE_DIR))

from bench.common import (  # noqa: E402 - after the sys.path fix above
    FIRST,
    LABELS,
    LAST,
    ORGS,
    PLACES,
    Workers,
    bench_database_url,
    ensure_database,
)

# ------------------------------------------------------------------------------------- the corpus

# Names from bench/common.py; sentences a little longer (about 65 tokens a document).
TEMPLATES = [
    ("PERSON", "Yesterday {E} said {N} people had moved to safer areas near the river."),
    ("GPE", "Heavy rain in {E} closed {N} roads overnight, officials said."),
    ("ORG", "The {E} said {N} trucks would arrive before dark on Friday."),
    ("PERSON", "According to {E}, prices rose {N} percent this year."),
    ("GPE", "Residents of {E} queued for bread as it fell to {N} degrees."),
    ("ORG", "The {E} reported on {N} villages near the border."),
    ("PERSON", "“We will rebuild,” said {E}, after {N} years away."),
    ("GPE", "Flights from {E} resumed after {N} days, officials confirmed 🙂."),
]


def generate_document(rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    """Five sentences, one name each; spans are (start, end, label) in code points, end exclusive."""
    parts, spans, offset = [], [], 0
    for _ in range(5):
        label, template = rng.choice(TEMPLATES)
        before, after = (piece.replace("{N}", str(rng.randrange(2, 100_000))) for piece in template.split("{E}"))
        name = (f"{rng.choice(FIRST)} {rng.choice(LAST)}" if label == "PERSON"
                else rng.choice(PLACES if label == "GPE" else ORGS))
        start = offset + len(before)
        spans.append((start, start + len(name), label))
        sentence = before + name + after
        parts.append(sentence)
        offset += len(sentence) + 1
    return " ".join(parts), spans


# ------------------------------------------------------------------------------------- set-up

def train_pipeline(folder: Path, *, documents: int, epochs: int) -> None:
    """spaCy's default NER on a blank English pipeline, trained on generated documents, saved to ``folder``."""
    import spacy
    from spacy.training import Example

    spacy.util.fix_random_seed(0)
    rng = random.Random(1)
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    examples = []
    for _ in range(documents):
        text, spans = generate_document(rng)
        examples.append(Example.from_dict(nlp.make_doc(text), {"entities": spans}))
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in spacy.util.minibatch(examples, size=16):
            nlp.update(batch, sgd=optimizer, drop=0.1)
    nlp.meta.update(name="bench_ner", version="1.0.0")
    nlp.to_disk(folder)


def setup_django(database_url: str, media_root: str, queue: str, model_dirs: str) -> None:
    os.environ.update(DATABASE_URL=database_url, DJANGO_MEDIA_ROOT=media_root, CELERY_TASK_DEFAULT_QUEUE=queue,
                      SPACY_MODEL_DIRS=model_dirs, DJANGO_SETTINGS_MODULE="annotator.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As in production (README): no per-query bookkeeping of DEBUG in the workers.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_SECRET_KEY", uuid.uuid4().hex * 2)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)


# ------------------------------------------------------------------------------------- the runs

def raw_rate(project, texts: list[str]) -> tuple[float, float]:
    """The model alone over ``texts`` here, as the workers run it (``nlp.pipe``, its recognizer decoded with a beam
    of ``PRELABEL_BEAM_WIDTH`` for the scores: ``pipelines.confidence.scored_pipe``): documents per wall second and
    per CPU second."""
    from pipelines import conf
    from pipelines.confidence import scored_pipe
    from pipelines.loading import load_pipeline
    from pipelines.registry import resolve_model

    nlp = load_pipeline(resolve_model(project, "bench_ner"))
    size, width = conf.prelabel_batch_size(), conf.prelabel_beam_width()
    for _ in scored_pipe(nlp, texts[:200], batch_size=size, beam_width=width):  # warm up
        pass
    started, cpu = time.perf_counter(), time.process_time()
    for _ in scored_pipe(nlp, texts, batch_size=size, beam_width=width):
        pass
    return len(texts) / (time.perf_counter() - started), len(texts) / (time.process_time() - cpu)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def end_to_end(project, user, workers: int, queue: str) -> dict:
    from django.db import connection

    from pipelines.actions import do_start_prelabel
    from projects.models import Job, Suggestion

    Suggestion.objects.filter(document__project=project).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE projects_suggestion")
    with Workers(workers, queue) as pool:
        cpu = sum(cpu_seconds(p.pid) for p, _ in pool.processes)
        started = time.perf_counter()
        job = do_start_prelabel(project, model="bench_ner", acting_user=user)
        while True:
            job.refresh_from_db()
            if job.is_finished:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        cpu = sum(cpu_seconds(p.pid) for p, _ in pool.processes) - cpu
    if job.status != Job.Status.SUCCEEDED:
        sys.exit(f"the pre-labelling job {job.status}: {job.error}")
    stored = Suggestion.objects.filter(document__project=project).count()
    assert stored == job.result["suggestions"], (stored, job.result)
    documents = job.result["documents"]
    return {"wall": wall, "rate": documents / wall, "cpu_rate": documents / cpu, "suggestions": stored,
            "chunks": job.result["chunks"], "seconds": job.result["seconds"], "workers": job.result["workers"]}


def measure_round(project, user, texts: list[str], counts: list[int], queue: str, number: int) -> dict:
    """Raw runs before, between and after the end-to-end runs: each end-to-end run is compared with the
    mean of the raw runs on either side of it, as the machine's load may change in between."""
    raws = [raw_rate(project, texts)]
    print(f"round {number}: raw nlp.pipe (this process):  {raws[0][0]:7.1f} documents/s "
          f"({raws[0][1]:.1f} per CPU second)", flush=True)
    results = {}
    for count in counts:
        result = results[count] = end_to_end(project, user, count, queue)
        print(f"round {number}: end to end, {count} worker{'s' if count > 1 else ' '}:   {result['rate']:7.1f} "
              f"documents/s ({result['cpu_rate']:.1f} per worker CPU second; {result['wall']:.1f} s wall, "
              f"{result['chunks']} chunks run by {result['workers']} worker process(es), "
              f"{result['suggestions']:,} suggestions; in the workers {result['seconds']['predict']:.1f} s "
              f"predicting, {result['seconds']['write']:.1f} s writing; load {_load(os.getloadavg())})", flush=True)
        raws.append(raw_rate(project, texts))
        result["raw"] = tuple((a + b) / 2 for a, b in zip(raws[-2], raws[-1]))
        print(f"round {number}: raw nlp.pipe (this process):  {raws[-1][0]:7.1f} documents/s "
              f"({raws[-1][1]:.1f} per CPU second)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents to pre-label (default 10000)")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated (default 1,2)")
    parser.add_argument("--train-docs", type=int, default=300, help="generated documents to train on")
    parser.add_argument("--epochs", type=int, default=4, help="training epochs")
    parser.add_argument("--database", default="annotator_bench_prelabel", help="the dedicated database (emptied!)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the raw / end-to-end runs; medians reported")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL (postgres://...) is required")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        sys.exit("CELERY_BROKER_URL (redis://...) is required")
    url = bench_database_url(os.environ["DATABASE_URL"], args.database)
    ensure_database(url, args.database)
    queue = f"bench-prelabel-{uuid.uuid4().hex[:8]}"
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="annotator-bench-prelabel-") as tmp:
        workdir = Path(tmp)
        (workdir / "media").mkdir()
        (workdir / "models").mkdir()
        started = time.perf_counter()
        train_pipeline(workdir / "models" / "bench_ner", documents=args.train_docs, epochs=args.epochs)
        trained_in = time.perf_counter() - started
        setup_django(url, str(workdir / "media"), queue, str(workdir / "models"))

        from django.contrib.auth import get_user_model

        from pipelines import conf
        from projects.actions.documents import do_create_documents
        from projects.actions.labels import do_create_label
        from projects.actions.projects import do_create_project

        user, _ = get_user_model().objects.get_or_create(username="bench")
        project = do_create_project(acting_user=user, name=f"Pre-label bench, {args.docs} documents")
        for label in LABELS:
            do_create_label(project, acting_user=user, name=label, kind="entity")
        rng = random.Random(args.docs)
        texts = [generate_document(rng)[0] for _ in range(args.docs)]
        for i in range(0, len(texts), 2000):
            do_create_documents(project, [{"text": t} for t in texts[i:i + 2000]], acting_user=user)
        tokens = sum(len(doc) for doc in _tokenizer()(texts[:500])) / min(500, len(texts))
        print(f"prelabel bench: {args.docs:,} documents (~{tokens:.0f} tokens each) on PostgreSQL database "
              f"{args.database!r}; pipeline: blank 'en' + default NER trained in {trained_in:.0f} s; "
              f"chunk size {conf.prelabel_chunk_size()}, nlp.pipe batch size {conf.prelabel_batch_size()}; "
              f"{os.cpu_count()} CPUs; load average before {_load(load_before)}", flush=True)

        counts = [int(n) for n in args.workers.split(",") if n.strip()]
        rounds = [measure_round(project, user, texts, counts, queue, n + 1) for n in range(args.rounds)]
        print("summary (end to end / raw nlp.pipe, same pipeline, same texts"
              + (f"; medians of {args.rounds} rounds" if args.rounds > 1 else "") + "):")
        for count in counts:
            runs = [r[count] for r in rounds]
            wall = statistics.median(r["rate"] / r["raw"][0] for r in runs)
            cpu = statistics.median(r["cpu_rate"] / r["raw"][1] for r in runs)
            rate = statistics.median(r["rate"] for r in runs)
            line = (f"  {count} worker{'s' if count > 1 else ' '}: wall {wall:.2f} ({rate:.1f} documents/s), "
                    f"CPU {cpu:.2f}")
            if count != 1 and 1 in counts:
                speedup = statistics.median(r[count]["rate"] / r[1]["rate"] for r in rounds)
                relative = statistics.median((r[count]["rate"] / r[count]["raw"][0]) / (r[1]["rate"] / r[1]["raw"][0])
                                             for r in rounds)
                line += (f"; speed-up over 1 worker {speedup:.2f}x (wall; {relative:.2f}x relative to the raw runs "
                         "around each)")
            print(line)
        print(f"load average after {_load(os.getloadavg())}")


def _tokenizer():
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    return lambda texts: (tokenizer(t) for t in texts)


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    main()
