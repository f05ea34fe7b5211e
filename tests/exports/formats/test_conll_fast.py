"""write_conll and annotated_docs compute sentences and tags from token arrays; they must give
exactly what the straightforward path gives (spaCy Tokens, ``doc.char_span``, the Sentencizer,
``token.is_sent_start`` and ``doc.sents``), whatever the text."""

from __future__ import annotations

import re

import pytest
import spacy
from hypothesis import given
from hypothesis import strategies as st
from spacy.pipeline import Sentencizer

from exports.formats.conll import DOCSTART_LINE, write_conll
from exports.formats.iob import BILUO, IOB2, spans_to_tags
from exports.formats.iob import drop_overlaps
from exports.formats.spacy_docbin import annotated_docs
from exports.records import DocumentRecord, ExportStats, SpanRecord
from tests.exports.formats.test_properties import LABELS, SETTINGS, texts, with_stored_tokens


def reference_docs(records, nlp, stats=None):
    """The straightforward path: ``char_span``, ``doc.ents``, the Sentencizer, then a start after
    every line break and none inside a span, one ``token.is_sent_start`` at a time."""
    sentencizer = nlp.get_pipe("sentencizer") if "sentencizer" in nlp.pipe_names else Sentencizer()
    for record in records:
        doc = nlp.make_doc(record.text)
        spans = []
        for i, span in enumerate(record.spans):
            aligned = None
            if 0 <= span.start < span.end <= len(record.text):
                aligned = doc.char_span(span.start, span.end, label=span.label, alignment_mode="strict")
            if aligned is None:
                raise ValueError(
                    f"document {record.id}: span {i} {span.start}-{span.end} {span.label} "
                    f"({record.text[span.start:span.end]!r}) does not start and end on token boundaries"
                )
            spans.append(aligned)
        kept, dropped = drop_overlaps([(s.start, s.end) for s in record.spans])
        doc.ents = [spans[i] for i in kept]
        sentencizer(doc)
        if "\n" in record.text:
            for token in doc:
                if token.is_space and "\n" in token.text and token.i + 1 < len(doc):
                    if token.i > 0:
                        token.is_sent_start = False
                    doc[token.i + 1].is_sent_start = True
        for span in spans:
            for i in range(span.start + 1, span.end):
                doc[i].is_sent_start = False
        if stats is not None:
            stats.documents += 1
            stats.dropped_overlaps += len(dropped)
        yield record, doc, spans


def reference_conll(records, nlp, scheme=IOB2, stats=None):
    """The CoNLL writer as it was: one spaCy Token at a time over ``doc.sents``."""
    for record, doc, _spans in reference_docs(records, nlp, stats):
        visible = [0]
        for token in doc:
            visible.append(visible[-1] + (not token.text.isspace()))
        ents = []
        for span in doc.ents:
            start, end = visible[span.start], visible[span.end]
            if start == end:
                raise ValueError(
                    f"document {record.id}: span {span.start_char}-{span.end_char} {span.label_} "
                    f"covers only whitespace, which CoNLL cannot hold"
                )
            ents.append((start, end, span.label_))
        tags = spans_to_tags(ents, visible[-1], scheme)
        yield DOCSTART_LINE + "\n"
        yield "\n"
        for sentence in doc.sents:
            lines = 0
            for token in sentence:
                if token.text.isspace():
                    continue
                yield f"{token.text} {tags[visible[token.i]]}\n"
                lines += 1
            if lines:
                yield "\n"


def outcome(writer, records, nlp, scheme):
    stats = ExportStats()
    try:
        return "".join(writer(records, nlp, scheme=scheme, stats=stats)), stats
    except ValueError as exc:
        return str(exc), stats


PIPELINES = {}


def pipeline(name: str):
    if name not in PIPELINES:
        if name == "en+sentencizer":
            nlp = spacy.blank("en")
            nlp.add_pipe("sentencizer", config={"punct_chars": [".", ";", "\n"]})
        else:
            nlp = spacy.blank(name)
        PIPELINES[name] = nlp
    return PIPELINES[name]


