"""Prodigy JSONL (``ner.manual`` / ``db-out``): one annotated task per line.

    {"text": "Rebels took Aleppo.", "spans": [{"start": 12, "end": 18, "label": "GPE", "token_start": 2}], "answer": "accept"}
    {"text": "HTS leads.", "spans": [], "meta": {"source": "bbc"}, "answer": "reject"}

Offsets are code points into ``text`` (end exclusive). ``tokens`` are kept as
the document's own tokens (spans must start and end on them; the token
indices of spans are not needed), ``meta`` is kept, other keys
(``_input_hash``, ``_view_id``...) are dropped. An accepted task is an
annotated document whether or not it has ``spans`` (Prodigy leaves the key out
when nothing was highlighted: most real training sets are mostly such
documents); a line with no ``answer`` is annotated when it has ``spans``. Lines answered ``reject`` or
``ignore`` are skipped: the annotator said the suggestion is wrong or unusable,
so their spans are not annotations. ``relations`` (``rel.manual``) are kept
when their ``head_span`` and ``child_span`` are among ``spans``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from exports.formats.jsonl import read_json_lines
from exports.records import DocumentRecord

SKIPPED_ANSWERS = ("reject", "ignore")


def read_prodigy(lines: Iterable[str]) -> Iterator[tuple[int, DocumentRecord]]:
    return read_json_lines(lines, _unless_skipped)


def _unless_skipped(obj: object) -> dict | None:
    if isinstance(obj, dict) and obj.get("answer") in SKIPPED_ANSWERS:
        return None
    return _to_jsonl(obj)


def _to_jsonl(obj: object) -> dict:
    """The same document in our jsonl shape, for ``parse_document`` to check."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    spans = obj.get("spans")
    if spans is not None and (not isinstance(spans, list) or not all(isinstance(s, dict) for s in spans)):
        raise ValueError('"spans" must be a list of {"start", "end", "label"} objects')
    relations = obj.get("relations") or []
    if not isinstance(relations, list):
        raise ValueError('"relations" must be a list')
    converted = {"text": obj.get("text"), "meta": obj.get("meta"), "tokens": obj.get("tokens")}
    if spans is not None or obj.get("answer") == "accept":
        converted["spans"] = [{"start": s.get("start"), "end": s.get("end"), "label": s.get("label")}
                              for s in spans or ()]
    converted["relations"] = [_relation(i, r, spans or []) for i, r in enumerate(relations)]
    return converted


def _relation(i: int, relation: object, spans: list[dict]) -> dict:
    if not isinstance(relation, dict):
        raise ValueError(f"relations[{i}] must be an object")
    ends = []
    for key in ("head_span", "child_span"):
        end = relation.get(key)
        if not isinstance(end, dict):
            raise ValueError(f'relations[{i}] needs "{key}" with "start" and "end"')
        index = next(
            (n for n, s in enumerate(spans) if (s.get("start"), s.get("end")) == (end.get("start"), end.get("end"))),
            None,
        )
        if index is None:
            raise ValueError(
                f'relations[{i}]: {key} {end.get("start")}-{end.get("end")} is not one of "spans"; '
                "add it to spans or remove the relation"
            )
        ends.append(index)
    return {"head": ends[0], "tail": ends[1], "label": relation.get("label")}
