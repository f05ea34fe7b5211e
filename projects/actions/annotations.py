from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from projects.actions.assignments import DOCUMENT_FULL, record_annotation_saved
from projects.actions.labels import labels_by_name
from projects.errors import Conflict
from projects.models import Annotation, Document, Project, Relation, Reopening, Span
from projects.signals import annotation_submitted
from projects.overlap import wanted
from projects.selectors import serialize_annotation
from projects.spans import RelationIn, SpanIn, check_relations, check_spans, disagreement
from projects.tokens import tokens_for_document


def _stored(document: Document, user, is_gold: bool) -> dict:
    current = Annotation.objects.filter(document=document, is_gold=is_gold).select_related("annotator")
    if not is_gold:
        current = current.filter(annotator=user)
    return serialize_annotation(current.first())


def _conflict(document: Document, user, is_gold: bool) -> Conflict:
    body = _stored(document, user, is_gold)
    return Conflict(
        f"version is stale: the stored annotation is at version {body['version']}; reload it and apply your change again",
        code="version_conflict",
        extra=body,
    )


def _reviewed(document: Document, user) -> Conflict:
    return Conflict(
        f"document {document.pk} is reviewed: a reviewer made its gold annotation, so annotations of it are "
        "read-only and nothing was saved; a reviewer can reopen the document if it should change",
        code="document_reviewed",
        extra=_stored(document, user, False),
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

    Review lock: once the document has gold, a person's annotation of it is
    read-only (Conflict ``document_reviewed``, carrying their stored annotation)
    unless a reviewer reopened the document (projects.actions.reopenings); a save
    then marks the reopening changed, which puts the document back in the review
    queue. A gold save closes an open reopening: the document is locked again.
    """
    project = document.project
    entity_labels, relation_labels = labels_by_name(project)
    check_spans(spans, text_length=len(document.text), tokens=tokens_for_document(document),
                entity_labels=entity_labels, allow_overlap=project.allow_overlapping_spans)
    check_relations(relations, span_keys={s.key for s in spans}, relation_labels=relation_labels)

    try:
        return _save(document, user, spans=spans, relations=relations, status=status, version=version,
                     is_gold=is_gold, entity_labels=entity_labels, relation_labels=relation_labels)
    except _AppearedMeanwhile:
        if transaction.get_connection().in_atomic_block:
            raise IntegrityError("an annotation appeared behind the document lock") from None
        raise _conflict(document, user, is_gold) from None  # read after the rollback
    except Conflict as exc:
        if exc.code != DOCUMENT_FULL:
            raise
        # Every place is taken (record_annotation_saved): the save rolled back; say what is stored.
        raise Conflict(exc.detail, code=exc.code, extra=_stored(document, user, False)) from None


class _AppearedMeanwhile(Exception):
    """The annotation to create exists after all (made without the document lock)."""


def _save(document, user, *, spans, relations, status, version, is_gold, entity_labels, relation_labels) -> dict:
    was_submitted = False
    with transaction.atomic():
        # The document's row first (the lock order of projects.actions.assignments): saves of one
        # document take turns. Then its annotations, locked too, read by a statement that starts
        # after the lock is ours: what they say (versions, who submitted, gold) stays true until
        # this commits, so the status and disagreement are computed here rather than read back.
        current_status, current_disagreement, project_k, overlap = (
            Document.objects.select_for_update(of=("self",)).filter(pk=document.pk)
            .values_list("status", "disagreement", "project__annotators_per_document", "overlap").get()
        )
        k = wanted(project_k, overlap)
        others = []
        annotation = None
        for stored in Annotation.objects.select_for_update().filter(document_id=document.pk).order_by():
            if stored.is_gold == is_gold and (is_gold or stored.annotator_id == user.pk):
                annotation = stored
            else:
                others.append(stored)
        reopening = None
        if not is_gold and any(a.is_gold for a in others):
            # Reviewed: read-only unless reopened (read under the document's lock, which reopening takes too).
            reopening = (Reopening.objects.filter(document_id=document.pk, closed_at__isnull=True)
                         .values_list("pk", "changed_at").first())
            if reopening is None:
                raise _reviewed(document, user)
        if annotation is None:
            if version != 0:
                raise _conflict(document, user, is_gold)
            # No savepoint: every save holds the document's row (and imports create annotations with
            # their documents), so none can appear between the read above and this insert. Should one
            # (an admin's hand edit), the transaction is lost: it rolls back and the caller gets a 409.
            try:
                annotation = Annotation.objects.create(
                    document=document, annotator=user, is_gold=is_gold, status=status, version=1
                )
            except IntegrityError:
                raise _AppearedMeanwhile() from None
        else:
            if version != annotation.version:
                raise _conflict(document, user, is_gold)
            was_submitted = annotation.status == Annotation.Status.SUBMITTED
            Relation.objects.filter(annotation=annotation)._raw_delete(Relation.objects.db)
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
            record_annotation_saved(document, user, status, k=k)
        if reopening is not None and reopening[1] is None:
            Reopening.objects.filter(pk=reopening[0]).update(changed_at=timezone.now())
        if is_gold and current_status == Document.Status.REVIEWED:
            Reopening.objects.filter(document_id=document.pk, closed_at__isnull=True).update(
                closed_at=timezone.now(), closed_by=user)

        people = [a for a in others if not a.is_gold] + ([] if is_gold else [annotation])
        submitted = [a for a in people if a.status == Annotation.Status.SUBMITTED]
        changes = {}
        new_status = document_status(has_gold=is_gold or any(a.is_gold for a in others),
                                     submitted=len(submitted), started=len(people), k=k)
        if new_status != current_status:
            changes["status"] = new_status
        if not is_gold and (status == Annotation.Status.SUBMITTED or was_submitted):  # the submitted set changed
            value = _disagreement(annotation, stored_spans, stored_relations, submitted)
            if value != current_disagreement:
                changes["disagreement"] = value
        if changes:
            Document.objects.filter(pk=document.pk).update(**changes)
        if status == Annotation.Status.SUBMITTED and document.project.retrain_every:
            # robust: a loop that cannot start a training (logged) never fails the save that committed.
            project = document.project
            transaction.on_commit(lambda: annotation_submitted.send(sender=Project, project=project), robust=True)

    return serialize_annotation(annotation, stored_spans, stored_relations)


def document_status(*, has_gold: bool, submitted: int, started: int, k: int) -> str:
    """A document's status from its annotations: gold, how many people submitted and started, of k."""
    if has_gold:
        return Document.Status.REVIEWED
    if submitted >= k:
        return Document.Status.SUBMITTED
    if started:
        return Document.Status.IN_PROGRESS
    return Document.Status.UNLABELLED


def _disagreement(annotation: Annotation, spans: Sequence[Span], relations: Sequence[Relation],
                  submitted: list[Annotation]) -> float:
    """``Document.disagreement`` over the ``submitted`` annotations, ``annotation`` (just saved with ``spans``
    and ``relations``) among them or not; 0 for fewer than two. Spans and relations both count: annotators
    who agree on every span but draw one relation differently disagree (``annotation_items``)."""
    if len(submitted) < 2:
        return 0.0
    other_ids = [a.pk for a in submitted if a is not annotation]
    sets = annotation_items(other_ids)
    if any(a is annotation for a in submitted):
        by_pk = {s.pk: (s.start, s.end, s.label_id) for s in spans}
        sets[annotation.pk] = set(by_pk.values()) | {
            (by_pk[r.head_id], by_pk[r.tail_id], r.label_id) for r in relations}
    return round(disagreement(list(sets.values())), 6)


def annotation_items(annotation_ids: Sequence[int]) -> dict[int, set]:
    """Per annotation, what it says, comparable across annotators: its spans ``(start, end, label id)``
    and its relations ``(head span, tail span, label id)``; two queries."""
    items: dict[int, set] = {pk: set() for pk in annotation_ids}
    for annotation_id, start, end, label_id in Span.objects.filter(annotation_id__in=annotation_ids).values_list(
            "annotation_id", "start", "end", "label_id"):
        items[annotation_id].add((start, end, label_id))
    for annotation_id, *ends, label_id in Relation.objects.filter(annotation_id__in=annotation_ids).values_list(
            "annotation_id", "head__start", "head__end", "head__label_id", "tail__start", "tail__end",
            "tail__label_id", "label_id"):
        items[annotation_id].add((tuple(ends[:3]), tuple(ends[3:]), label_id))
    return items


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
        .values_list("pk", "gold", "submitted", "started", "project__annotators_per_document", "overlap", "status")
    )
    by_status: dict[str, list[int]] = {}
    submitted_by: dict[int, int] = {}
    for pk, gold, submitted, started, k, overlap, current in counts:
        submitted_by[pk] = submitted
        status = document_status(has_gold=bool(gold), submitted=submitted, started=started, k=wanted(k, overlap))
        if status != current:
            by_status.setdefault(status, []).append(pk)
    for status, pks in by_status.items():
        Document.objects.filter(pk__in=pks).update(status=status)
    return submitted_by
