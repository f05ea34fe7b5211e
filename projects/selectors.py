"""Read queries, shaped for the API. Each reads a bounded number of queries."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Substr
from django.urls import reverse

from projects.models import (
    Annotation, Assignment, Document, Label, Project, Relation, Reopening, Span, Suggestion, SuggestionRejection,
)
from projects.sql import column, table
from projects.tokens import token_page


def stored_content_hashes(project: Project, hashes: set[str]) -> set[str]:
    """Which of ``hashes`` documents of ``project`` have (an import's duplicates, batch by batch). On
    PostgreSQL the hashes go as one string, split there: 2,000 placeholders cost more to bind than the query
    to run, and an array of them was quoted item by item (hashes are hex: no comma in them)."""
    if connection.vendor != "postgresql" or any("," in content_hash for content_hash in hashes):
        return set(Document.objects.filter(project=project, content_hash__in=hashes)
                   .values_list("content_hash", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column(Document, 'content_hash')} FROM {table(Document)} "
                       f"WHERE {column(Document, 'project')} = %s "
                       f"AND {column(Document, 'content_hash')} = ANY(string_to_array(%s, ','))",
                       [project.pk, ",".join(hashes)])
        return {row[0] for row in cursor.fetchall()}


def render_key(key: str):
    """A span id as the client sent it: integers come back as integers."""
    return int(key) if key.isdigit() and str(int(key)) == key else key


def labels_of(project: Project):
    """A project's labels as the API lists them: entity labels first, then relation labels, each as created."""
    return Label.objects.filter(project=project).order_by("kind", "id")


def tokens_url(document: Document, offset: int, limit: int | None = None, token_format: str | None = None) -> str:
    """The path of a page of ``document``'s tokens (``GET .../documents/{id}/tokens/?offset=``)."""
    query = f"?offset={offset}" + (f"&limit={limit}" if limit is not None else "")
    query += f"&format={token_format}" if token_format else ""
    return reverse("document-tokens", args=[document.project_id, document.pk]) + query


def bundle_tokens(document: Document, token_format: str | None = None) -> dict:
    """A bundle's tokens (/next/, the review bundle): the first page (``TOKENS_PAGE_SIZE``) in
    ``token_format`` (``projects.tokens.TokenPage``), how many the document has, and the path of the
    next page in the same format (None when that is all)."""
    page = token_page(document)
    return {"tokens": page.as_format(token_format), "tokens_count": page.count,
            "tokens_next": None if page.rest is None else tokens_url(document, page.rest, token_format=token_format)}


def annotation_of(document: Document, user, *, gold: bool = False) -> Annotation | None:
    annotations = Annotation.objects.filter(document=document).select_related("annotator")
    annotations = annotations.filter(is_gold=True) if gold else annotations.filter(is_gold=False, annotator=user)
    return annotations.first()


def serialize_annotation(annotation: Annotation | None, spans=None, relations=None) -> dict:
    """The API shape of an annotation; ``None`` is the empty one before the first PUT."""
    if annotation is None:
        return {"spans": [], "relations": [], "status": Annotation.Status.IN_PROGRESS, "version": 0}
    # Plain rows when read here: a long document's hundreds of spans as model objects (and their labels) cost
    # most of the request that opens it.
    if spans is None:
        span_rows = list(Span.objects.filter(annotation=annotation).values_list("pk", "key", "start", "end",
                                                                                "label__name"))
    else:
        span_rows = [(s.pk, s.key, s.start, s.end, s.label.name) for s in spans]
    if relations is None:
        relation_rows = Relation.objects.filter(annotation=annotation).values_list("head_id", "tail_id", "label__name")
    else:
        relation_rows = [(r.head_id, r.tail_id, r.label.name) for r in relations]
    keys = {pk: key for pk, key, *_ in span_rows}
    span_rows.sort(key=lambda row: (row[2], row[3], row[0]))
    return {
        "spans": [{"id": render_key(key), "start": start, "end": end, "label": label}
                  for _, key, start, end, label in span_rows],
        "relations": [{"head": render_key(keys[head]), "tail": render_key(keys[tail]), "label": label}
                      for head, tail, label in relation_rows],
        "status": annotation.status,
        "version": annotation.version,
        "annotator": annotation.annotator.username if annotation.annotator_id and _loaded(annotation) else None,
        "updated_at": annotation.updated_at.isoformat() if annotation.updated_at else None,
    }


def _loaded(annotation: Annotation) -> bool:
    return "annotator" in annotation._state.fields_cache


def is_locked(document: Document) -> bool:
    """Whether annotations of ``document`` are read-only for its annotators: it has gold and is not reopened.

    No query unless the document is reviewed, nor when the caller annotated ``open_reopening`` (in a list:
    ``Exists`` of an open Reopening; see open_reopening_exists).
    """
    if document.status != Document.Status.REVIEWED:
        return False
    reopened = getattr(document, "open_reopening", None)
    if reopened is None:
        reopened = Reopening.objects.filter(document_id=document.pk, closed_at__isnull=True).exists()
    return not reopened


def open_reopening_exists():
    """For ``Document.objects.annotate(open_reopening=...)``: the document is reopened now."""
    return Exists(Reopening.objects.filter(document=OuterRef("pk"), closed_at__isnull=True))


def annotations_of_document(document: Document) -> list[dict]:
    """Every person's annotation of a document (for reviewers), in three queries."""
    annotations = list(
        Annotation.objects.filter(document=document, is_gold=False).select_related("annotator").order_by("id")
    )
    spans_by, relations_by = {}, {}
    for span in Span.objects.filter(annotation__in=annotations).select_related("label"):
        spans_by.setdefault(span.annotation_id, []).append(span)
    for relation in Relation.objects.filter(annotation__in=annotations).select_related("label"):
        relations_by.setdefault(relation.annotation_id, []).append(relation)
    return [
        serialize_annotation(a, spans_by.get(a.pk, []), relations_by.get(a.pk, [])) for a in annotations
    ]


def suggestions_for(document: Document, user=None) -> list[dict]:
    """A document's model suggestions; given ``user``, without those they rejected.

    One query, and a second for the rejections only when there are suggestions (most documents have none).
    """
    rows = list(Suggestion.objects.filter(document_id=document.pk).values_list(
        "pk", "start", "end", "label_id", "label__name", "model", "model_version", "score"))
    if rows and user is not None:
        rejected = set(SuggestionRejection.objects.filter(document_id=document.pk, user=user)
                       .values_list("start", "end", "label_id"))
        rows = [row for row in rows if (row[1], row[2], row[3]) not in rejected]
    return [
        {"id": pk, "start": start, "end": end, "label": label, "model": model, "model_version": model_version,
         "score": score}
        for pk, start, end, _, label, model, model_version, score in rows
    ]


def count_overlapping_annotations(project: Project) -> int:
    from projects.spans import find_overlap

    offsets_by: dict[int, list[tuple[int, int]]] = {}
    for annotation_id, start, end in Span.objects.filter(annotation__document__project=project).values_list(
        "annotation_id", "start", "end"
    ).iterator(chunk_size=5000):
        offsets_by.setdefault(annotation_id, []).append((start, end))
    return sum(1 for offsets in offsets_by.values() if find_overlap(offsets) is not None)


PREVIEW_CHARS = 80


def my_documents(project: Project, user):
    """The documents ``user`` holds or held in ``project`` (the queue's, an admin's, an import's), in the
    order they got them, each with its place in that order, a preview and how it stands for them."""
    return (Assignment.objects.filter(project=project, annotator=user)
            .annotate(preview=Substr("document__text", 1, PREVIEW_CHARS), reopened=Exists(
                Reopening.objects.filter(document=OuterRef("document_id"), closed_at__isnull=True)))
            .order_by("created_at", "id")
            .values("document_id", "submitted_at", "assigned_by_id", "preview", "reopened", "document__status"))


def my_number(project: Project, user, document_id: int) -> int | None:
    """The number of ``document_id`` among ``user``'s documents (as ``my_documents`` numbers them), or None."""
    held = Assignment.objects.filter(project=project, annotator=user, document_id=document_id).values_list(
        "created_at", "pk").first()
    if held is None:
        return None
    created, pk = held
    return Assignment.objects.filter(project=project, annotator=user).filter(
        Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk)).count() + 1


