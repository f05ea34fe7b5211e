"""Active learning benchmark: how many annotated documents each queue order needs to reach a good model.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/active_learning.py \\
        [--train FILE] [--eval FILE] [--orders random,sequential,uncertainty] [--minutes 20]

A simulated annotator answers from the gold of ``--train`` (default: ner_drugs' 1,477
Reddit comments, one label, 69% without any entity; Prodigy JSONL with ``tokens``, or
the product's import JSONL, any labels) through the product's own path, in a PostgreSQL
database of its own (``annotator_bench_loop``, created, migrated and emptied):

- a project per order, of the train file's texts and tokens without their answers
  (imported by the product's importer), queue order ``random``, ``sequential`` or
  ``uncertainty``, the model in the loop on (``retrain_every``);
- the same ``--start`` (50) random documents first, assigned explicitly by the admin,
  then whatever ``/next/`` gives, each answered with the file's spans by a PUT of the
  annotation (submitted) through the REST API;
- after the first ``--start`` documents and then every ``--round`` documents the loop
  trains the next version on a real Celery worker (the project's train split of what
  is annotated: ``--split``), and that version pre-labels and scores the open documents
  (``open_only``), which the uncertainty order follows. The simulated annotator waits
  for both before going on, so each order's queue follows the newest model.

Every version is scored here on ``--eval`` (default ``drugs_eval.jsonl``) with spaCy's own
scorer on the eval file's tokens. A reference model is trained the same way (same worker,
epochs and split) on every document of ``--train``. For each order the bench prints the
learning curve (documents annotated, F1 on the eval file) and how many documents it took
to reach 95% of the reference's F1 (``--target``); last, the ratio ``uncertainty/random``.
A run stops an order when it reaches the target, runs out of documents or of its share of
``--minutes``; an order that never reached the target is shown as "> N".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Not this script's folder: a bench script named like a standard module (bench/queue.py) would shadow it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(BASE_DIR))

from bench.common import Workers, bench_database_url, ensure_database, setup_django  # noqa: E402

DATASET = BASE_DIR.parent / "shared" / "datasets" / "ner_drugs"
ORDERS = ("random", "sequential", "uncertainty")


def read_records(path: Path) -> list:
    """The file's documents as the product reads them: Prodigy JSONL (with tokens or answers) or ours."""
    from exports.formats.jsonl import read_jsonl
    from exports.formats.prodigy import read_prodigy

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = json.loads(next(line for line in lines if line.strip()))
    reader = read_prodigy if ("tokens" in first or "answer" in first or "_input_hash" in first) else read_jsonl
    return [record for _, record in reader(lines)]


def eval_examples(nlp, records: list) -> list:
    """spaCy Examples of the eval file, on its own tokens when it gives them."""
    from spacy.training import Example

    from projects.token_columns import doc_of, file_columns

    examples = []
    for record in records:
        columns = file_columns(record.tokens, record.text)
        doc = doc_of(nlp.vocab, record.text, columns) if columns is not None else nlp.make_doc(record.text)
        entities = [(s.start, s.end, s.label) for s in record.spans]
        examples.append(Example.from_dict(doc, {"entities": _aligned(doc, entities)}))
    return examples


def _aligned(doc, entities):
    from spacy.training import offsets_to_biluo_tags

    kept = [e for e in entities if doc.char_span(e[0], e[1], alignment_mode="strict") is not None]
    return offsets_to_biluo_tags(doc, kept)


def eval_scores(trained, eval_records: list) -> tuple[float, float, float]:
    """Precision, recall and F1 of a stored model version on the eval file (spaCy's scorer)."""
    import spacy

    from pipelines.archives import fetch_pipeline

    nlp = spacy.load(fetch_pipeline(trained))
    scores = nlp.evaluate(eval_examples(nlp, eval_records))
    return tuple(float(scores[key] or 0.0) for key in ("ents_p", "ents_r", "ents_f"))


def make_project(name: str, labels: list[str], admin, annotator, *, order: str, seed: str, split: float):
    """A project in queue ``order``; ``uncertainty-highest`` is the uncertainty order taking the highest first
    (``uncertainty_sampling``), ``uncertainty`` draws in proportion to uncertainty (the default)."""
    from projects.actions.labels import do_create_label
    from projects.actions.members import do_add_member
    from projects.actions.projects import do_create_project

    order, _, sampling = order.partition("-")
    project = do_create_project(acting_user=admin, name=name, queue_order=order, split_seed=seed,
                                split_train=split, split_dev=round(1 - split, 6), split_test=0.0,
                                uncertainty_sampling=sampling or "proportional")
    for label in labels:
        do_create_label(project, acting_user=admin, name=label, kind="entity")
    do_add_member(project, annotator.username, "annotator", acting_user=admin)
    return project


