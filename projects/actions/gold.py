"""The gold (curated) annotation of a document, and its history.

Gold is an Annotation with ``is_gold``, saved by do_save_annotation under the
same version rules as anyone's annotation; every save also writes a
GoldRevision (who, when, edit or adoption, the spans added and removed, and the
whole gold as it then was) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db import transaction

from projects.actions.annotations import do_save_annotation
from projects.errors import Conflict, InvalidInput
from projects.models import Annotation, Document, GoldRevision, Relation, Span
from projects.spans import RelationIn, SpanIn


def do_save_gold(document: Document, *, acting_user, spans: Sequence[SpanIn], relations: Sequence[RelationIn],
                 status: str, version: int) -> dict:
    """Replace the gold annotation if ``version`` is current (else Conflict with the stored gold)."""
    with transaction.atomic():
        stored = do_save_annotation(document, acting_user, spans=spans, relations=relations, status=status,
                                    version=version, is_gold=True)
        _record(document, stored, acting_user, GoldRevision.Action.EDIT)
    return stored


def do_adopt_gold(document: Document, *, acting_user, from_user: str, version: int | None = None) -> dict:
    """Make ``from_user``'s submitted annotation the gold one.

    With ``version``, the gold must still be at that version (else Conflict);
    without, the adoption replaces whatever gold there is (the history keeps it).
    """
    source = (Annotation.objects.filter(document=document, is_gold=False, annotator__username=from_user)
              .select_related("annotator").first())
    if source is None:
        if not get_user_model().objects.filter(username=from_user).exists():
            raise InvalidInput(f"from_user: no user is called {from_user!r}", code="unknown_user")
        raise InvalidInput(f"from_user: {from_user} has no annotation of document {document.pk}",
                           code="no_annotation")
    if source.status != Annotation.Status.SUBMITTED:
        raise Conflict(f"from_user: {from_user} has not submitted document {document.pk} yet", code="not_submitted")
    spans = list(Span.objects.filter(annotation=source).select_related("label"))
    keys = {span.pk: span.key for span in spans}
    relations = [RelationIn(keys[r.head_id], keys[r.tail_id], r.label.name)
                 for r in Relation.objects.filter(annotation=source).select_related("label")]
    with transaction.atomic():
        if version is None:
            current = Annotation.objects.select_for_update().filter(document=document, is_gold=True).first()
            version = current.version if current else 0
        stored = do_save_annotation(
            document, acting_user, spans=[SpanIn(s.key, s.start, s.end, s.label.name) for s in spans],
            relations=relations, status=Annotation.Status.SUBMITTED, version=version, is_gold=True,
        )
        _record(document, stored, acting_user, GoldRevision.Action.ADOPT, from_user=source.annotator)
    return stored


def _record(document: Document, stored: dict, editor, action: str, from_user=None) -> GoldRevision:
    previous = (GoldRevision.objects.filter(document=document).order_by("-version")
                .values_list("spans", flat=True).first()) or []
    before = {(s["start"], s["end"], s["label"]) for s in previous}
    after = {(s["start"], s["end"], s["label"]) for s in stored["spans"]}
    return GoldRevision.objects.create(
        document=document, version=stored["version"], editor=editor, action=action, from_user=from_user,
        spans=stored["spans"], relations=stored["relations"],
        added=[list(s) for s in sorted(after - before)], removed=[list(s) for s in sorted(before - after)],
    )
