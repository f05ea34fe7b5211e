"""What confidence costs and what it is worth: greedy ``ner`` decoded with a beam against ``beam_ner``.

    .venv/bin/python bench/confidence.py [--train FILE] [--eval FILE] [--epochs 10] [--widths 1,4,8,16]

For each recognizer (spaCy's ``ner``, trained greedily, which the product trains; and
``beam_ner``, trained with beam updates) it trains on ``--train`` (default ner_drugs'
1,477 Reddit comments) with the product's own training loop (``pipelines.training``),
then on ``--eval`` prints, per beam width used when pre-labelling
(``pipelines.confidence.scored_pipe``, as ``PRELABEL_BEAM_WIDTH``; 1 is greedy, no scores):

- training seconds and F1 (spaCy's scorer);
- pre-labelling speed: documents per second, and the ratio to greedy decoding;
- entity scores: their mean against the precision of the entities (a calibrated score has
  both equal) and the expected calibration error over ten bins;
- document uncertainty: how well it ranks the documents the model gets wrong first, as
  the area under the ROC curve (0.5: no better than chance; 1: every wrong document first).
  This is what the queue's uncertainty order relies on.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(BASE_DIR))

DATASET = BASE_DIR.parent / "shared" / "datasets" / "ner_drugs"


def roc_auc(scores: list[float], positives: list[bool]) -> float | None:
    """The probability that a random positive scores above a random negative (ties count half)."""
    pos = [s for s, p in zip(scores, positives) if p]
    neg = [s for s, p in zip(scores, positives) if not p]
    if not pos or not neg:
        return None
    ranked = sorted((s, i) for i, s in enumerate(scores))
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, p in zip(ranks, positives) if p)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def calibration(scores: list[float], correct: list[bool], bins: int = 10) -> float:
    """Expected calibration error: the mean gap between score and accuracy, bin by bin, weighted by size."""
    total, error = len(scores), 0.0
    for b in range(bins):
        members = [(s, c) for s, c in zip(scores, correct) if min(int(s * bins), bins - 1) == b]
        if members:
            error += abs(sum(s for s, _ in members) / len(members)
                         - sum(c for _, c in members) / len(members)) * len(members)
    return error / total if total else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=DATASET / "drugs_training.jsonl")
    parser.add_argument("--eval", type=Path, default=DATASET / "drugs_eval.jsonl")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--widths", default="1,4,8,16")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret-" + "k" * 40)  # no database, no requests
    import django

    django.setup()
    import spacy

    from bench.active_learning import read_records
    from pipelines.confidence import scored_pipe
    from pipelines.training import BLANK, ExampleStats, make_examples, train_ner
    from projects.token_columns import doc_of, file_columns

    train_records, eval_records = read_records(args.train), read_records(args.eval)
    widths = [int(w) for w in args.widths.split(",")]
    print(f"{args.train.name}: {len(train_records)} documents; {args.eval.name}: {len(eval_records)}; "
          f"{args.epochs} epochs; {os.cpu_count()} cores")
    print(f"{'recognizer':>10} {'train s':>8} {'F1':>6} | {'beam':>4} {'docs/s':>7} {'x greedy':>8} "
          f"{'mean score':>10} {'precision':>9} {'ECE':>6} {'doc AUC':>7}")
    for factory in ("ner", "beam_ner"):
        nlp = spacy.blank("en")
        nlp.add_pipe(factory, name="ner")
        stats = ExampleStats()
        train = make_examples(nlp, train_records, stats)
        started = time.perf_counter()
        train_ner(nlp, "ner", train, epochs=args.epochs, mode=BLANK)
        train_seconds = time.perf_counter() - started
        dev = make_examples(nlp, eval_records, stats)
        f1 = nlp.evaluate(dev)["ents_f"] or 0.0
        gold = [{(e.start, e.end, e.label_) for e in ex.reference.ents} for ex in dev]
        greedy_rate = None
        for width in widths:
            inputs = [doc_of(nlp.vocab, r.text, file_columns(r.tokens, r.text)) if r.tokens else r.text
                      for r in eval_records]
            started = time.perf_counter()
            scored = list(scored_pipe(nlp, inputs, batch_size=256, beam_width=width))
            rate = len(scored) / (time.perf_counter() - started)
            greedy_rate = greedy_rate or rate
            entity_scores, correct, uncertainty, wrong = [], [], [], []
            for result, expected in zip(scored, gold):
                found = {(e.start, e.end, e.label_) for e in result.doc.ents}
                for key in found:
                    if key in result.scores:
                        entity_scores.append(result.scores[key])
                        correct.append(key in expected)
                if result.uncertainty is not None:
                    uncertainty.append(result.uncertainty)
                    wrong.append(found != expected)
            if entity_scores:
                mean = sum(entity_scores) / len(entity_scores)
                precision = sum(correct) / len(correct)
                auc = roc_auc(uncertainty, wrong)
                figures = (f"{mean:>10.3f} {precision:>9.3f} {calibration(entity_scores, correct):>6.3f} "
                           f"{auc if auc is None else f'{auc:.3f}':>7}")
            else:
                figures = f"{'no scores':>10}"
            print(f"{factory:>10} {train_seconds:>8.1f} {f1:>6.3f} | {width:>4} {rate:>7.0f} "
                  f"{greedy_rate / rate:>8.2f} {figures}", flush=True)


if __name__ == "__main__":
    main()
