"""JSON Lines writer and reader: keys in a fixed order, provenance kept."""

from __future__ import annotations

import json

from exports.formats.jsonl import read_jsonl, write_jsonl
from exports.records import DocumentRecord, RelationRecord, SpanRecord

GOLD = DocumentRecord(text="Assad’s allies 🇷🇺 Russia and Iran.", meta={"n": 2},
                      spans=[SpanRecord(18, 24, "GPE"), SpanRecord(29, 33, "GPE")],
                      relations=[RelationRecord(0, 1, "near")], id=7, annotator="rev", adopted_from="ann")


def test_keys_come_in_a_fixed_order_with_provenance_last():
    [line] = write_jsonl([GOLD])
    assert line == ('{"id": 7, "text": "Assad’s allies 🇷🇺 Russia and Iran.", "meta": {"n": 2}, '
                    '"spans": [{"start": 18, "end": 24, "label": "GPE"}, {"start": 29, "end": 33, "label": "GPE"}], '
                    '"relations": [{"head": 0, "tail": 1, "label": "near"}], "annotator": "rev", '
                    '"adopted_from": "ann"}\n')


def test_keys_without_a_value_are_left_out():
    [line] = write_jsonl([DocumentRecord(text="Homs.", id=1, annotator="rev")])
    assert list(json.loads(line)) == ["id", "text", "meta", "spans", "relations", "annotator"]
    [line] = write_jsonl([DocumentRecord(text="Homs.")])
    assert list(json.loads(line)) == ["text", "meta", "spans", "relations"]


def test_reading_an_export_keeps_id_annotator_and_adopted_from():
    assert [record for _, record in read_jsonl(write_jsonl([GOLD]))] == [GOLD]
    [(_, record)] = read_jsonl(['{"text": "Homs.", "annotator": 3, "adopted_from": ["x"]}'])
    assert (record.annotator, record.adopted_from) == (None, None)  # not names: dropped
