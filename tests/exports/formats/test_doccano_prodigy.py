"""doccano and Prodigy JSONL readers."""

from __future__ import annotations

import json

import pytest

from exports.formats.doccano import read_doccano
from exports.formats.prodigy import read_prodigy
from exports.records import DocumentRecord, FormatError, RelationRecord, SpanRecord


def lines(*objects) -> list[str]:
    return [json.dumps(o, ensure_ascii=False) + "\n" if not isinstance(o, str) else o for o in objects]


# --- doccano ------------------------------------------------------------------------


def test_doccano_label_triples():
    docs = list(read_doccano(lines(
        {"id": 12, "text": "Rebels took Aleppo 😀 and Homs.", "label": [[12, 18, "GPE"], [25, 29, "GPE"]], "Comments": []},
        "\n",
        {"text": "Nothing here.", "label": []},
    )))
    assert docs == [
        (1, DocumentRecord(
            text="Rebels took Aleppo 😀 and Homs.",
            meta={"id": 12, "Comments": []},  # every other key goes to meta, as doccano does on import
            spans=[SpanRecord(12, 18, "GPE"), SpanRecord(25, 29, "GPE")],
        )),
        (3, DocumentRecord(text="Nothing here.")),
    ]


def test_doccano_older_keys_data_and_labels():
    [(_, doc)] = read_doccano(lines({"data": "東京都渋谷区", "labels": [[0, 3, "LOC"]], "meta": {"src": "x"}}))
    assert doc == DocumentRecord(text="東京都渋谷区", meta={"src": "x"}, spans=[SpanRecord(0, 3, "LOC")])


def test_doccano_entities_and_relations():
    obj = {
        "id": 6400,
        "text": "HTS took Aleppo.",
        "entities": [
            {"id": 1662, "label": "ORG", "start_offset": 0, "end_offset": 3},
            {"id": 1663, "label": "GPE", "start_offset": 9, "end_offset": 15},
        ],
        "relations": [{"id": 273, "from_id": 1662, "to_id": 1663, "type": "took"}],
    }
    [(_, doc)] = read_doccano(lines(obj))
    assert doc.spans == [SpanRecord(0, 3, "ORG"), SpanRecord(9, 15, "GPE")]
    assert doc.relations == [RelationRecord(0, 1, "took")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "abc", "label": [[0, 9, "X"]]}', "spans[0]: offsets 0-9 must satisfy 0 <= start < end <= 3"),
        ('{"text": "abc", "label": ["positive"]}', 'label[0] must be [start, end, "LABEL"] (a sequence labelling export)'),
        ('{"text": "abc", "label": [[0, 1, ""]]}', '"label" must be a non-empty string'),
        ('{"text": "abc", "entities": [{"id": 1, "start_offset": 0, "end_offset": 1, "label": "X"}],'
         ' "relations": [{"from_id": 1, "to_id": 2, "type": "r"}]}', 'to_id 2 is not the "id" of an entity'),
        ('{"text": "abc", "label": [[0, 1, "X"]], "entities": [{"id": 1}]}', 'has both "label" and "entities"'),
        ('{"text": "abc", "meta": "x"}', '"meta" must be an object'),
        ('{"text": 3}', '"text" must be a string'),
        ("[1, 2]", "expected a JSON object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_doccano_errors_name_the_line(line, message):
    with pytest.raises(FormatError) as caught:
        list(read_doccano(['{"text": "fine"}\n', "\n", line + "\n"]))
    assert caught.value.line == 3
    assert message in caught.value.message


# --- Prodigy ------------------------------------------------------------------------


def test_prodigy_spans_meta_and_skipped_answers():
    docs = list(read_prodigy(lines(
        {
            "text": "Rebels took Aleppo.",
            "tokens": [{"text": "Rebels", "start": 0, "end": 6, "id": 0}],
            "spans": [{"start": 12, "end": 18, "label": "GPE", "token_start": 2, "token_end": 2}],
            "meta": {"source": "bbc"},
            "_input_hash": 1, "_task_hash": 2, "answer": "accept",
        },
        {"text": "Wrong one.", "spans": [{"start": 0, "end": 5, "label": "X"}], "answer": "reject"},
        {"text": "Unclear.", "spans": [], "answer": "ignore"},
        {"text": "No answer key is kept."},
    )))
    tokens_set_aside = ("tokens: the text after the last token (' took Aleppo.') is not whitespace; every "
                        "character must belong to a token; the file's tokens are set aside")
    assert docs == [
        (1, DocumentRecord(text="Rebels took Aleppo.", meta={"source": "bbc"}, spans=[SpanRecord(12, 18, "GPE")],
                           warnings=[tokens_set_aside])),
        (4, DocumentRecord(text="No answer key is kept.", annotated=False)),  # no "spans": not annotated
    ]


def test_prodigy_relations_map_to_span_indices():
    obj = {
        "text": "HTS took Aleppo.",
        "spans": [{"start": 0, "end": 3, "label": "ORG"}, {"start": 9, "end": 15, "label": "GPE"}],
        "relations": [{
            "head": 0, "child": 2, "label": "took",
            "head_span": {"start": 0, "end": 3, "token_start": 0, "token_end": 0, "label": "ORG"},
            "child_span": {"start": 9, "end": 15, "token_start": 2, "token_end": 2, "label": "GPE"},
        }],
        "answer": "accept",
    }
    [(_, doc)] = read_prodigy(lines(obj))
    assert doc.relations == [RelationRecord(0, 1, "took")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "abc", "spans": [{"start": 2, "end": 1, "label": "X"}]}', "offsets 2-1 must satisfy"),
        ('{"text": "abc", "spans": [{"start": 0, "end": 1}]}', '"label" must be a non-empty string'),
        ('{"text": "abc", "spans": [[0, 1, "X"]]}', '"spans" must be a list of {"start", "end", "label"} objects'),
        ('{"text": "abc", "spans": [], "relations": [{"head": 0, "child": 1, "label": "r"}]}', 'needs "head_span"'),
        ('{"text": "abc", "spans": [], "relations": [{"label": "r", "head_span": {"start": 0, "end": 1},'
         ' "child_span": {"start": 1, "end": 2}}]}', 'head_span 0-1 is not one of "spans"'),
        ('{"text": 5}', '"text" must be a string'),
    ],
)
def test_prodigy_errors_name_the_line(line, message):
    with pytest.raises(FormatError) as caught:
        list(read_prodigy(['{"text": "fine"}\n', line + "\n"]))
    assert caught.value.line == 2
    assert message in caught.value.message
