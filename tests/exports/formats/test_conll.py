"""CoNLL-2003 reader and writer, on the cases where peer tools were seen to corrupt files."""

from __future__ import annotations

import pytest

from exports.formats.conll import read_conll, write_conll
from exports.records import DocumentRecord, ExportStats, FormatError, SpanRecord


def record(text: str, *spans: tuple[str, str] | tuple[str, str, int]) -> DocumentRecord:
    """Spans given as (surface, label) or (surface, label, occurrence), found in ``text``."""
    found = []
    for surface, label, *nth in spans:
        start = -1
        for _ in range((nth[0] if nth else 0) + 1):
            start = text.index(surface, start + 1)
        found.append(SpanRecord(start, start + len(surface), label))
    return DocumentRecord(text=text, spans=found)


def conll(records, nlp, **kwargs) -> list[str]:
    return "".join(write_conll(records, nlp, **kwargs)).split("\n")


def read(text: str) -> list[tuple[int, DocumentRecord]]:
    return list(read_conll(text.splitlines(keepends=True)))


def test_entity_before_sentence_final_punctuation_mid_document(nlp):
    lines = conll([record("Officials met in Paris. Officials said so.", ("Paris", "GPE"))], nlp)
    assert lines == [
        "-DOCSTART- -X- O O", "",
        "Officials O", "met O", "in O", "Paris B-GPE", ". O", "",
        "Officials O", "said O", "so O", ". O", "",
        "",
    ]


def test_entity_next_to_hyphen_and_apostrophe(nlp):
    text = "A Paris-based firm sold Toyota's cars."
    lines = conll([record(text, ("Paris", "GPE"), ("Toyota", "ORG"))], nlp)
    # spacy.blank("en") splits "Paris-based" into Paris - based and "Toyota's" into Toyota 's.
    assert lines[2:-2] == [
        "A O", "Paris B-GPE", "- O", "based O", "firm O", "sold O", "Toyota B-ORG", "'s O", "cars O", ". O",
    ]


def test_biluo_scheme(nlp):
    text = "New York and Paris-based Toyota's staff."
    lines = conll([record(text, ("New York", "GPE"), ("Paris", "GPE"), ("Toyota", "ORG"))], nlp, scheme="biluo")
    assert lines[2:-2] == [
        "New B-GPE", "York L-GPE", "and O", "Paris U-GPE", "- O", "based O", "Toyota U-ORG", "'s O", "staff O", ". O",
    ]


def test_overlapping_spans_keep_the_longest_and_count_the_dropped(nlp):
    text = "New York City is big."
    stats = ExportStats()
    rec = record(text, ("York", "ORG"), ("New York City", "GPE"), ("New York", "GPE"))
    lines = conll([rec], nlp, stats=stats)
    assert lines[2:6] == ["New B-GPE", "York I-GPE", "City I-GPE", "is O"]
    assert stats.dropped_overlaps == 2
    assert stats.documents == 1


def test_overlapping_spans_of_equal_length_keep_the_earliest(nlp):
    stats = ExportStats()
    rec = record("Anne Paul Rose came.", ("Paul Rose", "PERSON"), ("Anne Paul", "PERSON"))
    assert conll([rec], nlp, stats=stats)[2:6] == ["Anne B-PERSON", "Paul I-PERSON", "Rose O", "came O"]
    assert stats.dropped_overlaps == 1


def test_emoji_text(nlp):
    text = "Fans 😀 love Paris 🇫🇷! Then they left."
    lines = conll([record(text, ("Paris", "GPE"), ("🇫🇷", "FLAG"))], nlp)
    assert lines == [
        "-DOCSTART- -X- O O", "",
        "Fans O", "😀 O", "love O", "Paris B-GPE", "🇫 B-FLAG", "🇷 I-FLAG", "! O", "",
        "Then O", "they O", "left O", ". O", "",
        "",
    ]
    [(_, back)] = read("\n".join(lines))
    assert [(back.text[s.start:s.end], s.label) for s in back.spans] == [("Paris", "GPE"), ("🇫 🇷", "FLAG")]


