"""Property tests: whatever the text, writing then reading gives the spans back."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports.formats.conll import read_conll, write_conll
from exports.formats.iob import (
    BILUO,
    IOB1,
    IOB2,
    SCHEMES,
    TagError,
    detect_scheme,
    drop_overlaps,
    spans_to_tags,
    tag_problems,
    tags_to_spans,
)
from exports.formats.spacy_docbin import read_spacy, write_spacy
from exports.records import DocumentRecord, RelationRecord, SpanRecord
from projects import token_columns

PIECES = [
    "Paris", "New", "York", "Toyota's", "Paris-based", "U.S.", "e\u0301", "\u0301", "x\u200by", "1,000", "$5",
    "😀", "🇫🇷", "👍🏽", "❤️", "👩‍👩‍👧", "北京", "天安门。", "שלום", "مرحبا", "\u200f", "Ωmega",
    "(", ")", ".", ",", "!", "?", "-", "'", '"', "...", "—",
]
SEPARATORS = [" ", "  ", "\n", "\n\n", "\t", "\u00a0", " \n ", "\u3000", "\r\n"]
LABELS = ["PER", "ORG", "GPE"]

texts = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.sampled_from(SEPARATORS),
        st.characters(exclude_categories=("Cs",)),  # anything else, one code point at a time
    ),
    min_size=1,
    max_size=30,
).map("".join).filter(str.strip)

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_stored_tokens(records: list[DocumentRecord], nlp) -> list[DocumentRecord]:
    """Copies of ``records`` carrying their tokens packed, as documents stored by an import do."""
    key = token_columns.tokenizer_key(nlp.lang)
    return [DocumentRecord(r.text, r.meta, r.spans, r.relations, r.id, r.annotator,
                           token_columns.pack(nlp.make_doc(r.text), key)) for r in records]


def token_spans(draw, doc, visible_only: bool) -> list[tuple[int, int]]:
    """Random token ranges (start, end), unique; with visible_only they start and end on non-space tokens."""
    ok = [t.i for t in doc if not (visible_only and t.text.isspace())]
    if not ok:
        return []
    pairs = draw(st.lists(st.tuples(st.sampled_from(ok), st.sampled_from(ok)), max_size=6))
    return sorted({(min(a, b), max(a, b) + 1) for a, b in pairs})


def char_offsets(doc, start: int, end: int) -> tuple[int, int]:
    return doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text)


@SETTINGS
@given(text=texts, data=st.data())
def test_docbin_round_trip_keeps_every_span(nlp, text, data):
    doc = nlp.make_doc(text)
    spans = []
    for start, end in token_spans(data.draw, doc, visible_only=False):  # overlaps included
        spans.append(SpanRecord(*char_offsets(doc, start, end), data.draw(st.sampled_from(LABELS))))
    relations = []
    if len(spans) >= 2:
        for head, tail in data.draw(st.lists(st.tuples(*[st.integers(0, len(spans) - 1)] * 2), max_size=3)):
            if head != tail and RelationRecord(head, tail, "rel") not in relations:  # a repeat is kept once
                relations.append(RelationRecord(head, tail, "rel"))
    meta = data.draw(st.dictionaries(
        st.text(max_size=4), st.one_of(st.integers(-9, 9), st.text(max_size=4), st.lists(st.integers(0, 9), max_size=3)),
        max_size=3,
    ))
    record = DocumentRecord(text=text, meta=meta, spans=spans, relations=relations, id=1, annotator="a")
    [(_, back)] = list(read_spacy(write_spacy([record], nlp), nlp))
    columns = token_columns.file_columns(back.tokens, text)  # the DocBin's tokens become the document's own
    assert (columns.starts, columns.ends) == ([t.idx for t in doc], [t.idx + len(t) for t in doc])
    assert dataclasses.replace(back, tokens=None) == record


@SETTINGS
@given(text=texts, data=st.data(), scheme=st.sampled_from([IOB2, BILUO]))
def test_conll_round_trip_keeps_tokens_and_entities(nlp, text, data, scheme):
    doc = nlp.make_doc(text)
    candidates = token_spans(data.draw, doc, visible_only=True)
    kept, _ = drop_overlaps([char_offsets(doc, s, e) for s, e in candidates])
    labels = data.draw(st.lists(st.sampled_from(LABELS), min_size=len(kept), max_size=len(kept)))
    chosen = [(*candidates[i], label) for i, label in zip(kept, labels)]
    record = DocumentRecord(text=text, spans=[SpanRecord(*char_offsets(doc, s, e), label) for s, e, label in chosen])

    docs = list(read_conll("".join(write_conll([record], nlp, scheme=scheme)).splitlines(keepends=True)))

    visible = [t.text for t in doc if not t.text.isspace()]
    if not visible:
        assert docs == []
        return
    [(_, back)] = docs
    assert back.text.split() == visible
    expected = [(label, [t.text for t in doc[s:e] if not t.text.isspace()]) for s, e, label in chosen]
    assert [(s.label, back.text[s.start:s.end].split()) for s in back.spans] == expected


# --- tag schemes over plain lists ---------------------------------------------------------

@st.composite
def tagged_sentence(draw):
    length = draw(st.integers(0, 12))
    spans, i = [], 0
    while i < length:
        if draw(st.booleans()):
            end = draw(st.integers(i + 1, length))
            spans.append((i, end, draw(st.sampled_from(LABELS))))
            i = end
        else:
            i += 1
    return length, spans


def to_iob1(tags: list[str]) -> list[str]:
    """IOB1: I- everywhere, B- only where an entity directly follows one of the same type."""
    out = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-") and not (i and tags[i - 1] != "O" and tags[i - 1][2:] == tag[2:]):
            tag = "I-" + tag[2:]
        out.append(tag)
    return out


@settings(max_examples=100, deadline=None)
@given(tagged_sentence())
def test_tags_round_trip_in_every_scheme(sentence):
    length, spans = sentence
    iob2 = spans_to_tags(spans, length, IOB2)
    biluo = spans_to_tags(spans, length, BILUO)
    iob1 = to_iob1(iob2)
    assert tags_to_spans(iob2, IOB2) == spans
    assert tags_to_spans(biluo, BILUO) == spans
    assert tags_to_spans(iob1, IOB1) == spans
    if spans:
        assert detect_scheme([biluo]) == BILUO
        assert detect_scheme([iob1]) == IOB1
        assert detect_scheme([iob2]) == IOB2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["O", "B-X", "I-X", "L-X", "U-X", "E-Y", "S-Y", "B-Y", "I-Y"]), max_size=10),
       st.sampled_from(SCHEMES))
def test_tags_to_spans_fails_at_the_first_tag_that_counting_finds_breaking_the_scheme(tags, scheme):
    """The reader's error and the survey's counts (which choose a file's scheme) come from one reading."""
    problems = tag_problems(tags, scheme)
    try:
        tags_to_spans(tags, scheme)
    except TagError as exc:
        assert problems and (exc.index, exc.message) == problems[0]
    else:
        assert problems == []
    assert len({i for i, _ in problems}) == len(problems)  # a tag is counted once


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 10)).map(lambda p: (p[0], p[0] + p[1])), max_size=12))
def test_drop_overlaps_keeps_a_non_overlapping_set_preferring_longer_spans(spans):
    kept, dropped = drop_overlaps(spans)
    assert sorted(kept + dropped) == list(range(len(spans)))
    ordered = [spans[i] for i in kept]
    assert all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:]))
    for i in dropped:
        start, end = spans[i]
        # Each dropped span lost to an overlapping kept span at least as long.
        assert any(s < end and start < e and e - s >= end - start for s, e in ordered)
