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


def read(text: str, **options) -> list[tuple[int, DocumentRecord]]:
    return list(read_conll(text.splitlines(keepends=True), **options))


def entities(doc: DocumentRecord) -> list[tuple[str, str]]:
    return [(doc.text[s.start:s.end], s.label) for s in doc.spans]


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


def test_reads_one_column_as_tokens_of_a_document_that_is_not_annotated():
    [(_, doc)] = read("Hello\nworld\n\nBye\n", documents="docstart")
    assert doc.text == "Hello world\nBye"
    assert doc.spans == [] and doc.annotated is False


def test_a_document_with_tags_all_o_is_annotated_and_one_of_only_tokens_is_not():
    docs = read("-DOCSTART-\n\nHello O\nworld O\n\n-DOCSTART-\n\nBye\nnow\n\n-DOCSTART-\n\nSee\nyou O\n")
    assert [(doc.text, doc.annotated) for _, doc in docs] == [("Hello world", True), ("Bye now", False),
                                                             ("See you", True)]


def test_without_docstart_each_sentence_is_a_document_unless_docstart_is_asked():
    text = "a O\nb B-X\n\nc O\n\n\nd O\n"
    assert [(line, doc.text) for line, doc in read(text)] == [(1, "a b"), (4, "c"), (7, "d")]
    assert read(text) == read(text, documents="sentence")
    [(line, doc)] = read(text, documents="docstart")
    assert (line, doc.text) == (1, "a b\nc\nd")


def test_docstart_splits_documents_and_sentence_ignores_it():
    text = "-DOCSTART- -X- O O\n\na O\n\n-DOCSTART- -X- O O\n-DOCSTART- -X- O O\n\nb B-X\n\nc O\n"
    expected = [(3, "a"), (8, "b\nc")]
    assert [(line, doc.text) for line, doc in read(text)] == expected
    assert [(line, doc.text) for line, doc in read(text, documents="docstart")] == expected
    assert [(line, doc.text) for line, doc in read(text, documents="sentence")] == [(3, "a"), (8, "b"), (10, "c")]


def test_unknown_documents_option_is_a_value_error_at_once():
    with pytest.raises(ValueError, match="documents must be one of auto, docstart, sentence"):
        read_conll(["a O\n"], documents="paragraph")


def test_reads_a_one_shot_iterator_and_passes_twice_over_a_re_iterable_without_copying_it():
    class Lines:
        """Lines that can be iterated again from the top, as imports.py's _Lines over an uploaded file."""

        def __init__(self, text):
            self.text, self.passes = text, 0

        def __iter__(self):
            self.passes += 1  # once the pass starts
            yield from self.text.splitlines(keepends=True)

    text = "Paris U-LOC\n\nNew B-LOC\nYork L-LOC\n"
    lines = Lines(text)
    assert [entities(doc) for _, doc in read_conll(lines)] == [[("Paris", "LOC")], [("New York", "LOC")]]
    assert lines.passes == 2
    one_shot = (line for line in text.splitlines(keepends=True))
    assert [entities(doc) for _, doc in read_conll(one_shot)] == [[("Paris", "LOC")], [("New York", "LOC")]]


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
        # BILUO (U- tags decide it): L- without B-, and a B- that is never closed.
        ("a U-X\nb O\nc L-PER\n", 3, "L-PER does not continue an entity; start it with B-PER; the file reads as BILUO"),
        ("a U-X\nb U-Y\nc B-PER\nd O\n", 4, "O follows an open PER entity; close it with L-PER; the file reads as BILUO"),
        ("a U-X\nb U-Y\nc B-PER\n\nd O\n", 3,
         "the PER entity is not closed by L-PER before the sentence ends; the file reads as BILUO"),
        # B- after O is IOB2, so the stray I- is an error, not IOB1.
        ("a B-X\nb O\nc I-PER\n", 3,
         "I-PER does not continue an entity of type PER; start the entity with B-PER; the file reads as IOB2"),
        # I- opening entities is IOB1, so the B- after O is the error.
        ("a I-X\nb O\nc I-Y\nd O\ne B-PER\n", 5,
         "B-PER opens an entity, which IOB1 does with I-PER: B- opens one only right after another PER entity; "
         "the file reads as IOB1"),
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


def test_one_stray_s_tag_in_an_iob2_file_names_its_line_and_why_the_file_reads_as_iob2():
    text = ("-DOCSTART- -X- O O\n\nParis B-LOC\nis O\nnice O\n\nAnna B-PER\nKarenina I-PER\n\n"
            "-DOCSTART- -X- O O\n\nBerlin S-LOC\nsleeps O\n")
    with pytest.raises(FormatError) as caught:
        read(text)
    assert caught.value.line == 12
    assert caught.value.message == (
        "S-LOC is not an IOB2 tag; the file reads as IOB2 (6 tags fit it, 1 does not; as BILUO 2, as IOB1 3 would not)"
    )


