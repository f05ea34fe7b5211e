"""Model suggestions: a model's run replaces its own, and an annotator's decisions on them.

Accepting a suggestion is an ordinary edit of the annotation (the span is
added and saved with it); rejecting one is stored here, per person, so it
stays hidden after a reload and can serve as a negative example.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from projects import bulk
from projects.actions.assignments import sampling_priority
from projects.models import Document, DocumentScore, Project, Suggestion, SuggestionRejection


@transaction.atomic
def do_replace_suggestions(document_ids: Sequence[int], rows: Sequence[tuple[int, int, int, int, float | None]], *,
                           model: str, version: str) -> int:
    """Make ``rows``, ``(document id, start, end, label id, score)`` with code point offsets and end exclusive
    and the model's probability (or None), the only suggestions of ``model`` at ``version`` on ``document_ids``; how many were stored.

    Other models' and versions' suggestions stay, and so do rejections (kept by
    offsets and label, not by row). On PostgreSQL the rows go in with ``COPY``
    (``projects.bulk``): a few times faster than INSERT, which matters when
    writing is a tenth of the work of a fast pipeline.
    """
    Suggestion.objects.filter(document_id__in=document_ids, model=model, model_version=version).delete()
    if rows:
        bulk.insert(Suggestion, ((*row, model, version) for row in rows))
    return len(rows)


@transaction.atomic
def do_store_document_scores(project: Project, uncertainty: dict[int, float], *, model: str, version: str) -> int:
    """Store one scoring pass's ``uncertainty`` (document id -> a number in [0, 1]) for ``model`` at
    ``version``, and make it the documents' latest, which the queue's uncertainty order reads
    (``uncertainty`` and its seeded ``queue_priority``); how many were stored. Storing a pass again
    replaces it (a redelivered chunk is idempotent)."""
    for document_id, value in uncertainty.items():
        if not 0 <= value <= 1:
            raise ValueError(f"uncertainty of document {document_id} is {value}, not in [0, 1]")
    DocumentScore.objects.bulk_create(
        [DocumentScore(project=project, document_id=document_id, model=model, model_version=version,
                       uncertainty=value) for document_id, value in uncertainty.items()],
        update_conflicts=True, unique_fields=["document", "model", "model_version"], update_fields=["uncertainty"],
    )
    ids = Document.objects.filter(project=project, pk__in=list(uncertainty)).values_list("pk", flat=True)
    seed = f"{project.pk}:{project.split_seed}:{model}:{version}"
    latest = [Document(pk=pk, uncertainty=uncertainty[pk],
                       queue_priority=sampling_priority(uncertainty[pk], key=f"{seed}:{pk}")) for pk in ids]
    return Document.objects.bulk_update(latest, ["uncertainty", "queue_priority"], batch_size=1000)


def do_reject_suggestion(suggestion: Suggestion, *, acting_user) -> SuggestionRejection:
    """Hide ``suggestion``'s span claim from ``acting_user``; idempotent."""
    rejection, _ = SuggestionRejection.objects.get_or_create(
        document_id=suggestion.document_id, user=acting_user,
        start=suggestion.start, end=suggestion.end, label_id=suggestion.label_id,
    )
    return rejection


def do_unreject_suggestion(suggestion: Suggestion, *, acting_user) -> None:
    """Take a rejection back (undo); idempotent."""
    SuggestionRejection.objects.filter(
        document_id=suggestion.document_id, user=acting_user,
        start=suggestion.start, end=suggestion.end, label_id=suggestion.label_id,
    ).delete()
