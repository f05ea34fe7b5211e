"""doccano JSONL (sequence labelling export): one document per line.

    {"text": "Rebels took Aleppo.", "label": [[12, 18, "GPE"]]}
    {"text": "HTS leads.", "entities": [{"id": 1, "start_offset": 0, "end_offset": 3, "label": "ORG"}], "relations": []}

Offsets are code points into ``text`` (end exclusive). ``label`` (or the
older ``labels``, and ``data`` for ``text``) holds ``[start, end, "LABEL"]``
triples; projects with relations export ``entities`` and ``relations``
(``{"from_id", "to_id", "type"}`` naming entity ids). Every other key goes to
``meta``, as doccano does on import. A line with ``"label": []`` is an
annotated document with no entity; one with no label key is not annotated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from exports.formats.jsonl import read_json_lines
from exports.records import DocumentRecord

_KNOWN_KEYS = {"text", "data", "label", "labels", "entities", "relations", "meta"}


def read_doccano(lines: Iterable[str]) -> Iterator[tuple[int, DocumentRecord]]:
    return read_json_lines(lines, _to_jsonl)


def _to_jsonl(obj: object) -> dict:
    """The same document in our jsonl shape, for ``parse_document`` to check."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    meta = obj.get("meta") or {}
    if isinstance(meta, dict):  # anything else is left for parse_document to report
        meta = {**meta, **{key: value for key, value in obj.items() if key not in _KNOWN_KEYS}}
    label_key = "label" if "label" in obj else "labels"
    triples = obj.get(label_key) or []
    entities = obj.get("entities") or []
    if triples and entities:
        raise ValueError(f'has both "{label_key}" and "entities"; keep one of them')
    if not isinstance(triples, list) or not isinstance(entities, list):
        raise ValueError(f'"{label_key}" and "entities" must be lists')
    spans = [_triple(label_key, i, t) for i, t in enumerate(triples)]
    ids: dict[object, int] = {}
    for i, entity in enumerate(entities):
        if not isinstance(entity, dict):
            raise ValueError(f"entities[{i}] must be an object")
        ids.setdefault(entity.get("id"), len(spans))
        start, end = entity.get("start_offset"), entity.get("end_offset")
        spans.append({"start": start, "end": end, "label": entity.get("label")})
    relations = obj.get("relations") or []
    if not isinstance(relations, list):
        raise ValueError('"relations" must be a list')
    converted = {"text": obj.get("text", obj.get("data")), "meta": meta,
                 "relations": [_relation(i, r, ids) for i, r in enumerate(relations)]}
    if any(obj.get(key) is not None for key in ("label", "labels", "entities")):
        converted["spans"] = spans  # an empty list too: annotated, with no entity
    return converted


def _triple(key: str, i: int, triple: object) -> dict:
    if not (isinstance(triple, list) and len(triple) == 3):
        raise ValueError(f'{key}[{i}] must be [start, end, "LABEL"] (a sequence labelling export)')
    return {"start": triple[0], "end": triple[1], "label": triple[2]}


def _relation(i: int, relation: object, ids: dict) -> dict:
    if not isinstance(relation, dict):
        raise ValueError(f"relations[{i}] must be an object")
    ends = []
    for key in ("from_id", "to_id"):
        if relation.get(key) not in ids:
            raise ValueError(f'relations[{i}]: {key} {relation.get(key)!r} is not the "id" of an entity on this line')
        ends.append(ids[relation[key]])
    return {"head": ends[0], "tail": ends[1], "label": relation.get("type")}