def test_the_scheme_is_decided_over_the_file_not_the_document():
    # The old per-document guess read the second document as BILUO (its S- tag) and blamed its B-.
    text = "-DOCSTART- -X- O O\n\nRome B-LOC\n\n-DOCSTART- -X- O O\n\nOslo B-LOC\nto O\nBonn S-LOC\n"
    with pytest.raises(FormatError) as caught:
        read(text)
    assert caught.value.line == 9


def test_the_first_wrong_line_of_the_file_is_reported_whatever_its_kind():
    scheme_first = "a B-X\nb O\nc I-X\n\nd PER\n"
    column_first = "a B-X\nb PER\nc I-X\n"
    with pytest.raises(FormatError) as caught:
        read(scheme_first)
    assert caught.value.line == 3
    with pytest.raises(FormatError) as caught:
        read(column_first)
    assert caught.value.line == 2 and "the last column must be the entity tag" in caught.value.message


def test_bioes_tags_read_as_biluo():
    text = ("-DOCSTART- -X- O O\n\nThe O\nNew B-ORG\nYork I-ORG\nTimes E-ORG\nin O\nParis S-LOC\n\n"
            "Anna S-PER\nB. B-PER\nLee E-PER\n")
    [(_, doc)] = read(text)
    assert entities(doc) == [("New York Times", "ORG"), ("Paris", "LOC"), ("Anna", "PER"), ("B. Lee", "PER")]


def test_biluo_file_whose_first_document_has_only_o_tags_reads_as_biluo():
    text = ("-DOCSTART- -X- O O\n\nNothing O\nhere O\n\n-DOCSTART- -X- O O\n\nNew B-GPE\nYork L-GPE\nand O\n"
            "Rome U-GPE\n")
    [(_, first), (_, second)] = read(text)
    assert (first.spans, first.annotated) == ([], True)
    assert entities(second) == [("New York", "GPE"), ("Rome", "GPE")]


CONLL_2003 = """\
-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
to TO B-VP O
boycott VB I-VP O
British JJ B-NP I-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

In IN B-PP O
Germany NNP B-NP I-LOC
France NNP I-NP B-LOC
and CC O O
Italy NNP B-NP I-LOC
, , O O
Jean NNP B-NP I-PER
Paul NNP I-NP I-PER
Pierre NNP I-NP B-PER
Martin NNP I-NP I-PER
spoke VBD B-VP O
. . O O
"""


def test_reads_a_conll_2003_iob1_file_with_four_columns():
    [(line, first), (second_line, second)] = read(CONLL_2003)
    assert (line, second_line) == (3, 18)
    assert first.text == "EU rejects German call to boycott British lamb .\nPeter Blackburn"
    assert entities(first) == [("EU", "ORG"), ("German", "MISC"), ("British", "MISC"), ("Peter Blackburn", "PER")]
    assert entities(second) == [("Germany", "LOC"), ("France", "LOC"), ("Italy", "LOC"), ("Jean Paul", "PER"),
                                ("Pierre Martin", "PER")]


def test_reads_tab_separated_columns_wnut_17_style():
    docs = read("@paul\tO\nsaw\tO\n\nthe\tO\nEmpire\tB-location\nState\tI-location\n"
                "Building\tI-location\n#NYC\tO\n")
    assert [(doc.text, entities(doc)) for _, doc in docs] == [
        ("@paul saw", []), ("the Empire State Building #NYC", [("Empire State Building", "location")]),
    ]


def test_a_tab_separated_token_holding_a_space_names_its_line():
    with pytest.raises(FormatError) as caught:
        read("@paul\tO\nsaw\tO\n\nthe\tO\nEmpire State\tB-location\nBuilding\tI-location\n")
    assert caught.value.line == 5
    assert "the token 'Empire State' holds whitespace" in caught.value.message


def test_tab_separated_crlf_lines_and_a_byte_order_mark():
    [(_, doc)] = read("\ufeffSee\tO\r\nSão\tB-LOC\r\nPaulo\tI-LOC\r\n\r\n")
    assert (doc.text, entities(doc)) == ("See São Paulo", [("São Paulo", "LOC")])


def test_an_empty_token_column_names_its_line():
    with pytest.raises(FormatError) as caught:
        read("a\tO\n\tB-PER\n")
    assert caught.value.line == 2 and "the token (first) column is empty" in caught.value.message


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
