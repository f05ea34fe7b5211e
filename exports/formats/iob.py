"""Token tag schemes for entities: IOB1, IOB2 and BILUO, as pure functions over lists.

    token     IOB1    IOB2    BILUO
    Paris     I-GPE   B-GPE   U-GPE
    New       I-GPE   B-GPE   B-GPE
    York      I-GPE   I-GPE   L-GPE

Spans here are ``(start, end, label)`` token index ranges, end exclusive, and
every list of tags is one sentence: an entity never crosses a sentence. IOBES
prefixes are read as their BILUO twins (``E-`` as ``L-``, ``S-`` as ``U-``).
IOB1 is read as the CoNLL-2003 files use it: an entity opens with ``I-``, and
``B-`` only opens one right after another entity of the same type.
Readers raise ``TagError`` with the index of the offending tag so callers can
name the line. ``TagReader`` reads one scheme a tag at a time and reads on past
a tag that breaks it, so a file's tags can be held against every scheme in one
pass (``choose_scheme`` picks the one the fewest tags break).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence

IOB1, IOB2, BILUO = "iob1", "iob2", "biluo"
# Every scheme a reader takes, in the order ties are settled: an all-O file fits them all.
SCHEMES = (IOB2, BILUO, IOB1)
NAMES = {IOB1: "IOB1", IOB2: "IOB2", BILUO: "BILUO"}

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


class TagReader:
    """One scheme's reading of a sentence's tags, a tag at a time: the entities, and the tags that break it.

        reader = TagReader(IOB2)
        reader.read("B-PER")    # None: it fits
        reader.read("S-PER")    # "S-PER is not an IOB2 tag"
        reader.end_sentence()   # None; reader.spans == [(0, 1, "PER"), (1, 2, "PER")]

    After a tag that breaks the scheme it reads on as if the tag meant what it
    most likely meant (an ``I-`` that continues nothing opens an entity, ``U-``
    in IOB is ``B-``), so each bad tag is counted once. A sentence that ends
    inside a BILUO entity breaks it at its last tag. ``spans`` (token indices
    within the sentence) is emptied by the next sentence's first tag; with
    ``keep_spans=False`` nothing is kept.
    """

    def __init__(self, scheme: str, keep_spans: bool = True):
        if scheme not in SCHEMES:
            raise ValueError(f"unknown tag scheme {scheme!r}; use {IOB1}, {IOB2} or {BILUO}")
        self.scheme = scheme
        self.keep_spans = keep_spans
        self.spans: list[TokenSpan] = []
        self._next = 0  # index of the next tag in the sentence
        self._label = ""  # label of the open entity; "" when none is open
        self._start = 0  # its first tag
        self._broke = -1  # index of the last tag that broke the scheme

    def read(self, tag: str) -> str | None:
        """Take the sentence's next tag; what is wrong with it in this scheme, or None.

        ValueError (from ``split_tag``) for a tag of no scheme at all.
        """
        prefix, label = split_tag(tag)
        return self.read_split(tag, prefix, label)

    def read_split(self, tag: str, prefix: str, label: str) -> str | None:
        """``read`` for a tag already split by ``split_tag`` (several readers can share the split)."""
        i = self._next
        if i == 0 and self.spans:
            self.spans = []
        self._next += 1
        if self.scheme == BILUO:
            problem = self._read_biluo(i, tag, prefix, label)
        else:
            problem = self._read_iob(i, tag, prefix, label)
        if problem:
            self._broke = i
        return problem

    def end_sentence(self) -> str | None:
        """End the sentence; what is wrong with its last tag (a BILUO entity left open), or None."""
        problem = None
        if self._label:
            if self.scheme != BILUO:
                self._close(self._next)
            elif self._broke != self._next - 1:  # a last tag already counted as bad is not counted twice
                problem = f"the {self._label} entity is not closed by L-{self._label} before the sentence ends"
        self._next, self._label, self._broke = 0, "", -1
        return problem

    def _open(self, i: int, label: str) -> None:
        self._start, self._label = i, label

    def _close(self, end: int) -> None:
        if self._label and self.keep_spans:
            self.spans.append((self._start, end, self._label))
        self._label = ""

    def _read_iob(self, i: int, tag: str, prefix: str, label: str) -> str | None:
        problem = None
        if prefix in ("L", "U"):
            problem = f"{tag} is not an {NAMES[self.scheme]} tag"
            prefix = "B" if prefix == "U" else "I"
        continues = self._label == label  # an entity of this type is open (labels are never "")
        if prefix == "O":
            self._close(i)
            return problem
        if prefix == "I" and continues:
            return problem
        if problem is None:
            if prefix == "I" and self.scheme == IOB2:
                problem = f"{tag} does not continue an entity of type {label}; start the entity with B-{label}"
            elif prefix == "B" and self.scheme == IOB1 and not continues:
                problem = (f"{tag} opens an entity, which IOB1 does with I-{label}: B- opens one only right after "
                           f"another {label} entity")
        self._close(i)
        self._open(i, label)
        return problem

    def _read_biluo(self, i: int, tag: str, prefix: str, label: str) -> str | None:
        problem = None
        if self._label:
            # Inside an entity only I- or L- of the same type may follow.
            if prefix in ("I", "L") and label == self._label:
                if prefix == "L":
                    self._close(i + 1)
                return None
            problem = f"{tag} follows an open {self._label} entity; close it with L-{self._label}"
            self._label = ""  # the unclosed entity is dropped; the tag is read on its own
        if prefix == "B":
            self._open(i, label)
        elif prefix == "U":
            self._open(i, label)
            self._close(i + 1)
        elif prefix in ("I", "L"):
            problem = problem or f"{tag} does not continue an entity; start it with B-{label}"
            if prefix == "I":
                self._open(i, label)
        return problem


def tag_problems(tags: Sequence[str], scheme: str) -> list[tuple[int, str]]:
    """``(index, what is wrong)`` for every tag of one sentence that breaks ``scheme``; ValueError for a tag of
    no scheme. ``tag_problems(["B-X", "S-Y"], IOB2) == [(1, "S-Y is not an IOB2 tag")]``"""
    reader = TagReader(scheme, keep_spans=False)
    found = [(i, problem) for i, tag in enumerate(tags) if (problem := reader.read(tag))]
    if problem := reader.end_sentence():
        found.append((len(tags) - 1, problem))
    return found


def choose_scheme(problems: Mapping[str, int]) -> str:
    """The scheme that the fewest tags break, from counts by scheme; ties in ``SCHEMES`` order (IOB2 first)."""
    return min(SCHEMES, key=lambda scheme: (problems[scheme], SCHEMES.index(scheme)))


def detect_scheme(sentences: Iterable[Sequence[str]]) -> str:
    """The scheme of a list of tag lists (one per sentence) that the fewest of the tags break.

    ``L-``/``U-`` break IOB; an ``I-`` that opens an entity breaks IOB2; a
    ``B-`` that opens one other than right after an entity of its type breaks
    IOB1; a ``B-``/``I-`` entity not closed by ``L-`` breaks BILUO. Ties go to
    IOB2, then BILUO.
    """
    readers = [TagReader(scheme, keep_spans=False) for scheme in SCHEMES]
    problems = dict.fromkeys(SCHEMES, 0)
    for tags in sentences:
        for tag in tags:
            prefix, label = split_tag(tag)
            for reader in readers:
                problems[reader.scheme] += reader.read_split(tag, prefix, label) is not None
        for reader in readers:
            problems[reader.scheme] += reader.end_sentence() is not None
    return choose_scheme(problems)


def tags_to_spans(tags: Sequence[str], scheme: str) -> list[TokenSpan]:
    """Entities of one sentence as token spans; TagError for the first tag that breaks the scheme."""
    reader = TagReader(scheme)
    for i, tag in enumerate(tags):
        try:
            problem = reader.read(tag)
        except ValueError as exc:
            raise TagError(i, str(exc)) from None
        if problem:
            raise TagError(i, problem)
    if problem := reader.end_sentence():
        raise TagError(len(tags) - 1, problem)
    return reader.spans


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
