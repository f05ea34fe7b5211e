"""Inter-annotator agreement: pure functions and one accumulator, no database.

Units: a span is ``(start, end, label)`` in code points, end exclusive; a
token is ``(start, end)``. Two spans agree only when start, end and label are
all equal (exact match, as CoNLL scoring counts).

- Span precision / recall / F1 of a pair (a, b): b's spans scored against a's
  (tp = in both, fp = only b's, fn = only a's), per label and overall; F1 is
  symmetric, precision and recall swap with the order.
- Relation precision / recall / F1, the same way: a relation is ``(head span,
  tail span, label)`` and two agree only when head, tail (each exact) and label
  are equal: the same spans the other way round, or another label, disagree.
- Token-level Cohen's kappa of a pair: every non-whitespace token gets the
  label of the span covering it, or ``O``; kappa over the tokens of the
  documents both annotated.
- Krippendorff's alpha (nominal) over all annotators: the same token labels,
  each (document, token) a unit with as many values as people annotated the
  document; units with one value are not pairable and count for nothing.

Everything streams: ``Agreement.add_document`` takes one document at a time and
keeps only counts, so a 100,000-document project needs no more memory than a
small one.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

OUTSIDE = "O"

Span = tuple[int, int, str]


# Spans -------------------------------------------------------------------------------------------

def span_counts(reference: Iterable[Span], predicted: Iterable[Span]) -> dict[str, list[int]]:
    """Per label ``[tp, fp, fn]`` of ``predicted`` against ``reference`` (exact boundaries and label).

    >>> span_counts([(0, 5, "GPE"), (9, 12, "ORG")], [(0, 5, "GPE"), (9, 12, "PER")])
    {'GPE': [1, 0, 0], 'ORG': [0, 0, 1], 'PER': [0, 1, 0]}
    """
    reference, predicted = set(reference), set(predicted)
    counts: dict[str, list[int]] = {}
    for span in reference | predicted:
        row = counts.setdefault(span[2], [0, 0, 0])
        if span in reference and span in predicted:
            row[0] += 1
        elif span in predicted:
            row[1] += 1
        else:
            row[2] += 1
    return dict(sorted(counts.items()))


def prf(tp: int, fp: int, fn: int) -> dict:
    """Precision, recall and F1 from counts; a ratio with nothing to count is None (JSON null)."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


# Tokens ------------------------------------------------------------------------------------------

def token_labels(tokens: Sequence[tuple[int, int]], spans: Iterable[Span]) -> list[str]:
    """The label of each token: the span covering it, or ``O``.

    Where spans overlap (projects that allow it) the longest covering span
    wins, then the earliest, then the label name, so the choice never depends
    on storage order.

    >>> token_labels([(0, 5), (6, 10), (11, 14)], [(0, 10, "ORG"), (6, 10, "GPE")])
    ['ORG', 'ORG', 'O']
    """
    labels = [OUTSIDE] * len(tokens)
    if not tokens:
        return labels
    starts = [start for start, _ in tokens]
    ranked = sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0], s[2]), reverse=True)  # the winner is written last
    for start, end, label in ranked:
        i = bisect.bisect_left(starts, start)
        while i < len(tokens) and tokens[i][1] <= end:
            if tokens[i][0] >= start:
                labels[i] = label
            i += 1
    return labels


def kappa_from_confusion(confusion: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa from ``{(label_a, label_b): count}``; None when chance agreement is total."""
    total = sum(confusion.values())
    if not total:
        return None
    rows: Counter = Counter()
    cols: Counter = Counter()
    agree = 0
    for (a, b), n in confusion.items():
        rows[a] += n
        cols[b] += n
        if a == b:
            agree += n
    observed = agree / total
    expected = sum(rows[label] * cols[label] for label in rows) / (total * total)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def cohen_kappa(a: Sequence, b: Sequence) -> float | None:
    """Cohen's kappa of two equally long label sequences (as sklearn's ``cohen_kappa_score``)."""
    if len(a) != len(b):
        raise ValueError(f"the sequences differ in length: {len(a)} and {len(b)}")
    return kappa_from_confusion(Counter(zip(a, b)))


class AlphaAccumulator:
    """Krippendorff's alpha for nominal data, from units given one at a time.

    A unit is the values the annotators gave it (missing ones left out). The
    coincidence matrix ``o[c][k]`` gets ``n_c * n_k / (m - 1)`` from a unit
    with ``m`` values, ``n_c`` of them ``c`` (``n_c * (n_c - 1) / (m - 1)`` on the
    diagonal); then ``alpha = 1 - (n - 1) * D_o / D_e`` with ``D_o`` the
    off-diagonal sum of ``o`` and ``D_e`` that of ``n_c * n_k``.
    """

    def __init__(self):
        self.coincidence: dict[tuple, float] = defaultdict(float)

    def add(self, values: Iterable) -> None:
        counts = Counter(v for v in values if v is not None)
        m = sum(counts.values())
        if m < 2:
            return
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                self.coincidence[c, k] += (n_c * (n_c - 1) if c == k else n_c * n_k) / (m - 1)

    def alpha(self) -> float | None:
        totals: Counter = Counter()
        for (c, _), value in self.coincidence.items():
            totals[c] += value
        n = sum(totals.values())
        observed = sum(v for (c, k), v in self.coincidence.items() if c != k)
        expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
        if n <= 1 or not expected:
            return None
        return 1 - (n - 1) * observed / expected


def krippendorff_alpha_nominal(units: Iterable[Iterable]) -> float | None:
    """Krippendorff's alpha (nominal) of units, each the values it got (None for a missing one)."""
    accumulator = AlphaAccumulator()
    for unit in units:
        accumulator.add(unit)
    return accumulator.alpha()


