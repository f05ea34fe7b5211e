"""Token tag schemes for entities: IOB1, IOB2 and BILUO, as pure functions over lists.

    token     IOB1    IOB2    BILUO
    Paris     I-GPE   B-GPE   U-GPE
    New       I-GPE   B-GPE   B-GPE
    York      I-GPE   I-GPE   L-GPE

Spans here are ``(start, end, label)`` token index ranges, end exclusive, and
every list of tags is one sentence: an entity never crosses a sentence. IOBES
prefixes are read as their BILUO twins (``E-`` as ``L-``, ``S-`` as ``U-``).
Readers raise ``TagError`` with the index of the offending tag so callers can
name the line.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

IOB1, IOB2, BILUO = "iob1", "iob2", "biluo"

_PREFIXES = {"B": "B", "I": "I", "L": "L", "U": "U", "E": "L", "S": "U"}

TokenSpan = tuple[int, int, str]


class TagError(ValueError):
    """A tag that does not fit its scheme; ``index`` is its position in the list."""

    def __init__(self, index: int, message: str):
        self.index = index
        self.message = message
        super().__init__(message)


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``, ``"O"`` -> ``("O", "")``; ValueError if neither."""
    if tag == "O":
        return "O", ""
    prefix, dash, label = tag.partition("-")
    if not dash or not label or prefix not in _PREFIXES:
        raise ValueError(
            f"tag {tag!r} is not O or a B-, I-, L-, U-, E- or S- prefix followed by a label (like B-PER)"
        )
    return _PREFIXES[prefix], label


def detect_scheme(sentences: Iterable[Sequence[str]]) -> str:
    """Guess the scheme of one document's tags (a list of tag lists, one per sentence).

    L-/U- anywhere means BILUO. An I- that opens an entity is impossible in
    IOB2, so it means IOB1, unless the same document also opens entities with
    B- after O or another type, which IOB1 never does: then it is IOB2 and the
    stray I- is reported as an error by ``tags_to_spans``.
    """
    orphan_i = b_opens = False
    for tags in sentences:
        prev = ("O", "")
        for tag in tags:
            prefix, label = split_tag(tag)
            if prefix in ("L", "U"):
                return BILUO
            continues = prev[0] != "O" and prev[1] == label
            if prefix == "I" and not continues:
                orphan_i = True
            elif prefix == "B" and not continues:
                b_opens = True
            prev = (prefix, label)
    return IOB1 if orphan_i and not b_opens else IOB2


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """Every entity starts with B-: an I- that does not continue its type becomes B-."""
    out = []
    prev = ("O", "")
    for tag in tags:
        prefix, label = split_tag(tag)
        if prefix == "I" and (prev[0] == "O" or prev[1] != label):
            tag = f"B-{label}"
        out.append(tag)
        prev = (prefix, label)
    return out


def tags_to_spans(tags: Sequence[str], scheme: str) -> list[TokenSpan]:
    """Entities of one sentence as token spans; TagError for a tag that breaks the scheme."""
    if scheme == IOB1:
        tags = iob1_to_iob2(tags)
        scheme = IOB2
    if scheme == IOB2:
        return _iob2_to_spans(tags)
    if scheme == BILUO:
        return _biluo_to_spans(tags)
    raise ValueError(f"unknown tag scheme {scheme!r}; use {IOB1}, {IOB2} or {BILUO}")


def spans_to_tags(spans: Iterable[TokenSpan], length: int, scheme: str = IOB2) -> list[str]:
    """Tags for ``length`` tokens; spans must not overlap (see ``drop_overlaps``)."""
    if scheme not in (IOB2, BILUO):
        raise ValueError(f"cannot write tag scheme {scheme!r}; use {IOB2} or {BILUO}")
    tags = ["O"] * length
    for start, end, label in spans:
        if not 0 <= start < end <= length:
            raise ValueError(f"span {start}-{end} {label!r} is outside the {length} tokens")
        if tags[start:end].count("O") != end - start:
            raise ValueError(f"span {start}-{end} {label!r} overlaps another span")
        if scheme == BILUO and end - start == 1:
            tags[start] = f"U-{label}"
            continue
        tags[start] = f"B-{label}"
        for i in range(start + 1, end):
            tags[i] = f"I-{label}"
        if scheme == BILUO:
            tags[end - 1] = f"L-{label}"
    return tags


def drop_overlaps(spans: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Indices of spans to keep (in position order) and to drop so no two kept ones overlap.

    Longest first (in the units given, e.g. code points), ties to the earliest
    start, then to the first in the list; ``spans`` are ``(start, end)`` pairs
    or longer tuples that start with them.
    """
    if all(spans[i - 1][1] <= spans[i][0] for i in range(1, len(spans))):  # the usual case: in order, apart
        return list(range(len(spans))), []
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0] - spans[i][1], spans[i][0], i))
    starts: list[int] = []  # kept spans, sorted by start; they never overlap
    ends: list[int] = []
    kept: list[int] = []
    dropped: list[int] = []
    for i in order:
        start, end = spans[i][0], spans[i][1]
        at = bisect.bisect_left(starts, start)
        # Only the neighbours can overlap: the one before may reach past start,
        # the one at ``at`` may begin before end.
        if (at > 0 and ends[at - 1] > start) or (at < len(starts) and starts[at] < end):
            dropped.append(i)
            continue
        starts.insert(at, start)
        ends.insert(at, end)
        kept.insert(at, i)
    return kept, sorted(dropped)


def _iob2_to_spans(tags: Sequence[str]) -> list[TokenSpan]:
    spans: list[TokenSpan] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, tag_label = _split(i, tag)
        if prefix in ("L", "U"):
            raise TagError(i, f"{tag} is a BILUO tag in a document read as IOB")
        if prefix == "I":
            if start < 0 or tag_label != label:
                raise TagError(
                    i, f"{tag} does not continue an entity of type {tag_label}; start the entity with B-{tag_label}"
                )
            continue
        if start >= 0:
            spans.append((start, i, label))
        start, label = (i, tag_label) if prefix == "B" else (-1, "")
    if start >= 0:
        spans.append((start, len(tags), label))
    return spans


def _biluo_to_spans(tags: Sequence[str]) -> list[TokenSpan]:
    spans: list[TokenSpan] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, tag_label = _split(i, tag)
        if start >= 0:
            # Inside an entity only I- or L- of the same type may follow.
            if prefix not in ("I", "L") or tag_label != label:
                raise TagError(i, f"{tag} follows an open {label} entity; close it with L-{label}")
            if prefix == "L":
                spans.append((start, i + 1, label))
                start, label = -1, ""
        elif prefix == "B":
            start, label = i, tag_label
        elif prefix == "U":
            spans.append((i, i + 1, tag_label))
        elif prefix in ("I", "L"):
            raise TagError(i, f"{tag} does not continue an entity; start it with B-{tag_label} (BILUO)")
    if start >= 0:
        raise TagError(len(tags) - 1, f"the {label} entity is not closed by L-{label} before the sentence ends")
    return spans


def _split(i: int, tag: str) -> tuple[str, str]:
    try:
        return split_tag(tag)
    except ValueError as exc:
        raise TagError(i, str(exc)) from None
