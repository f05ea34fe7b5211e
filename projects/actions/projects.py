from __future__ import annotations

import re
from itertools import islice

from django.db import transaction
from django.db.models import BinaryField
from django.db.models.functions import Substr

from projects.actions.documents import do_choose_overlap_sample
from projects.errors import InvalidInput
from projects.models import Document, Membership, Project, QueueOrder, Span, Suggestion, UncertaintySampling
from projects import token_columns
from projects.roles import Role
from projects.tokens import is_known_language

MODEL_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a trained model's name (pipelines.actions)
EDITABLE_FIELDS = {
    "name", "description", "guidelines", "language", "allow_overlapping_spans", "annotators_per_document",
    "overlap_sample", "queue_order", "uncertainty_sampling", "retrain_every", "retrain_model",
    "split_train", "split_dev", "split_test", "split_seed",
}


def check_project_fields(fields: dict) -> None:
    if "language" in fields and not is_known_language(fields["language"]):
        raise InvalidInput(f"language: {fields['language']!r} is not a spaCy language code", code="unknown_language")
    if "overlap_sample" in fields and not 0 <= fields["overlap_sample"] <= 1:
        raise InvalidInput("overlap_sample: a fraction from 0 to 1 (1: every document goes to "
                           "annotators_per_document annotators)", code="invalid_overlap_sample")
    if "queue_order" in fields and fields["queue_order"] not in QueueOrder.values:
        raise InvalidInput(f"queue_order: one of {', '.join(QueueOrder.values)}", code="invalid_queue_order")
    if "uncertainty_sampling" in fields and fields["uncertainty_sampling"] not in UncertaintySampling.values:
        raise InvalidInput(f"uncertainty_sampling: one of {', '.join(UncertaintySampling.values)}",
                           code="invalid_uncertainty_sampling")
    if "retrain_model" in fields and not MODEL_NAME_RE.fullmatch(str(fields["retrain_model"])):
        raise InvalidInput("retrain_model: 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit",
                           code="invalid_name")
    splits = [fields.get(k) for k in ("split_train", "split_dev", "split_test")]
    if all(s is not None for s in splits) and abs(sum(splits) - 1.0) > 1e-6:
        raise InvalidInput("split_train + split_dev + split_test must add up to 1", code="invalid_split")


@transaction.atomic
def do_create_project(*, acting_user, **fields) -> Project:
    """Create a project; whoever creates it is its admin."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(f"unknown project fields: {', '.join(sorted(unknown))}")
    defaults = {k: Project._meta.get_field(k).get_default() for k in ("split_train", "split_dev", "split_test")}
    check_project_fields(defaults | fields)
    project = Project.objects.create(created_by=acting_user, **fields)
    Membership.objects.create(project=project, user=acting_user, role=Role.ADMIN)
    return project


def check_project_update(project: Project, fields: dict) -> None:
    """What ``do_update_project`` checks before it writes (InvalidInput naming the field); the Django
    admin's project form runs it to show the same errors on the form."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(f"unknown project fields: {', '.join(sorted(unknown))}")
    merged = {k: getattr(project, k) for k in ("split_train", "split_dev", "split_test")} | fields
    check_project_fields({**fields, **{k: merged[k] for k in ("split_train", "split_dev", "split_test")}})
    if "allow_overlapping_spans" in fields and not fields["allow_overlapping_spans"] and project.allow_overlapping_spans:
        # Turning overlaps off would leave stored annotations breaking the rule.
        from projects.selectors import count_overlapping_annotations

        overlapping = count_overlapping_annotations(project)
        if overlapping:
            raise InvalidInput(
                f"allow_overlapping_spans: {overlapping} stored annotations have overlapping spans; fix them first",
                code="overlaps_exist",
            )
    if "language" in fields and fields["language"] != project.language and (
            Span.objects.filter(annotation__document__project=project).exists()
            or Suggestion.objects.filter(document__project=project).exists()):
        # Spans sit on the current language's token boundaries; another tokenizer may cut elsewhere.
        raise InvalidInput(
            f"language: the project's spans and suggestions follow the {project.language!r} tokenizer's tokens; "
            "to use another language, create a project with it and import an export of this one",
            code="language_in_use",
        )


@transaction.atomic
def do_update_project(project: Project, *, acting_user, **fields) -> Project:
    check_project_update(project, fields)
    language_changed = "language" in fields and fields["language"] != project.language
    k_changed = "annotators_per_document" in fields and fields["annotators_per_document"] != project.annotators_per_document
    sample_changed = "overlap_sample" in fields and fields["overlap_sample"] != project.overlap_sample
    for key, value in fields.items():
        setattr(project, key, value)
    project.save()
    if language_changed:
        # Tokens a tokenizer stored are the old language's; readers tokenize again until re-stored.
        # Tokens a file gave stay the documents' own.
        header = token_columns.FILE_KEY.encode("ascii") + b"\n"
        (Document.objects.filter(project=project).exclude(tokens=None)
         .alias(header=Substr("tokens", 1, len(header), output_field=BinaryField()))
         .exclude(header=header).update(tokens=None))
    if sample_changed:
        do_choose_overlap_sample(project)
    if k_changed or sample_changed:
        # "submitted" means k people submitted: a new k moves documents between in_progress and submitted.
        # Whoever holds a document keeps it: fewer places take no work away.
        from projects.actions.annotations import refresh_document_status

        started = Document.objects.filter(project=project, status__in=[Document.Status.IN_PROGRESS,
                                                                       Document.Status.SUBMITTED])
        ids = started.values_list("pk", flat=True).order_by("pk").iterator(chunk_size=2000)
        while batch := list(islice(ids, 2000)):
            refresh_document_status(batch)
    return project


@transaction.atomic
def do_delete_project(project: Project, *, acting_user) -> None:
    """Delete a project and everything in it.

    Span and relation labels are RESTRICTed: a label in use is never deleted on its own, but the
    cascade from the project takes labels and annotations together.
    """
    project.delete()