# All of it ---------------------------------------------------------------------------------------

Relation = tuple[Span, Span, str]


def _add_counts(pairs: dict, a: str, b: str, reference: Iterable, predicted: Iterable) -> None:
    """Add ``span_counts`` of ``predicted`` against ``reference`` to the pair (a, b)'s per-label counts."""
    pair = pairs[a, b]
    for label, (tp, fp, fn) in span_counts(reference, predicted).items():
        row = pair.setdefault(label, [0, 0, 0])
        row[0] += tp
        row[1] += fp
        row[2] += fn


def _scores(pairs: dict, pair_documents: Counter) -> tuple[dict, dict[str, list[int]]]:
    """``{"overall", "per_label", "pairs"}`` from per-pair, per-label counts; and each annotator's counts."""
    overall = [0, 0, 0]
    per_label: dict[str, list[int]] = {}
    by_annotator: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    shaped = []
    for (a, b), labels in sorted(pairs.items()):
        total = [sum(row[i] for row in labels.values()) for i in range(3)]
        for label, row in labels.items():
            into = per_label.setdefault(label, [0, 0, 0])
            for i in range(3):
                into[i] += row[i]
                overall[i] += row[i]
        for name in (a, b):
            for i in range(3):
                by_annotator[name][i] += total[i]
        shaped.append({"annotators": [a, b], "documents": pair_documents[a, b], **prf(*total),
                       "per_label": {label: prf(*row) for label, row in sorted(labels.items())}})
    return ({"overall": prf(*overall), "per_label": {label: prf(*row) for label, row in sorted(per_label.items())},
             "pairs": shaped}, by_annotator)


class Agreement:
    """Pairwise span and relation P/R/F1, pairwise token kappa and alpha, one document at a time."""

    def __init__(self):
        self.documents = 0
        self.annotators: set[str] = set()
        self.span_pairs: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
        self.relation_pairs: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
        self.pair_documents: Counter = Counter()
        self.confusions: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self.alpha = AlphaAccumulator()

    def add_document(self, spans_by_annotator: Mapping[str, Iterable[Span]],
                     tokens: Sequence[tuple[int, int]] | None,
                     relations_by_annotator: Mapping[str, Iterable[Relation]] | None = None) -> None:
        """One document's submitted annotations (annotator -> spans, and -> relations) and its
        non-whitespace tokens.

        Documents with fewer than two annotators add nothing. Without tokens
        (None) only the span and relation figures are counted.
        """
        names = sorted(spans_by_annotator)
        if len(names) < 2:
            return
        self.documents += 1
        self.annotators.update(names)
        spans = {name: set(spans_by_annotator[name]) for name in names}
        labels = {name: token_labels(tokens, spans[name]) for name in names} if tokens is not None else None
        relations = {name: set((relations_by_annotator or {}).get(name, ())) for name in names}
        for a, b in combinations(names, 2):
            self.pair_documents[a, b] += 1
            _add_counts(self.span_pairs, a, b, spans[a], spans[b])
            _add_counts(self.relation_pairs, a, b, relations[a], relations[b])
            if labels is not None:
                self.confusions[a, b].update(zip(labels[a], labels[b]))
        if labels is not None:
            for i in range(len(tokens)):
                self.alpha.add(labels[name][i] for name in names)

    def result(self) -> dict:
        spans, span_counts_of = _scores(self.span_pairs, self.pair_documents)
        relations, _ = _scores(self.relation_pairs, self.pair_documents)
        kappas = []
        kappas_of: dict[str, list[float]] = defaultdict(list)
        for (a, b) in sorted(self.span_pairs):
            if (a, b) in self.confusions:
                kappa = kappa_from_confusion(self.confusions[a, b])
                kappas.append({"annotators": [a, b], "documents": self.pair_documents[a, b],
                               "tokens": sum(self.confusions[a, b].values()), "kappa": kappa})
                if kappa is not None:
                    kappas_of[a].append(kappa)
                    kappas_of[b].append(kappa)
        return {
            "documents": self.documents,
            "annotators": sorted(self.annotators),
            "spans": spans,
            "relations": relations,
            "kappa": kappas,
            "alpha": self.alpha.alpha(),
            "per_annotator": [
                {"annotator": name, "f1": prf(*span_counts_of[name])["f1"],
                 "kappa": sum(kappas_of[name]) / len(kappas_of[name]) if kappas_of[name] else None}
                for name in sorted(self.annotators)
            ],
        }
