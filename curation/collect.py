"""From the database to the agreement's inputs: one document at a time, read in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db.models import Count

from projects.models import Annotation, Document, Project, Relation, Span
from projects.tokens import tokens_for_document

BATCH = 500


def multiply_annotated(project: Project):
    """Ids of the project's documents with two or more submitted annotations (not gold), in order."""
    return (Annotation.objects.filter(document__project=project, is_gold=False, status=Annotation.Status.SUBMITTED)
            .values("document_id").annotate(n=Count("id")).filter(n__gte=2).order_by("document_id")
            .values_list("document_id", flat=True))


def agreement_inputs(project: Project, progress: Callable[[int], None] | None = None, with_tokens: bool = True
                     ) -> Iterator[tuple[dict[str, set], list[tuple[int, int]] | None, dict[str, set]]]:
    """``(annotator -> {(start, end, label)}, non-whitespace tokens, annotator -> {(head span, tail span,
    label)})`` per multiply-annotated document; relations and spans by label name."""
    document_ids = list(multiply_annotated(project))
    for i in range(0, len(document_ids), BATCH):
        batch = document_ids[i:i + BATCH]
        documents = {d.pk: d for d in Document.objects.filter(pk__in=batch).only("id", "text", "content_hash", "tokens")}
        who, owner = {}, {}
        spans: dict[int, dict[str, set]] = {pk: {} for pk in batch}
        relations: dict[int, dict[str, set]] = {pk: {} for pk in batch}
        for annotation_id, document_id, username in (
                Annotation.objects.filter(document_id__in=batch, is_gold=False, status=Annotation.Status.SUBMITTED)
                .values_list("pk", "document_id", "annotator__username")):
            who[annotation_id], owner[annotation_id] = username, document_id
            spans[document_id][username] = set()
            relations[document_id][username] = set()
        rows = Span.objects.filter(annotation_id__in=list(who)).values_list("annotation_id", "start", "end",
                                                                             "label__name")
        for annotation_id, start, end, label in rows.iterator(chunk_size=5000):
            spans[owner[annotation_id]][who[annotation_id]].add((start, end, label))
        arcs = Relation.objects.filter(annotation_id__in=list(who)).values_list(
            "annotation_id", "head__start", "head__end", "head__label__name", "tail__start", "tail__end",
            "tail__label__name", "label__name")
        for annotation_id, *ends, label in arcs.iterator(chunk_size=5000):
            relations[owner[annotation_id]][who[annotation_id]].add((tuple(ends[:3]), tuple(ends[3:]), label))
        for pk in batch:
            tokens = None
            if with_tokens:
                document = documents[pk]
                document.project = project
                t = tokens_for_document(document)
                tokens = [(s, e) for s, e in zip(t.starts, t.ends) if s in t.span_starts]
            yield spans[pk], tokens, relations[pk]
        if progress is not None:
            progress(min(i + BATCH, len(document_ids)))
