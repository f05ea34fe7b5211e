"""An annotator's decisions on model suggestions.

Accepting a suggestion is an ordinary edit of the annotation (the span is
added and saved with it); rejecting one is stored here, per person, so it
stays hidden after a reload and can serve as a negative example.
"""

from __future__ import annotations

from projects.models import Suggestion, SuggestionRejection


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
