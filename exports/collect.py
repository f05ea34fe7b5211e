"""From the database to plain records, in batches, in constant memory."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q

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
    """Yield one record per (document, annotation) in document order, reading ``batch_size`` at a time.

    Three queries per batch (annotations with their documents, spans, relations), keyed on
    (document id, annotation id) so each batch starts where the last ended and the order is stable.
    """
    base = annotations_for(project, source).order_by("document_id", "id")
    last = None
    while True:
        page = base if last is None else base.filter(
            Q(document_id__gt=last[0]) | Q(document_id=last[0], id__gt=last[1]))
        rows = list(
            page.values_list("id", "document_id", "document__text", "document__meta", "annotator__username")[:batch_size]
        )
        if not rows:
            return
        last = (rows[-1][1], rows[-1][0])
        if split is not None:
            rows = [r for r in rows if split_of(r[1], project.split_seed, project.split_train,
                                                project.split_dev) == split]
        yield from _records(rows, source)


def _records(rows, source: str) -> Iterator[DocumentRecord]:
    ids = [r[0] for r in rows]
    spans_by: dict[int, list[tuple]] = {}
    for annotation_id, span_id, start, end, label in (
        Span.objects.filter(annotation_id__in=ids).order_by("annotation_id", "start", "end", "id")
        .values_list("annotation_id", "id", "start", "end", "label__name")
    ):
        spans_by.setdefault(annotation_id, []).append((span_id, start, end, label))
    relations_by: dict[int, list[tuple]] = {}
    for annotation_id, head, tail, label in (
        Relation.objects.filter(annotation_id__in=ids).order_by("annotation_id", "id")
        .values_list("annotation_id", "head_id", "tail_id", "label__name")
    ):
        relations_by.setdefault(annotation_id, []).append((head, tail, label))
    for annotation_id, document_id, text, meta, annotator in rows:
        spans = spans_by.get(annotation_id, [])
        index = {span_id: i for i, (span_id, *_rest) in enumerate(spans)}
        yield DocumentRecord(
            text=text,
            meta=meta or {},
            spans=[SpanRecord(start, end, label) for _, start, end, label in spans],
            relations=[RelationRecord(index[h], index[t], label) for h, t, label in relations_by.get(annotation_id, [])],
            id=document_id,
            annotator=annotator if source == "submitted" else None,
        )