@SETTINGS
@given(
    text=texts, data=st.data(), scheme=st.sampled_from([IOB2, BILUO]),
    name=st.sampled_from(["en", "zh", "en+sentencizer"]),
)
def test_fast_conll_gives_the_lines_of_the_spacy_doc_path(text, data, scheme, name):
    nlp = pipeline(name)
    doc = nlp.make_doc(text)
    # Spans on token boundaries, whitespace tokens and overlaps included.
    spans = []
    for a, b in data.draw(st.lists(st.tuples(st.integers(0, len(doc) - 1), st.integers(0, len(doc) - 1)),
                                   max_size=6)) if len(doc) else []:
        span = doc[min(a, b):max(a, b) + 1]
        spans.append(SpanRecord(span.start_char, span.end_char, data.draw(st.sampled_from(LABELS))))
    records = [DocumentRecord(text=text, spans=spans, id=3), DocumentRecord(text=text + " Next. one", id=4)]
    expected = outcome(reference_conll, records, nlp, scheme)
    assert outcome(write_conll, records, nlp, scheme) == expected
    assert outcome(write_conll, with_stored_tokens(records, nlp), nlp, scheme) == expected


@pytest.mark.parametrize("text", [
    "Yahoo! Inc. met U.S. officials.\nThen left!! Really?! ok", "a\n\n\nb", "\n a . b", "Hi.\n", ". . .", "x",
    "Mr. Smith went.  Two spaces.\r\nCRLF line? «Quoted.» (Brackets.) end",
])
def test_fast_conll_matches_on_tricky_sentences(nlp, text):
    doc = nlp.make_doc(text)
    spans = [SpanRecord(t.idx, t.idx + len(t), "PER") for t in doc if t.is_title or t.is_punct]
    records = [DocumentRecord(text=text, spans=spans, id=1)]
    for scheme in (IOB2, BILUO):
        expected = outcome(reference_conll, records, nlp, scheme)
        assert outcome(write_conll, records, nlp, scheme) == expected
        assert outcome(write_conll, with_stored_tokens(records, nlp), nlp, scheme) == expected


@SETTINGS
@given(text=texts, data=st.data())
def test_fast_conll_accepts_and_refuses_the_same_char_offsets(nlp, text, data):
    offsets = st.integers(-1, len(text) + 1)
    spans = [SpanRecord(a, b, "ORG") for a, b in data.draw(st.lists(st.tuples(offsets, offsets), max_size=3))]
    records = [DocumentRecord(text=text, spans=spans, id=9)]
    expected = outcome(reference_conll, records, nlp, IOB2)
    assert outcome(write_conll, records, nlp, IOB2) == expected
    assert outcome(write_conll, with_stored_tokens(records, nlp), nlp, IOB2) == expected


@SETTINGS
@given(text=texts, data=st.data(), name=st.sampled_from(["en", "zh", "en+sentencizer"]))
def test_annotated_docs_set_what_the_token_by_token_path_sets(text, data, name):
    nlp = pipeline(name)
    doc = nlp.make_doc(text)
    spans = []
    for a, b in data.draw(st.lists(st.tuples(st.integers(0, len(doc) - 1), st.integers(0, len(doc) - 1)),
                                   max_size=4)) if len(doc) else []:
        span = doc[min(a, b):max(a, b) + 1]
        spans.append(SpanRecord(span.start_char, span.end_char, "ORG"))
    records = [DocumentRecord(text=text, spans=spans, id=1)]
    try:
        expected = [(d.to_array(["SENT_START", "ENT_IOB", "ENT_TYPE"]).tolist(), [(s.start, s.end) for s in sp])
                    for _, d, sp in reference_docs(records, nlp)]
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            list(annotated_docs(records, nlp))
        return
    for inputs in (records, with_stored_tokens(records, nlp)):
        assert [(d.to_array(["SENT_START", "ENT_IOB", "ENT_TYPE"]).tolist(), [(s.start, s.end) for s in sp])
                for _, d, sp in annotated_docs(inputs, nlp)] == expected