def my_document_row(number: int, row: dict) -> dict:
    """One row of ``my_documents`` as the API serves it."""
    reviewed = row["document__status"] == Document.Status.REVIEWED
    status = "reviewed" if reviewed else "submitted" if row["submitted_at"] else "in_progress"
    return {"id": row["document_id"], "number": number, "preview": row["preview"], "status": status,
            "locked": reviewed and not row["reopened"], "assigned": row["assigned_by_id"] is not None}


def my_counts(project: Project, user) -> dict:
    """How ``user`` stands in ``project``: submitted, in progress, reviewed (of theirs), and left: what the
    queue can still give them (their unsubmitted documents and the free places on open documents)."""
    mine = Assignment.objects.filter(project=project, annotator=user)
    counts = mine.aggregate(
        submitted=Count("id", filter=Q(submitted_at__isnull=False) & ~Q(document__status=Document.Status.REVIEWED)),
        in_progress=Count("id", filter=Q(submitted_at__isnull=True) & ~Q(document__status=Document.Status.REVIEWED)),
        reviewed=Count("id", filter=Q(document__status=Document.Status.REVIEWED)))
    free = (Document.objects.filter(project=project, status__in=Document.OPEN,
                                    assignee_count__lt=Document.places(project.annotators_per_document))
            .exclude(Exists(Assignment.objects.filter(document=OuterRef("pk"), annotator=user))).count())
    return {**counts, "left": counts["in_progress"] + free}
