"""The quick span check an import uses (``spans_pass``) never passes what ``check_spans`` refuses, and passes
the common case: spans in order, on token boundaries, of known labels."""

from __future__ import annotations

import random

import pytest

from exports.records import SpanRecord
from projects.errors import InvalidInput
from projects.spans import SpanIn, check_spans, spans_pass
from projects.token_columns import SPACE, TokenColumns
from projects.tokens import Tokens

LABELS = {"PER", "ORG"}


def columns_of(text: str) -> TokenColumns:
    """Tokens split at single spaces; a run of more spaces is a whitespace token of its own."""
    starts, ends, flags, at = [], [], bytearray(), 0
    for part in text.split(" "):
        if part:
            starts.append(at)
            ends.append(at + len(part))
            flags.append(SPACE if part.isspace() else 0)
        at += len(part) + 1
    return TokenColumns(starts, ends, bytes(flags))


def full_check_passes(spans, text: str, columns: TokenColumns, allow_overlap: bool) -> bool:
    try:
        check_spans([SpanIn(str(i), s.start, s.end, s.label) for i, s in enumerate(spans)], text_length=len(text),
                    tokens=Tokens.from_columns(columns), entity_labels=LABELS, allow_overlap=allow_overlap)
    except InvalidInput:
        return False
    return True


def quick(spans, text: str, columns: TokenColumns, allow_overlap: bool) -> bool:
    return spans_pass(spans, text_length=len(text), starts=columns.starts, ends=columns.ends,
                      visible=columns.visible(), entity_labels=LABELS, allow_overlap=allow_overlap)


TEXT = "Omar met Anna in Aleppo \n at noon"


@pytest.mark.parametrize("allow_overlap", [False, True])
def test_the_common_case_passes_quickly(allow_overlap):
    columns = columns_of(TEXT)
    spans = [SpanRecord(0, 4, "PER"), SpanRecord(9, 13, "PER"), SpanRecord(17, 23, "ORG")]
    assert quick(spans, TEXT, columns, allow_overlap) and full_check_passes(spans, TEXT, columns, allow_overlap)
    assert quick([], TEXT, columns, allow_overlap)


@pytest.mark.parametrize("spans", [
    [SpanRecord(0, 3, "PER")],  # not the end of a token
    [SpanRecord(1, 4, "PER")],  # not the start of one
    [SpanRecord(0, 4, "LOC")],  # an unknown label
    [SpanRecord(0, 40, "PER")],  # past the text
    [SpanRecord(24, 25, "PER")],  # the whitespace token
    [SpanRecord(0, 4, "PER"), SpanRecord(0, 4, "PER")],  # given twice
    [SpanRecord(0, 8, "PER"), SpanRecord(5, 13, "PER")],  # overlapping
])
@pytest.mark.parametrize("allow_overlap", [False, True])
def test_what_the_full_check_refuses_never_passes_quickly(spans, allow_overlap):
    columns = columns_of(TEXT)
    if not full_check_passes(spans, TEXT, columns, allow_overlap):
        assert not quick(spans, TEXT, columns, allow_overlap)


def test_spans_out_of_order_take_the_full_check_which_passes_them():
    columns = columns_of(TEXT)
    spans = [SpanRecord(9, 13, "PER"), SpanRecord(0, 4, "PER")]
    assert not quick(spans, TEXT, columns, False) and full_check_passes(spans, TEXT, columns, False)


@pytest.mark.parametrize("allow_overlap", [False, True])
def test_random_spans_agree_with_the_full_check(allow_overlap):
    rng = random.Random(16)
    passed = 0
    for _ in range(3000):
        text = " ".join(rng.choice(["ab", "c", "", " ", "\n", "def"]) for _ in range(rng.randint(1, 12)))
        columns = columns_of(text)
        spans = [SpanRecord(start, start + rng.randint(1, 6), rng.choice(["PER", "ORG", "LOC"]))
                 for start in sorted(rng.randint(0, len(text)) for _ in range(rng.randint(0, 4)))]
        if quick(spans, text, columns, allow_overlap):
            passed += 1
            assert full_check_passes(spans, text, columns, allow_overlap), (text, spans)
    assert passed > 100  # the quick path was taken, not only refused