def test_cjk_text_with_the_chinese_character_segmenter(nlp_zh):
    text = "我爱北京天安门。你好"
    lines = conll([record(text, ("北京", "GPE"), ("天安门", "FAC"))], nlp_zh)
    assert lines == [
        "-DOCSTART- -X- O O", "",
        "我 O", "爱 O", "北 B-GPE", "京 I-GPE", "天 B-FAC", "安 I-FAC", "门 I-FAC", "。 O", "",
        "你 O", "好 O", "",
        "",
    ]


def test_whitespace_tokens_are_left_out_and_line_breaks_end_sentences(nlp):
    text = "New  York\tis big\n\nno full stop here\nEnd"
    lines = conll([record(text, ("New  York", "GPE"))], nlp)
    assert lines == [
        "-DOCSTART- -X- O O", "",
        "New B-GPE", "York I-GPE", "is O", "big O", "",
        "no O", "full O", "stop O", "here O", "",
        "End O", "",
        "",
    ]


def test_no_sentence_break_inside_an_entity(nlp):
    lines = conll([record("Yahoo! Inc. bought it.", ("Yahoo! Inc.", "ORG"))], nlp)
    assert lines[2:-2] == ["Yahoo B-ORG", "! I-ORG", "Inc. I-ORG", "bought O", "it O", ". O"]


def test_each_document_starts_with_docstart(nlp):
    lines = conll([record("Paris.", ("Paris", "GPE")), record("Rome.", ("Rome", "GPE"))], nlp)
    assert lines == [
        "-DOCSTART- -X- O O", "", "Paris B-GPE", ". O", "",
        "-DOCSTART- -X- O O", "", "Rome B-GPE", ". O", "",
        "",
    ]


def test_span_off_token_boundaries_is_an_error_not_a_shift(nlp):
    rec = DocumentRecord(text="A Paris-based firm.", spans=[SpanRecord(2, 6, "GPE")], id=42)
    with pytest.raises(ValueError, match=r"document 42: span 0 2-6 GPE \('Pari'\) does not start and end on token"):
        list(write_conll([rec], nlp))


def test_span_over_whitespace_only_is_an_error(nlp):
    rec = DocumentRecord(text="a  b", spans=[SpanRecord(2, 3, "X")])
    with pytest.raises(ValueError, match="covers only whitespace"):
        list(write_conll([rec], nlp))


def test_unknown_scheme_is_refused(nlp):
    with pytest.raises(ValueError, match="iob2 or biluo"):
        list(write_conll([], nlp, scheme="iob1"))


# --- reading -------------------------------------------------------------------------

IOB1_SAMPLE = """\
-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER
"""


def test_reads_iob1_with_four_columns():
    [(line, doc)] = read(IOB1_SAMPLE)
    assert line == 3
    assert doc.text == "EU rejects German call .\nPeter Blackburn"
    assert [(doc.text[s.start:s.end], s.label) for s in doc.spans] == [
        ("EU", "ORG"), ("German", "MISC"), ("Peter Blackburn", "PER"),
    ]


def test_reads_iob1_b_tag_between_two_entities_of_one_type():
    [(_, doc)] = read("Paris I-LOC\nRome B-LOC\nand O\nBerlin I-LOC\n")
    assert [doc.text[s.start:s.end] for s in doc.spans] == ["Paris", "Rome", "Berlin"]


def test_reads_iob2_biluo_and_iobes_alike():
    texts = [
        "New B-GPE\nYork I-GPE\nand O\nRome B-GPE\n",
        "New B-GPE\nYork L-GPE\nand O\nRome U-GPE\n",
        "New B-GPE\nYork E-GPE\nand O\nRome S-GPE\n",
    ]
    for text in texts:
        [(_, doc)] = read(text)
        assert doc.text == "New York and Rome"
        assert doc.spans == [SpanRecord(0, 8, "GPE"), SpanRecord(13, 17, "GPE")]


def test_reads_one_column_as_tokens_without_entities():
    [(_, doc)] = read("Hello\nworld\n\nBye\n")
    assert doc.text == "Hello world\nBye"
    assert doc.spans == []


def test_without_docstart_the_file_is_one_document_and_docstart_splits():
    assert len(read("a O\n\nb O\n\nc O\n")) == 1
    docs = read("-DOCSTART- -X- O O\n\na O\n\n-DOCSTART- -X- O O\n-DOCSTART- -X- O O\n\nb B-X\n")
    assert [(line, doc.text) for line, doc in docs] == [(3, "a"), (8, "b")]


