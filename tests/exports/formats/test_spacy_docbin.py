"""spaCy DocBin writer and reader: what `spacy train` and a re-import see."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacy.tokens import Doc, DocBin, Span
from srsly import msgpack

from exports.formats.spacy_docbin import (
    DOC_ATTRS,
    _SpooledDocBin,
    _user_data,
    annotated_docs,
    read_spacy,
    span_group_bytes,
    write_spacy,
)
from exports.records import DocumentRecord, ExportStats, FormatError, RelationRecord, SpanRecord
from projects import token_columns
from tests.exports.formats.test_properties import SETTINGS, texts

TEXT = "Barack Obama visited New York City. He met Toyota's boss 😀 there."


def at(surface: str, label: str) -> SpanRecord:
    start = TEXT.index(surface)
    return SpanRecord(start, start + len(surface), label)


RECORD = DocumentRecord(
    text=TEXT,
    meta={"source": "wire", "tags": ["a", "b"], "nested": {"n": [1, 2]}},
    spans=[
        at("Barack Obama", "PERSON"),
        at("New York City", "GPE"),
        at("York", "GPE"),  # overlaps New York City: in spans["sc"], not in ents
        at("New York", "CITY"),
        at("Toyota", "ORG"),
    ],
    relations=[RelationRecord(0, 1, "visited"), RelationRecord(4, 2, "based_in")],
    id=7,
    annotator="alice",
    adopted_from="bob",
)


def docs(data: bytes, nlp) -> list[Doc]:
    return list(DocBin().from_bytes(data).get_docs(nlp.vocab))


def test_ents_hold_the_longest_of_overlapping_spans_and_sc_holds_all(nlp):
    stats = ExportStats()
    [doc] = docs(write_spacy([RECORD], nlp, stats), nlp)
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("Barack Obama", "PERSON"), ("New York City", "GPE"), ("Toyota", "ORG"),
    ]
    assert [(s.text, s.label_) for s in doc.spans["sc"]] == [
        ("Barack Obama", "PERSON"), ("New York City", "GPE"), ("York", "GPE"), ("New York", "CITY"), ("Toyota", "ORG"),
    ]
    assert stats.dropped_overlaps == 2
    # Tokens outside entities are O (trainable), not missing.
    assert doc[2].ent_iob_ == "O"


def test_user_data_carries_id_meta_provenance_and_relations_as_offsets(nlp):
    [doc] = docs(write_spacy([RECORD], nlp), nlp)
    assert doc.user_data["id"] == 7
    assert (doc.user_data["annotator"], doc.user_data["adopted_from"]) == ("alice", "bob")
    assert doc.user_data["meta"]["source"] == "wire"
    # DocBin reads lists back as tuples.
    assert [(list(r["head"]), list(r["tail"]), r["label"]) for r in doc.user_data["relations"]] == [
        ([0, 12], [21, 34], "visited"),
        ([43, 49], [25, 29], "based_in"),
    ]


def without_tokens(record: DocumentRecord, nlp) -> DocumentRecord:
    """``record`` without the tokens read from the DocBin, once they are checked to be what ``nlp``
    tokenized and the sentence starts the writer set."""
    columns = token_columns.file_columns(record.tokens, record.text)
    doc = nlp.make_doc(record.text)
    assert (columns.starts, columns.ends) == ([t.idx for t in doc], [t.idx + len(t) for t in doc])
    assert columns.sentence_starts() is not None
    return dataclasses.replace(record, tokens=None)


def test_round_trip_keeps_every_span_relation_id_and_meta(nlp):
    [(number, back)] = list(read_spacy(write_spacy([RECORD], nlp), nlp))
    assert number == 1
    assert without_tokens(back, nlp) == RECORD


def test_round_trip_of_several_documents_keeps_order(nlp):
    records = [DocumentRecord(text=f"Doc {i} in Paris.", spans=[SpanRecord(9, 14, "GPE")], id=i) for i in range(5)]
    records.append(DocumentRecord(text="No spans at all."))
    back = [without_tokens(doc, nlp) for _, doc in read_spacy(write_spacy(records, nlp), nlp)]
    assert back == records


def test_sentences_are_set_with_breaks_at_newlines_and_never_inside_a_span(nlp):
    text = "Yahoo! Inc. grew. Then\nit fell"
    rec = DocumentRecord(text=text, spans=[SpanRecord(0, 11, "ORG")])
    [doc] = docs(write_spacy([rec], nlp), nlp)
    assert doc.has_annotation("SENT_START")
    assert [s.text for s in doc.sents] == ["Yahoo! Inc. grew.", "Then\n", "it fell"]


def test_span_off_token_boundaries_is_an_error_not_a_shift(nlp):
    rec = DocumentRecord(text="Toyota's cars", spans=[SpanRecord(0, 7, "ORG")], id=3)
    with pytest.raises(ValueError, match=r"document 3: span 0 0-7 ORG \(\"Toyota'\"\) does not start and end on token"):
        write_spacy([rec], nlp)


def test_the_callers_pipeline_is_left_as_it_was(nlp):
    write_spacy([RECORD], nlp)
    assert nlp.pipe_names == []


def test_span_group_bytes_are_what_spacy_itself_writes(nlp):
    [(_, doc, spans)] = list(annotated_docs([RECORD], nlp))
    ours = span_group_bytes(msgpack.Packer(use_bin_type=True), spans)
    doc.spans["sc"] = spans
    assert ours == doc.spans.to_bytes()


def test_reads_a_foreign_docbin_with_entities_only(nlp):
    doc = nlp("Rome and Paris are cities")
    doc.ents = [Span(doc, 0, 1, "GPE"), Span(doc, 2, 3, "GPE")]
    data = DocBin(docs=[doc]).to_bytes()
    [(_, rec)] = list(read_spacy(data))  # nlp is optional when reading
    assert dataclasses.replace(rec, tokens=None) == DocumentRecord(
        text="Rome and Paris are cities", spans=[SpanRecord(0, 4, "GPE"), SpanRecord(9, 14, "GPE")])
    columns = token_columns.file_columns(rec.tokens, rec.text)
    assert (columns.starts, columns.ends, columns.sentence_starts()) == ([0, 5, 9, 15, 19], [4, 8, 14, 18, 25], None)


def test_not_a_docbin_is_a_format_error():
    with pytest.raises(FormatError, match="not a spaCy DocBin"):
        list(read_spacy(b"hello"))


def test_relation_to_a_missing_span_names_the_document(nlp):
    first = DocumentRecord(text="fine")
    doc = nlp("Rome and Paris")
    doc.ents = [Span(doc, 0, 1, "GPE")]
    doc.user_data["relations"] = [{"head": [0, 4], "tail": [9, 14], "label": "near"}]
    data = write_spacy([first], nlp)
    merged = DocBin(store_user_data=True).from_bytes(data)
    merged.merge(DocBin(attrs=DOC_ATTRS, store_user_data=True, docs=[doc]))
    with pytest.raises(FormatError) as caught:
        list(read_spacy(merged.to_bytes(), nlp))
    assert caught.value.line == 2
    assert "tail [9, 14] is not a span of this document" in caught.value.message


def stock_docbin_bytes(records, nlp) -> bytes:
    """The straightforward path: doc.spans, doc.user_data and DocBin(store_user_data=True).add."""
    doc_bin = DocBin(attrs=DOC_ATTRS, store_user_data=True)
    for record, doc, spans in annotated_docs(records, nlp):
        doc.spans["sc"] = spans
        doc.user_data.update(_user_data(record))
        doc_bin.add(doc)
    return doc_bin.to_bytes()


@SETTINGS
@given(text=texts, data=st.data())
def test_docbin_bytes_are_those_of_docbin_add_with_user_data(nlp, text, data):
    doc = nlp.make_doc(text)
    spans = [SpanRecord(doc[a].idx, doc[b].idx + len(doc[b]), data.draw(st.sampled_from(["PER", "GPE", "ORG"])))
             for a, b in data.draw(st.lists(st.tuples(st.integers(0, len(doc) - 1), st.integers(0, len(doc) - 1)),
                                            max_size=5)) if a <= b]
    records = [RECORD, DocumentRecord(text=text, meta={"n": 1}, spans=spans, id=2), DocumentRecord(text="\xa0x  y")]
    assert write_spacy(records, nlp) == stock_docbin_bytes(records, nlp)


def test_a_doc_with_other_annotations_goes_through_docbin_add(nlp):
    """The spooled DocBin collects only a blank pipeline's strings itself; a Doc with tags (or any
    annotation it does not collect) takes DocBin.add's path, and the bytes are still DocBin's."""
    packer = msgpack.Packer(use_bin_type=True)
    docs = [nlp.make_doc("Rome fell"), nlp.make_doc("Then Paris 😀"), nlp.make_doc("")]
    docs[0][0].tag_ = "NNP"
    docs[1].ents = [Span(docs[1], 1, 2, "GPE")]
    spooled = _SpooledDocBin(DOC_ATTRS)
    stock = DocBin(attrs=DOC_ATTRS, store_user_data=True)
    for n, doc in enumerate(docs):
        doc.user_data["id"] = n
        spooled.add(doc, doc.spans.to_bytes(), packer.pack(doc.user_data))
        stock.add(doc)
    assert "NNP" in spooled.strings
    assert b"".join(spooled.pieces()) == stock.to_bytes()


def test_a_docbin_with_no_documents_or_an_empty_one_is_docbins(nlp):
    assert write_spacy([], nlp) == DocBin(attrs=DOC_ATTRS, store_user_data=True).to_bytes()
    spooled, empty = _SpooledDocBin(DOC_ATTRS), nlp.make_doc("")
    spooled.add(empty, empty.spans.to_bytes(), msgpack.Packer(use_bin_type=True).pack(empty.user_data))
    assert b"".join(spooled.pieces()) == DocBin(attrs=DOC_ATTRS, store_user_data=True, docs=[empty]).to_bytes()


def test_large_fields_spool_to_disk_and_give_the_same_bytes(nlp, monkeypatch):
    import exports.formats.spacy_docbin as spacy_docbin

    records = [DocumentRecord(text=f"Homs report {n} and Aleppo 🙂.", spans=[SpanRecord(0, 4, "GPE")], id=n)
               for n in range(300)]
    in_memory = write_spacy(records, nlp)
    monkeypatch.setattr(spacy_docbin, "SPOOL_BYTES", 64)  # every field rolls over to a file
    assert write_spacy(records, nlp) == in_memory == stock_docbin_bytes(records, nlp)
