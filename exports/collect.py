"""From the database to plain records, in batches, in constant memory."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from exports.records import DocumentRecord, RelationRecord, SpanRecord
from exports.splits import split_of
from projects.models import Annotation, Project, Relation, Span

SOURCES = ("gold", "submitted")


def annotations_for(project: Project, source: str):
    annotations = Annotation.objects.filter(document__project=project)
    if source == "gold":
        return annotations.filter(is_gold=True)
    if source == "submitted":
        return annotations.filter(is_gold=False, status=Annotation.Status.SUBMITTED)
    raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")


def collect_records(project: Project, *, source: str = "gold", split: str | None = None,
                    batch_size: int = 2000) -> Iterator[DocumentRecord]:
    """Yield one record per (document, annotation) in document order, reading ``batch_size`` rows at a time.

    Three queries in all, each streamed (a server-side cursor on PostgreSQL) in
    the same (document id, annotation id) order: the annotations with their
    documents, their spans and their relations, merged here as they arrive.
    """
    annotations = annotations_for(project, source)
    rows = (
        annotations.order_by("document_id", "id")
        .values_list("id", "document_id", "document__text", "document__meta", "annotator__username")
        .iterator(chunk_size=batch_size)
    )
    spans = (
        Span.objects.filter(annotation__in=annotations)
        .order_by("annotation__document_id", "annotation_id", "start", "end", "id")
        .values_list("annotation__document_id", "annotation_id", "id", "start", "end", "label__name")
        .iterator(chunk_size=batch_size * 8)
    )
    relations = (
        Relation.objects.filter(annotation__in=annotations)
        .order_by("annotation__document_id", "annotation_id", "id")
        .values_list("annotation__document_id", "annotation_id", "head_id", "tail_id", "label__name")
        .iterator(chunk_size=batch_size * 2)
    )
    wanted = None
    if split is not None:
        seed, train, dev = project.split_seed, project.split_train, project.split_dev
        wanted = lambda document_id: split_of(document_id, seed, train, dev) == split  # noqa: E731
    span_rows, relation_rows = _grouped(spans), _grouped(relations)
    next_spans, next_relations = next(span_rows, None), next(relation_rows, None)
    keep_annotator = source == "submitted"
    for annotation_id, document_id, text, meta, annotator in rows:
        key = (document_id, annotation_id)
        # Groups sort by the same key; skip any of an annotation added after the first query ran.
        while next_spans is not None and next_spans[0] < key:
            next_spans = next(span_rows, None)
        while next_relations is not None and next_relations[0] < key:
            next_relations = next(relation_rows, None)
        own_spans = own_relations = ()
        if next_spans is not None and next_spans[0] == key:
            own_spans = next_spans[1]
            next_spans = next(span_rows, None)
        if next_relations is not None and next_relations[0] == key:
            own_relations = next_relations[1]
            next_relations = next(relation_rows, None)
        if wanted is not None and not wanted(document_id):
            continue
        index = {span_id: i for i, (span_id, *_rest) in enumerate(own_spans)}
        yield DocumentRecord(
            text=text,
            meta=meta or {},
            spans=[SpanRecord(start, end, label) for _, start, end, label in own_spans],
            relations=[RelationRecord(index[h], index[t], label) for h, t, label in own_relations],
            id=document_id,
            annotator=annotator if keep_annotator else None,
        )


def _grouped(rows) -> Iterator[tuple[tuple[int, int], list[tuple]]]:
    """``((document id, annotation id), [rest of each row])`` per run of rows sharing that key."""
    for key, group in groupby(rows, key=_key):
        yield key, [row[2:] for row in group]


def _key(row: tuple) -> tuple[int, int]:
    return row[0], row[1]
