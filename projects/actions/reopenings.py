"""Review locks: once a document has gold, its annotators' annotations are read-only, until a reviewer reopens it.

The lock is enforced by the annotation save (projects.actions.annotations), under
the document's row lock, so every path obeys it. Reopening lifts it: while a
Reopening is open, annotators can change their annotations again (the gold stays
in place, and exports keep using it); the first change marks the reopening
changed, which brings the document back to the review queue; the next gold save
or adoption closes it, and the document is locked again.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef

from projects.errors import Conflict
from projects.models import Annotation, Document, Reopening


@transaction.atomic
def do_reopen_document(document: Document, *, acting_user) -> Reopening:
    """Let ``document``'s annotators change their annotations again; who and when are recorded.

    Conflict ``not_reviewed`` when the document has no gold (nothing is locked), and
    ``already_reopened`` when it is open already.
    """
    # The document's row first: the lock order of the annotation save, which reads the reopening under it.
    Document.objects.select_for_update(of=("self",)).filter(pk=document.pk).values_list("pk").get()
    if not Annotation.objects.filter(document_id=document.pk, is_gold=True).exists():
        raise Conflict(f"document {document.pk} has no gold annotation: it is not locked, and its annotators can "
                       "change their annotations already", code="not_reviewed")
    current = (Reopening.objects.filter(document_id=document.pk, closed_at__isnull=True)
               .select_related("reopened_by").first())
    if current is not None:
        who = current.reopened_by.username if current.reopened_by else "someone"
        raise Conflict(f"document {document.pk} is open already (reopened by {who} at "
                       f"{current.reopened_at.isoformat(timespec='seconds')}); saving its gold locks it again",
                       code="already_reopened")
    return Reopening.objects.create(document_id=document.pk, reopened_by=acting_user)



def locked_documents(document_ids) -> list[int]:
    """Which of these documents are locked (``projects.selectors.is_locked``, set-based): reviewed, and
    no open reopening."""
    return sorted(Document.objects.filter(pk__in=list(document_ids), status=Document.Status.REVIEWED)
                  .exclude(Exists(Reopening.objects.filter(document=OuterRef("pk"), closed_at__isnull=True)))
                  .values_list("pk", flat=True))
