"""JSON Lines, the lossless format: one document per line.

    {"text": "Rebels took Aleppo.", "meta": {"src": "cnn"}, "spans": [{"start": 12, "end": 18, "label": "GPE"}]}
    {"text": "HTS leads them.", "spans": [{"start": 0, "end": 3, "label": "ORG"}], "relations": []}

``start``/``end`` are code point offsets into ``text`` (end exclusive);
relation ``head``/``tail`` are indices into that line's ``spans``. Exports add
``id`` and ``annotator`` (whose annotation; for gold, who last saved it), and
``adopted_from`` on gold that is an annotator's annotation adopted as it was:

    {"id": 7, "text": "HTS leads.", "meta": {}, "spans": [], "relations": [], "annotator": "rev", "adopted_from": "ann"}

The reader accepts and keeps them (imports ignore them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

from exports.records import DocumentRecord, FormatError, RelationRecord, SpanRecord


def read_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, DocumentRecord]]:
    return read_json_lines(lines, lambda obj: obj)


def read_json_lines(lines: Iterable[str], to_jsonl: Callable[[object], object | None]
                    ) -> Iterator[tuple[int, DocumentRecord]]:
    """The line loop of every JSON Lines reader: decode, convert to our shape, check.

    ``to_jsonl`` turns one decoded line into this module's shape (None skips the
    line); a ValueError it or ``parse_document`` raises becomes a FormatError on that line.
    """
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FormatError(line_no, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        try:
            converted = to_jsonl(obj)
            if converted is not None:
                yield line_no, parse_document(converted)
        except ValueError as exc:
            raise FormatError(line_no, str(exc)) from None


def parse_document(obj: object) -> DocumentRecord:
    """Check one decoded JSON object and turn it into a record; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    text = obj.get("text")
    if not isinstance(text, str):
        raise ValueError('"text" must be a string')
    if not text.strip():
        raise ValueError('"text" is empty')
    meta = obj.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError('"meta" must be an object')
    spans = [_parse_span(i, s, len(text)) for i, s in enumerate(_list(obj, "spans"))]
    relations = [_parse_relation(i, r, len(spans)) for i, r in enumerate(_list(obj, "relations"))]
    doc_id = obj.get("id")
    annotator, adopted_from = obj.get("annotator"), obj.get("adopted_from")
    return DocumentRecord(
        text=text,
        meta=meta,
        spans=spans,
        relations=relations,
        id=doc_id if isinstance(doc_id, int) and not isinstance(doc_id, bool) else None,
        annotator=annotator if isinstance(annotator, str) else None,
        adopted_from=adopted_from if isinstance(adopted_from, str) else None,
    )


def write_jsonl(records: Iterable[DocumentRecord]) -> Iterator[str]:
    """One line per record, keys in a fixed order so equal data gives equal bytes."""
    for record in records:
        obj = {}
        if record.id is not None:
            obj["id"] = record.id
        obj["text"] = record.text
        obj["meta"] = record.meta
        obj["spans"] = [{"start": s.start, "end": s.end, "label": s.label} for s in record.spans]
        obj["relations"] = [{"head": r.head, "tail": r.tail, "label": r.label} for r in record.relations]
        if record.annotator is not None:
            obj["annotator"] = record.annotator
        if record.adopted_from is not None:
            obj["adopted_from"] = record.adopted_from
        yield json.dumps(obj, ensure_ascii=False) + "\n"


def _list(obj: dict, key: str) -> list:
    value = obj.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f'"{key}" must be a list')
    return value


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_span(i: int, span: object, text_length: int) -> SpanRecord:
    if not isinstance(span, dict):
        raise ValueError(f"spans[{i}] must be an object")
    start, end, label = span.get("start"), span.get("end"), span.get("label")
    if not (_int(start) and _int(end)):
        raise ValueError(f'spans[{i}]: "start" and "end" must be integers')
    if not isinstance(label, str) or not label:
        raise ValueError(f'spans[{i}]: "label" must be a non-empty string')
    if not 0 <= start < end <= text_length:
        raise ValueError(
            f"spans[{i}]: offsets {start}-{end} must satisfy 0 <= start < end <= {text_length} (text length)"
        )
    return SpanRecord(start, end, label)


def _parse_relation(i: int, relation: object, span_count: int) -> RelationRecord:
    if not isinstance(relation, dict):
        raise ValueError(f"relations[{i}] must be an object")
    head, tail, label = relation.get("head"), relation.get("tail"), relation.get("label")
    if not (_int(head) and _int(tail)):
        raise ValueError(f'relations[{i}]: "head" and "tail" must be span indices (integers)')
    for name, index in (("head", head), ("tail", tail)):
        if not 0 <= index < span_count:
            raise ValueError(f"relations[{i}]: {name} {index} is not an index into spans (0..{span_count - 1})")
    if head == tail:
        raise ValueError(f"relations[{i}]: head and tail are the same span")
    if not isinstance(label, str) or not label:
        raise ValueError(f'relations[{i}]: "label" must be a non-empty string')
    return RelationRecord(head, tail, label)