def test_offsets_are_code_points():
    [(_, doc)] = read("😀 O\ne\u0301t\u00e9 B-X\n北京 B-GPE\n")
    assert doc.text == "😀 e\u0301t\u00e9 北京"
    assert [doc.text[s.start:s.end] for s in doc.spans] == ["e\u0301t\u00e9", "北京"]
    assert doc.spans[0] == SpanRecord(2, 6, "X")


def test_byte_order_mark_and_crlf_are_ignored():
    [(_, doc)] = read("\ufeff-DOCSTART- -X- O O\r\n\r\nParis B-GPE\r\n")
    assert doc.text == "Paris" and doc.spans == [SpanRecord(0, 5, "GPE")]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a O\nb X-PER\n", 2, "tag 'X-PER' is not O or a B-, I-, L-, U-, E- or S- prefix"),
        ("a O\nb PER\n", 2, "the last column must be the entity tag"),
        ("a O\nb B-\n", 2, "tag 'B-' is not"),
        # BILUO: L- without B-, and a B- that is never closed.
        ("a U-X\nb O\nc L-PER\n", 3, "L-PER does not continue an entity; start it with B-PER (BILUO)"),
        ("a U-X\nb B-PER\nc O\n", 3, "O follows an open PER entity; close it with L-PER"),
        ("a U-X\nb B-PER\n\nc O\n", 2, "the PER entity is not closed by L-PER before the sentence ends"),
        # B- after O is IOB2, so the stray I- is an error, not IOB1.
        ("a B-X\nb O\nc I-PER\n", 3, "I-PER does not continue an entity of type PER; start the entity with B-PER (IOB2"),
    ],
)
def test_bad_tags_name_the_line(text, line, message):
    with pytest.raises(FormatError) as caught:
        read(text)
    assert caught.value.line == line
    assert message in caught.value.message


def test_error_in_a_later_document_names_the_line_in_the_file():
    text = "-DOCSTART- -X- O O\n\na B-X\n\n-DOCSTART- -X- O O\n\nb O\nc L-X\n"
    with pytest.raises(FormatError) as caught:
        read(text)
    assert caught.value.line == 8


# --- round trips ------------------------------------------------------------------------

OUR_STYLE = """\
-DOCSTART- -X- O O

Officials O
met O
in O
Paris B-GPE
. O

Officials O
from O
a O
Paris B-GPE
- O
based O
firm O
sold O
Toyota B-ORG
's O
cars O
to O
the O
U.S. B-ORG
Army I-ORG
! O

-DOCSTART- -X- O O

Barack B-PERSON
Obama I-PERSON
visited O
New B-GPE
York I-GPE
City I-GPE
on O
Monday O

Then O
he O
left O
( O
quietly O
) O
. O

"""


def test_conll_import_then_export_gives_the_same_file(nlp):
    records = [doc for _, doc in read(OUR_STYLE)]
    assert "".join(write_conll(records, nlp)) == OUR_STYLE


def test_export_then_import_keeps_entities(nlp):
    text = "Officials met in Paris. A Paris-based firm sold Toyota's cars to the U.S. Army!\nNew York City"
    rec = record(text, ("Paris", "GPE"), ("Paris", "GPE", 1), ("Toyota", "ORG"), ("New York City", "GPE"))
    [(_, back)] = read("".join(write_conll([rec], nlp)))
    assert [(back.text[s.start:s.end], s.label) for s in back.spans] == [
        ("Paris", "GPE"), ("Paris", "GPE"), ("Toyota", "ORG"), ("New York City", "GPE"),
    ]


def test_writer_output_feeds_the_reader_line_by_line(nlp):
    pieces = list(write_conll([record("Rome.", ("Rome", "GPE")), record("Oslo.")], nlp))
    assert len(pieces) == 2 and all(piece.endswith("\n\n") for piece in pieces)  # one per document
    [(line, doc), _] = read_conll("".join(pieces).splitlines(keepends=True))
    assert (line, doc.text, doc.spans) == (3, "Rome .", [SpanRecord(0, 4, "GPE")])
