"""Read queries for reviewers and admins: the review queue, a document's review bundle, progress."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from curation.alignment import align
from projects.models import Annotation, Assignment, Document, Job, Membership, Project, Reopening
from projects.roles import Role
from projects.selectors import annotation_of, annotations_of_document, bundle_tokens, serialize_annotation

REVIEWABLE = {"submitted": Document.Status.SUBMITTED, "reviewed": Document.Status.REVIEWED}


def review_queue(project: Project, *, status: str = "submitted", skip: Collection[int] = ()):
    """Documents that k people submitted and nobody reviewed, or that were reopened and changed since (their gold
    is out of date); with status=reviewed, those that have gold. Most disagreement first."""
    wanted = Q(status=REVIEWABLE[status])
    if status == "submitted":
        changed = list(Reopening.objects.filter(document__project=project, closed_at__isnull=True,
                                                changed_at__isnull=False).values_list("document_id", flat=True))
        if changed:
            wanted |= Q(pk__in=changed)
    documents = Document.objects.filter(wanted, project=project)
    if skip:
        documents = documents.exclude(pk__in=list(skip))
    return documents.order_by("-disagreement", "id")


def open_reopenings(documents: Collection[Document]) -> dict[int, Reopening]:
    """The open reopening of each of these documents that has one, in one query."""
    rows = Reopening.objects.filter(document__in=list(documents), closed_at__isnull=True).select_related("reopened_by")
    return {reopening.document_id: reopening for reopening in rows}


def serialize_reopening(reopening: Reopening) -> dict:
    def when(value):
        return value.isoformat() if value else None

    return {"reopened_by": reopening.reopened_by.username if reopening.reopened_by else None,
            "reopened_at": when(reopening.reopened_at), "changed_at": when(reopening.changed_at),
            "closed_by": reopening.closed_by.username if reopening.closed_by else None,
            "closed_at": when(reopening.closed_at)}


def submitted_by(documents: Collection[Document]) -> dict[int, list[str]]:
    """Who submitted each of these documents, in one query."""
    by_document: dict[int, list[str]] = defaultdict(list)
    rows = (Annotation.objects.filter(document__in=list(documents), is_gold=False, status=Annotation.Status.SUBMITTED)
            .order_by("annotator__username").values_list("document_id", "annotator__username"))
    for document_id, username in rows:
        by_document[document_id].append(username)
    return by_document


def review_bundle(document: Document, token_format: str | None = None) -> dict:
    """Everything the review page needs for one document, in a handful of queries.

    ``annotations`` are everyone's (any status); the alignment is over the
    submitted ones only, which are what the gold is made from. ``document.locked``
    says whether annotators' annotations are read-only (gold, not reopened);
    ``document.reopened`` is the open reopening, if any; ``reopenings`` the
    document's history of them, newest first.
    """
    annotations = annotations_of_document(document)
    submitted = [a for a in annotations if a["status"] == Annotation.Status.SUBMITTED]
    reopenings = [serialize_reopening(r) for r in Reopening.objects.filter(document=document)
                  .select_related("reopened_by", "closed_by").order_by("-reopened_at", "-id")]
    reopened = reopenings[0] if reopenings and reopenings[0]["closed_at"] is None else None
    return {
        "document": {"id": document.pk, "text": document.text, "meta": document.meta, "status": document.status,
                     "disagreement": document.disagreement,
                     "locked": document.status == Document.Status.REVIEWED and reopened is None,
                     "reopened": reopened, "changed_since_review": bool(reopened and reopened["changed_at"])},
        "reopenings": reopenings,
        **bundle_tokens(document, token_format),  # "tokens" (the first page, in token_format), "tokens_count", "tokens_next"
        "gold": serialize_annotation(annotation_of(document, None, gold=True)),
        "annotations": annotations,
        "alignment": align({a["annotator"]: _as_tuples(a) for a in submitted}),
    }


def _as_tuples(annotation: dict) -> dict:
    by_key = {str(s["id"]): (s["start"], s["end"], s["label"]) for s in annotation["spans"]}
    return {
        "spans": list(by_key.values()),
        "relations": [(by_key[str(r["head"])], by_key[str(r["tail"])], r["label"]) for r in annotation["relations"]],
    }


def project_progress(project: Project, *, now=None) -> dict:
    """Documents by status, and per annotator what they hold, submitted, and how fast."""
    now = now or timezone.now()
    by_status = dict(Document.objects.filter(project=project).values_list("status").annotate(n=Count("id"))
                     .values_list("status", "n"))
    documents = {status: by_status.get(status, 0) for status in Document.Status.values}
    documents["total"] = sum(by_status.values())

    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    held = Q(submitted_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    rows = (Assignment.objects.filter(project=project).values("annotator__username")
            .annotate(submitted=Count("id", filter=Q(submitted_at__isnull=False)),
                      holding=Count("id", filter=held),
                      expired=Count("id", filter=Q(submitted_at__isnull=True, expires_at__lte=now)),
                      last_day=Count("id", filter=Q(submitted_at__gte=day_ago)),
                      last_week=Count("id", filter=Q(submitted_at__gte=week_ago)),
                      last_submitted_at=Max("submitted_at")))
    people = {row.pop("annotator__username"): row for row in rows}
    for username in Membership.objects.filter(project=project, role=Role.ANNOTATOR).values_list("user__username",
                                                                                               flat=True):
        people.setdefault(username, {"submitted": 0, "holding": 0, "expired": 0, "last_day": 0, "last_week": 0,
                                     "last_submitted_at": None})
    annotators = [{"annotator": name, **row} for name, row in sorted(people.items())]
    for row in annotators:
        row["last_submitted_at"] = row["last_submitted_at"].isoformat() if row["last_submitted_at"] else None
    sample = (documents["total"] if project.overlap_sample >= 1
              else Document.objects.filter(project=project, overlap=True).count())
    return {"documents": documents, "annotators_per_document": project.annotators_per_document,
            "overlap_sample": project.overlap_sample, "sample_documents": sample, "annotators": annotators}


def last_jobs(project: Project, n: int = 10) -> list[Job]:
    return list(Job.objects.filter(project=project).select_related("created_by").order_by("-id")[:n])