def wait_for(job_id: int, timeout: float = 3600):
    from projects.models import Job

    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job_id)
        if job.status in Job.FINISHED:
            if job.status != Job.Status.SUCCEEDED:
                raise RuntimeError(f"{job.kind} job {job.pk} {job.status}: {job.error}")
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"{job.kind} job {job.pk} still {job.status} after {timeout} s")
        time.sleep(0.2)


def reference_f1(train_records, eval_records, labels, admin, annotator, args) -> tuple[float, int]:
    """A model trained the same way on every document of the train file: its F1 on the eval file."""
    from exports.imports import import_records
    from pipelines.actions import do_start_training
    from pipelines.models import TrainedModel

    project = make_project("reference", labels, admin, annotator, order="sequential", seed=args.seed,
                           split=args.split)
    import_records(project, enumerate(train_records, 1), importer=annotator, annotations_as="submitted")
    job = wait_for(do_start_training(project, name="reference", acting_user=admin).pk)
    trained = TrainedModel.objects.get(job=job)
    return eval_scores(trained, eval_records)[2], trained.documents["train"]


def run_order(order: str, train_records, eval_records, labels, admin, annotator, args, *, target: float,
              seconds: float) -> dict:
    """Annotate with ``order`` until the target F1, the pool's end or ``seconds``; the learning curve."""
    from rest_framework.test import APIClient

    from exports.imports import import_records
    from pipelines.models import TrainedModel
    from projects.models import Document, Job

    started = time.monotonic()
    project = make_project(f"loop-{order}", labels, admin, annotator, order=order, seed=args.seed, split=args.split)
    # The texts and their tokens, not their answers: the queue hands them out, the annotator answers.
    pool = [dataclasses.replace(r, spans=[], relations=[], annotated=False, meta={**r.meta, "bench_i": i})
            for i, r in enumerate(train_records)]
    import_records(project, enumerate(pool, 1), importer=admin)
    gold = {i: r for i, r in enumerate(train_records)}
    ids = dict(Document.objects.filter(project=project).values_list("meta__bench_i", "pk"))
    staff, person = APIClient(HTTP_HOST="localhost"), APIClient(HTTP_HOST="localhost")
    staff.force_authenticate(admin)
    person.force_authenticate(annotator)
    api = f"/api/v1/projects/{project.pk}"
    first = random.Random(args.seed).sample(sorted(gold), args.start)
    response = staff.post(f"{api}/assignments/", {"documents": [ids[i] for i in first], "annotator": annotator.username},
                          format="json")
    assert response.status_code in (200, 201), response.content[:300]
    assert staff.patch(f"{api}/", {"retrain_every": args.start, "retrain_model": "loop"},
                       format="json").status_code == 200
    by_pk = {pk: i for i, pk in ids.items()}
    curve, annotated, reached, annotated_ids = [], 0, None, []
    while True:
        response = person.get(f"{api}/next/")
        if response.status_code == 204:
            break
        assert response.status_code == 200, response.content[:300]
        document = response.json()["document"]
        record = gold[by_pk[document["id"]]]
        annotated_ids.append(by_pk[document["id"]])
        spans = [{"id": str(n), "start": s.start, "end": s.end, "label": s.label} for n, s in enumerate(record.spans)]
        put = person.put(f"/api/v1/documents/{document['id']}/annotation/",
                         {"spans": spans, "relations": [], "status": "submitted", "version": 0}, format="json")
        assert put.status_code == 200, put.content[:300]
        annotated += 1
        training = Job.objects.filter(project=project, kind=Job.Kind.TRAIN).order_by("-id").first()
        if training is None or training.params.get("loop_documents") != annotated:
            continue
        # The loop started a training on this save: wait for it and its pre-labelling, score the version.
        job = wait_for(training.pk)
        if job.result.get("prelabel_job"):
            wait_for(job.result["prelabel_job"])
        precision, recall, f1 = eval_scores(TrainedModel.objects.get(job=job), eval_records)
        curve.append((annotated, f1))
        with_entities = sum(1 for i in annotated_ids if gold[i].spans)
        print(f"  {order:>11}: {annotated:5d} documents annotated ({with_entities} with an entity), F1 {f1:.3f} "
              f"(P {precision:.3f}, R {recall:.3f}) on the eval file ({time.monotonic() - started:.0f} s)", flush=True)
        if len(curve) == 1:
            assert staff.patch(f"{api}/", {"retrain_every": args.round}, format="json").status_code == 200
        if f1 >= target:
            reached = annotated
            break
        if time.monotonic() - started > seconds:
            break
    return {"order": order, "curve": curve, "reached": reached, "annotated": annotated,
            "seconds": time.monotonic() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=DATASET / "drugs_training.jsonl")
    parser.add_argument("--eval", type=Path, default=DATASET / "drugs_eval.jsonl")
    parser.add_argument("--orders", default=",".join(ORDERS),
                        help="of random, sequential, uncertainty (drawn in proportion), uncertainty-highest")
    parser.add_argument("--start", type=int, default=50, help="random documents annotated first (default 50)")
    parser.add_argument("--round", type=int, default=50, help="documents between trainings (default 50)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--split", type=float, default=0.9, help="train share; the rest is dev (default 0.9)")
    parser.add_argument("--target", type=float, default=0.95, help="share of the reference F1 to reach (0.95)")
    parser.add_argument("--minutes", type=float, default=20, help="time budget of the whole run (default 20)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--database", default="annotator_bench_loop")
    args = parser.parse_args()
    began = time.monotonic()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/annotator")
    ensure_database(url, args.database)
    queue = f"bench-loop-{uuid.uuid4().hex[:8]}"
    os.environ.update(TRAIN_EPOCHS=str(args.epochs), TRAIN_MIN_DOCUMENTS="5", LOG_LEVEL="WARNING")
    setup_django(bench_database_url(url, args.database), tempfile.mkdtemp(prefix="bench-loop-media-"), queue)
    from django.contrib.auth import get_user_model

    train_records, eval_records = read_records(args.train), read_records(args.eval)
    labels = sorted({s.label for r in train_records for s in r.spans})
    empty = sum(1 for r in train_records if not r.spans) / len(train_records)
    print(f"{args.train.name}: {len(train_records)} documents ({empty:.0%} without an entity), labels "
          f"{', '.join(labels)}; {args.eval.name}: {len(eval_records)} documents; {args.epochs} epochs, "
          f"start {args.start}, rounds of {args.round}, {args.workers} workers", flush=True)
    users = get_user_model().objects
    admin = users.create_user("bench-admin", password="-")
    annotator = users.create_user("bench-annotator", password="-")
    orders = [o for o in args.orders.split(",") if o]
    results = []
    with Workers(args.workers, queue):
        full, full_docs = reference_f1(train_records, eval_records, labels, admin, annotator, args)
        target = args.target * full
        print(f"reference: trained on {full_docs} documents (every document's train split), F1 {full:.3f}; "
              f"target {args.target:.0%} of it: {target:.3f} ({time.monotonic() - began:.0f} s)", flush=True)
        for n, order in enumerate(orders):
            left = args.minutes * 60 - (time.monotonic() - began)
            results.append(run_order(order, train_records, eval_records, labels, admin, annotator, args,
                                     target=target, seconds=left / (len(orders) - n)))

    print()
    print(f"{'order':>11} | documents to reach {target:.3f} | learning curve (documents: F1)")
    for result in results:
        needed = str(result["reached"]) if result["reached"] else f"> {result['annotated']}"
        points = ", ".join(f"{docs}: {f1:.3f}" for docs, f1 in result["curve"])
        print(f"{result['order']:>11} | {needed:>24} | {points}")
    print(f"wall time {time.monotonic() - began:.0f} s")
    by_order = {r["order"]: r for r in results}
    if "uncertainty" in by_order and "random" in by_order:
        u, r = by_order["uncertainty"], by_order["random"]
        u_docs, r_docs = u["reached"] or u["annotated"], r["reached"] or r["annotated"]
        bound = "" if u["reached"] and r["reached"] else (" (a bound: an order did not reach the target)")
        print(f"uncertainty/random: {u_docs / r_docs:.2f}{bound}")


if __name__ == "__main__":
    main()
