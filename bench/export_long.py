"""Export at any document length: one 100,000-token document against the same text as 1,000 documents.

    .venv/bin/python bench/export_long.py [--tokens 100000] [--documents 1000] [--rounds 3]

The text is generated sentences (about 100 tokens per document, entities in
each). It is written by the spaCy (DocBin) and CoNLL writers over in-memory
records, in two shapes: as one document and cut at sentence ends into
``--documents`` documents. Each shape is tried with the project tokenizer's
tokens and with a file's own tokens and sentences (what a CoNLL or DocBin
import stores). It prints the best of ``--rounds`` wall times per writer and
shape, tokens per second, and the ratio long / split: the target is a ratio
within 2 (linear in document length). Before the fix the long document took
17-26 s where the split one took 0.9 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[:] = [str(BASE_DIR)] + [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "bench"]

from bench.common import generate_document  # noqa: E402


def corpus(tokens: int, documents: int, seed: int = 7) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """``documents`` generated documents of whole sentences, about ``tokens`` tokens in all: (text, spans)."""
    rng = random.Random(seed)
    sentences = max(1, round(tokens / documents / 11.7))  # the generated sentences have 11.7 tokens on average
    return [(doc["text"], [(s["start"], s["end"], s["label"]) for s in doc["spans"]])
            for doc in (generate_document(n, rng, sentences) for n in range(documents))]


def records_of(documents, nlp, *, joined: bool, own_tokens: bool):
    """Records for the documents, or for their texts joined into one; with a file's tokens and sentences
    (``token_columns.pack_words``) or without stored tokens (the writer tokenizes)."""
    from exports.records import DocumentRecord, SpanRecord
    from projects import token_columns

    if joined:
        text, spans, offset = [], [], 0
        for part, part_spans in documents:
            text.append(part)
            spans += [(s + offset, e + offset, label) for s, e, label in part_spans]
            offset += len(part) + 1
        documents = [(" ".join(text), spans)]
    records = []
    for i, (text, spans) in enumerate(documents):
        tokens = None
        if own_tokens:
            doc = nlp(text)  # the sentencizer's sentences stand for a file's
            tokens = token_columns.pack_words(text, [(t.idx, t.idx + len(t)) for t in doc],
                                              [1 if t.is_sent_start else -1 for t in doc])
        records.append(DocumentRecord(text=text, spans=[SpanRecord(*s) for s in spans], id=i, tokens=tokens))
    return records


def timed(write, records, nlp, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _piece in write(records, nlp):
            pass
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import spacy

    from exports.formats.conll import write_conll
    from exports.formats.spacy_docbin import stream_spacy

    nlp = spacy.blank("en")  # what exports use: the project language's blank pipeline with a sentencizer
    nlp.add_pipe("sentencizer")
    documents = corpus(args.tokens, args.documents)
    count = sum(len(nlp.make_doc(text)) for text, _ in documents) + len(documents) - 1
    print(f"{count:,} tokens: one document, and {len(documents):,} documents; best of {args.rounds} rounds")
    print(f"{'writer':8} {'tokens':10} {'one document':>14} {'split':>10} {'ratio':>6}  {'tokens/s (one)':>15}")
    worst = 0.0
    for name, write in (("spacy", stream_spacy), ("conll", write_conll)):
        for own in (False, True):
            long = timed(write, records_of(documents, nlp, joined=True, own_tokens=own), nlp, args.rounds)
            split = timed(write, records_of(documents, nlp, joined=False, own_tokens=own), nlp, args.rounds)
            worst = max(worst, long / split)
            print(f"{name:8} {'file' if own else 'tokenizer':10} {long:13.3f}s {split:9.3f}s {long / split:6.2f}  "
                  f"{count / long:15,.0f}")
    print(f"worst ratio one document / split: {worst:.2f} (target <= 2: {'met' if worst <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
