from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from projects.actions.assignments import record_annotation_saved
from projects.actions.labels import labels_by_name
from projects.errors import Conflict
from projects.models import Annotation, Document, Relation, Span
from projects.selectors import serialize_annotation
from projects.spans import RelationIn, SpanIn, check_relations, check_spans, disagreement
from projects.tokens import tokens_for_document


def _conflict(document: Document, user, is_gold: bool) -> Conflict:
    current = Annotation.objects.filter(document=document, is_gold=is_gold).select_related("annotator")
    if not is_gold:
        current = current.filter(annotator=user)
    body = serialize_annotation(current.first())
    return Conflict(
        f"version is stale: the stored annotation is at version {body['version']}; reload it and apply your change again",
        code="version_conflict",
        extra=body,
    )


def do_save_annotation(
    document: Document,
    user,
    *,
    spans: Sequence[SpanIn],
    relations: Sequence[RelationIn],
    status: str,
    version: int,
    is_gold: bool = False,
) -> dict:
    """Replace a user's (or the gold) annotation of a document, if ``version`` is current.

    Checks run first and change nothing; a stale ``version`` raises Conflict
    carrying the stored annotation. Returns the stored annotation's API shape.
    """
    project = document.project
    entity_labels, relation_labels = labels_by_name(project)
    check_spans(spans, text_length=len(document.text), tokens=tokens_for_document(document),
                entity_labels=entity_labels, allow_overlap=project.allow_overlapping_spans)
    check_relations(relations, span_keys={s.key for s in spans}, relation_labels=relation_labels)

    with transaction.atomic():
        # The document's row first (the lock order of projects.actions.assignments): saves of one
        # document take turns, so each counts the others' submissions when it sets the status.
        Document.objects.select_for_update().filter(pk=document.pk).values_list("pk").first()
        lookup = Annotation.objects.select_for_update().filter(document=document, is_gold=is_gold)
        if not is_gold:
            lookup = lookup.filter(annotator=user)
        annotation = lookup.first()
        if annotation is None:
            if version != 0:
                raise _conflict(document, user, is_gold)
            try:
                with transaction.atomic():
                    annotation = Annotation.objects.create(
                        document=document, annotator=user, is_gold=is_gold, status=status, version=1
                    )
            except IntegrityError:  # someone created it between our read and write
                raise _conflict(document, user, is_gold) from None
        else:
            if version != annotation.version:
                raise _conflict(document, user, is_gold)
            Relation.objects.filter(annotation=annotation).delete()
            Span.objects.filter(annotation=annotation)._raw_delete(Span.objects.db)
            annotation.version += 1
            annotation.status = status
            annotation.annotator = user
            annotation.save(update_fields=["version", "status", "annotator", "updated_at"])

        stored_spans = Span.objects.bulk_create(
            Span(annotation=annotation, key=s.key, start=s.start, end=s.end, label=entity_labels[s.label])
            for s in spans
        )
        by_key = {s.key: s for s in stored_spans}
        stored_relations = Relation.objects.bulk_create(
            Relation(annotation=annotation, head=by_key[r.head], tail=by_key[r.tail],
                     label=relation_labels[r.label])
            for r in relations
        )
        if not is_gold:
            record_annotation_saved(document, user, status)
        submitted = refresh_document_status([document.pk])
        if not is_gold and status == Annotation.Status.SUBMITTED and submitted.get(document.pk, 0) >= 2:
            refresh_disagreement([document.pk])

    return serialize_annotation(annotation, stored_spans, stored_relations)


def refresh_document_status(document_ids: Iterable[int]) -> dict[int, int]:
    """Recompute the denormalised status of documents from their annotations, set-based.

    Returns how many submitted annotations (not gold) each document has.
    """
    document_ids = list(document_ids)
    if not document_ids:
        return {}
    counts = (
        Document.objects.filter(pk__in=document_ids)
        .annotate(
            gold=Count("annotations", filter=Q(annotations__is_gold=True)),
            submitted=Count("annotations", filter=Q(annotations__is_gold=False,
                                                    annotations__status=Annotation.Status.SUBMITTED)),
            started=Count("annotations", filter=Q(annotations__is_gold=False)),
        )
        .values_list("pk", "gold", "submitted", "started", "project__annotators_per_document", "status")
    )
    by_status: dict[str, list[int]] = {}
    submitted_by: dict[int, int] = {}
    for pk, gold, submitted, started, k, current in counts:
        submitted_by[pk] = submitted
        if gold:
            status = Document.Status.REVIEWED
        elif submitted >= k:
            status = Document.Status.SUBMITTED
        elif started:
            status = Document.Status.IN_PROGRESS
        else:
            status = Document.Status.UNLABELLED
        if status != current:
            by_status.setdefault(status, []).append(pk)
    for status, pks in by_status.items():
        Document.objects.filter(pk__in=pks).update(status=status)
    return submitted_by


def refresh_disagreement(document_ids: Iterable[int]) -> None:
    """Recompute ``Document.disagreement`` from the submitted annotations (the review queue's order)."""
    document_ids = list(document_ids)
    if not document_ids:
        return
    sets: dict[int, dict[int, set]] = {}
    rows = (Annotation.objects.filter(document_id__in=document_ids, is_gold=False,
                                      status=Annotation.Status.SUBMITTED)
            .values_list("document_id", "pk", "spans__start", "spans__end", "spans__label_id"))
    for document_id, annotation_id, start, end, label_id in rows:
        spans = sets.setdefault(document_id, {}).setdefault(annotation_id, set())
        if start is not None:
            spans.add((start, end, label_id))
    for document_id in document_ids:
        value = round(disagreement(list(sets.get(document_id, {}).values())), 6)
        Document.objects.filter(pk=document_id).exclude(disagreement=value).update(disagreement=value)
