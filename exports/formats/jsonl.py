"""JSON Lines, the lossless format: one document per line.

    {"text": "Rebels took Aleppo.", "meta": {"src": "cnn"}, "spans": [{"start": 12, "end": 18, "label": "GPE"}]}
    {"text": "HTS leads them.", "spans": [{"start": 0, "end": 3, "label": "ORG"}], "relations": []}

``start``/``end`` are code point offsets into ``text`` (end exclusive);
relation ``head``/``tail`` are indices into that line's ``spans``. A line with
``"spans"`` (an empty list too) is an annotated document; without, it is
stored unlabelled. Exports add ``id`` and ``annotator`` (whose annotation; for
gold, who last saved it), and ``adopted_from`` on gold that is an annotator's
annotation adopted as it was:

    {"id": 7, "text": "HTS leads.", "meta": {}, "spans": [], "relations": [], "annotator": "rev", "adopted_from": "ann"}

The reader accepts and keeps them (imports ignore them). Documents whose
tokens came from a file carry them as Prodigy does (``"tokens": [{"text",
"start", "end", "id", "ws"}]``) and, when the file gave sentences,
``"sentence_starts"``: the indices of the tokens that start one. The reader
keeps both as the document's own tokens.

An exact duplicate span (same offsets and label) or relation is kept once,
with a warning on the record; a relation between a span and its own
duplicate is an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

from exports.records import DocumentRecord, FormatError, RelationRecord, SpanRecord
from projects import token_columns


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
        except RecursionError:
            raise FormatError(line_no, "the JSON is nested too deeply to read") from None
        try:
            converted = to_jsonl(obj)
            if converted is not None:
                yield line_no, parse_document(converted)
        except ValueError as exc:
            raise FormatError(line_no, str(exc)) from None


def parse_document(obj: object) -> DocumentRecord:
    """Check one decoded JSON object and turn it into a record; ValueError says what is wrong.

    A blank ``text`` is let through (the import skips it, with a warning).
    """
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    text = obj.get("text")
    if not isinstance(text, str):
        raise ValueError('"text" must be a string')
    meta = obj.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError('"meta" must be an object')
    warnings: list[str] = []
    spans, index_of = _unique_spans(_parse_spans(_list(obj, "spans"), len(text)), warnings)
    relations = _unique_relations([_parse_relation(i, r, len(index_of)) for i, r in enumerate(_list(obj, "relations"))],
                                  index_of, warnings)
    doc_id = obj.get("id")
    annotator, adopted_from = obj.get("annotator"), obj.get("adopted_from")
    return DocumentRecord(
        text=text,
        meta=meta,
        spans=spans,
        relations=relations,
        id=doc_id if isinstance(doc_id, int) and not isinstance(doc_id, bool) else None,
        annotator=annotator if isinstance(annotator, str) else None,
        tokens=_parse_tokens(obj, text, warnings),
        annotated=obj.get("spans") is not None,
        warnings=warnings,
        adopted_from=adopted_from if isinstance(adopted_from, str) else None,
    )


def _unique_spans(spans: list[SpanRecord], warnings: list[str]) -> tuple[list[SpanRecord], list[int]]:
    """The spans with exact duplicates left out, and for each given span the index of the one kept."""
    if len({(span.start, span.end, span.label) for span in spans}) == len(spans):  # none repeats: most lines
        return spans, list(range(len(spans)))
    kept: list[SpanRecord] = []
    first: dict[SpanRecord, int] = {}
    index_of = []
    for i, span in enumerate(spans):
        if span in first:
            warnings.append(f"spans[{i}] ({span.start}-{span.end} {span.label}) repeats spans[{first[span]}]; "
                            "kept once")
            index_of.append(index_of[first[span]])
            continue
        first[span] = i
        index_of.append(len(kept))
        kept.append(span)
    return kept, index_of


def _unique_relations(relations: list[RelationRecord], index_of: list[int],
                      warnings: list[str]) -> list[RelationRecord]:
    """The relations pointed at the spans kept, exact duplicates left out."""
    kept: list[RelationRecord] = []
    seen: dict[RelationRecord, int] = {}
    for i, given in enumerate(relations):
        relation = RelationRecord(index_of[given.head], index_of[given.tail], given.label)
        if relation.head == relation.tail:
            raise ValueError(f"relations[{i}]: head {given.head} and tail {given.tail} are the same span given twice")
        if relation in seen:
            warnings.append(f"relations[{i}] ({given.label}) repeats relations[{seen[relation]}]; kept once")
            continue
        seen[relation] = i
        kept.append(relation)
    return kept


def _parse_tokens(obj: dict, text: str, warnings: list[str]) -> bytes | None:
    """The line's own tokens (Prodigy's ``tokens``, with our ``sentence_starts``), packed; None without.

    Tokens that do not fit the text (one that says other text than the text has
    there, a gap of non-space text, a list that stops short) are set aside with
    a warning: the project's tokenizer then tokenizes, and the spans are checked
    against its tokens instead.
    """
    tokens = obj.get("tokens")
    starts = obj.get("sentence_starts")
    if tokens is None:
        if starts is not None:
            raise ValueError('"sentence_starts" needs "tokens"')
        return None
    if not isinstance(tokens, list):
        raise ValueError('"tokens" must be a list of {"start", "end"} objects')
    offsets = []
    for i, token in enumerate(tokens):
        if not isinstance(token, dict) or not (_int(token.get("start")) and _int(token.get("end"))):
            raise ValueError(f'tokens[{i}] must be an object with integer "start" and "end"')
        start, end = token["start"], token["end"]
        if "text" in token and text[start:end] != token["text"]:
            warnings.append(f"tokens[{i}]: {token['text']!r} is not what the text has at {start}-{end} "
                            f"({text[start:end]!r}); the file's tokens are set aside")
            return None
        offsets.append((start, end))
    sentences = None
    if starts is not None:
        if not isinstance(starts, list) or not all(_int(i) and 0 <= i < len(tokens) for i in starts):
            raise ValueError(f'"sentence_starts" must be a list of token indices (0..{len(tokens) - 1})')
        sentences = [-1] * len(tokens)
        for i in starts:
            sentences[i] = 1
    try:
        return token_columns.pack_words(text, offsets, sentences)
    except ValueError as exc:
        warnings.append(f"tokens: {exc}; the file's tokens are set aside")
        return None


def token_objects(record: DocumentRecord) -> tuple[list[dict], list[int] | None] | None:
    """A record's own tokens as Prodigy writes them, and the tokens that start sentences (None when
    unknown); None when the record has no tokens from a file."""
    columns = token_columns.file_columns(record.tokens, record.text)
    if columns is None:
        return None
    text = record.text
    tokens = [{"text": text[s:e], "start": s, "end": e, "id": i, "ws": bool(flag & token_columns.SPACY_AFTER)}
              for i, (s, e, flag) in enumerate(zip(columns.starts, columns.ends, columns.flags))]
    sentences = columns.sentence_starts()
    return tokens, None if sentences is None else [i for i, value in enumerate(sentences) if value == 1]


def write_jsonl(records: Iterable[DocumentRecord]) -> Iterator[str]:
    """One line per record, keys in a fixed order so equal data gives equal bytes."""
    for record in records:
        obj = {}
        if record.id is not None:
            obj["id"] = record.id
        obj["text"] = record.text
        obj["meta"] = record.meta
        if record.annotated:
            obj["spans"] = [{"start": s.start, "end": s.end, "label": s.label} for s in record.spans]
            obj["relations"] = [{"head": r.head, "tail": r.tail, "label": r.label} for r in record.relations]
        own = token_objects(record) if record.tokens is not None else None
        if own is not None:
            obj["tokens"], sentence_starts = own
            if sentence_starts is not None:
                obj["sentence_starts"] = sentence_starts
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


def _parse_spans(spans: list, text_length: int) -> list[SpanRecord]:
    """``_parse_span`` of each; a span of plain JSON values that is right takes the short way."""
    parsed = []
    for i, span in enumerate(spans):
        if type(span) is dict:
            start, end, label = span.get("start"), span.get("end"), span.get("label")
            if type(start) is int and type(end) is int and type(label) is str and label \
                    and 0 <= start < end <= text_length:
                parsed.append(SpanRecord(start, end, label))
                continue
        parsed.append(_parse_span(i, span, text_length))  # which says what is wrong, if anything is
    return parsed


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
