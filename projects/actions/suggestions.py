"""Model suggestions: a model's run replaces its own, and an annotator's decisions on them.

Accepting a suggestion is an ordinary edit of the annotation (the span is
added and saved with it); rejecting one is stored here, per person, so it
stays hidden after a reload and can serve as a negative example.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from projects import bulk
from projects.models import Suggestion, SuggestionRejection


@transaction.atomic
def do_replace_suggestions(document_ids: Sequence[int], rows: Sequence[tuple[int, int, int, int]], *, model: str,
                           version: str) -> int:
    """Make ``rows``, ``(document id, start, end, label id)`` with code point offsets and end exclusive, the
    only suggestions of ``model`` at ``version`` on ``document_ids``; how many were stored.

    Other models' and versions' suggestions stay, and so do rejections (kept by
    offsets and label, not by row). On PostgreSQL the rows go in with ``COPY``
    (``projects.bulk``): a few times faster than INSERT, which matters when
    writing is a tenth of the work of a fast pipeline.
    """
    Suggestion.objects.filter(document_id__in=document_ids, model=model, model_version=version).delete()
    if rows:
        bulk.insert(Suggestion, ((*row, model, version) for row in rows))
    return len(rows)


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
