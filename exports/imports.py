"""Imports: a file of any registered format into a project, all or nothing.

The file is read as a stream and written in batches inside one transaction,
so a 100,000-line file never sits in memory whole, and one bad line rolls the
whole import back with its line number.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from itertools import islice

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from exports.formats import FORMATS
from exports.records import DocumentRecord, FormatError
from projects.actions.jobs import JobCancelled, is_cancelled, report_progress
from projects.actions.labels import do_create_missing_labels, labels_by_name
from projects.errors import InvalidInput
from projects.models import Annotation, Document, Job, Label, Project, Relation, Span
from projects.spans import RelationIn, SpanIn, check_relations, check_spans
from projects.tokens import tokenize


class _Lines:
    """Decoded lines of a binary file; a decoding error names its line."""

    def __init__(self, raw):
        self.raw = raw

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        for line_no, raw_line in enumerate(self.raw, start=1):
            try:
                yield decoder.decode(raw_line)
            except UnicodeDecodeError:
                raise FormatError(line_no, "not valid UTF-8 text") from None


def count_lines(raw) -> int:
    count = sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b""))
    raw.seek(0)
    return count


def read_records(fmt_name: str, raw, language: str) -> Iterable[tuple[int, DocumentRecord]]:
    fmt = FORMATS[fmt_name]
    if fmt.binary:
        import spacy

        return fmt.reader(raw.read(), spacy.blank(language))
    return fmt.reader(_Lines(raw))


def import_records(
    project: Project,
    records: Iterable[tuple[int, DocumentRecord]],
    *,
    importer,
    create_labels: bool = False,
    skip_duplicates: bool = True,
    batch_size: int | None = None,
    job: Job | None = None,
) -> dict:
    """Store records as documents (and the importer's submitted annotations), all or nothing.

    Raises FormatError naming the line of the first bad record; nothing is kept then.
    """
    batch_size = batch_size or settings.IMPORT_BATCH_SIZE
    entity_labels, relation_labels = labels_by_name(project)
    seen_hashes: set[bytes] = set()
    counts = {"documents": 0, "annotations": 0, "spans": 0, "relations": 0, "duplicates_skipped": 0,
              "labels_created": []}
    lines_done = 0
    records = iter(records)
    with transaction.atomic():
        while batch := list(islice(records, batch_size)):
            for line_no, record in batch:
                _check_record(line_no, record, project, entity_labels, relation_labels, create_labels, counts)
            batch = _drop_duplicates(project, batch, seen_hashes, counts) if skip_duplicates else batch
            _write_batch(project, batch, importer, entity_labels, relation_labels, counts)
            lines_done = batch[-1][0] if batch else lines_done
            if job is not None:
                report_progress(job, lines_done)
                if is_cancelled(job):
                    raise JobCancelled()
    return counts


def _check_record(line_no, record, project, entity_labels, relation_labels, create_labels, counts) -> None:
    try:
        if create_labels:
            for names, labels, kind in (({s.label for s in record.spans}, entity_labels, Label.Kind.ENTITY),
                                        ({r.label for r in record.relations}, relation_labels, Label.Kind.RELATION)):
                missing = names - labels.keys()
                if missing:
                    for label in do_create_missing_labels(project, missing, kind):
                        labels[label.name] = label
                        counts["labels_created"].append(label.name)
        if not record.text.strip():
            raise InvalidInput("the text is empty")
        spans = [SpanIn(str(i), s.start, s.end, s.label) for i, s in enumerate(record.spans)]
        if spans:
            check_spans(spans, text_length=len(record.text), tokens=tokenize(record.text, project.language),
                        entity_labels=entity_labels, allow_overlap=project.allow_overlapping_spans)
        if record.relations:
            check_relations([RelationIn(str(r.head), str(r.tail), r.label) for r in record.relations],
                            span_keys={s.key for s in spans}, relation_labels=relation_labels)
    except InvalidInput as exc:
        hint = " (import with create_labels=true to create it)" if exc.code == "unknown_label" else ""
        raise FormatError(line_no, exc.detail + hint) from None


def _drop_duplicates(project, batch, seen_hashes, counts):
    hashes = [Document.hash_text(record.text) for _, record in batch]
    existing = set(
        Document.objects.filter(project=project, content_hash__in=set(hashes)).values_list("content_hash", flat=True)
    )
    kept = []
    for (line_no, record), digest in zip(batch, hashes):
        key = bytes.fromhex(digest)
        if digest in existing or key in seen_hashes:
            counts["duplicates_skipped"] += 1
            continue
        seen_hashes.add(key)
        kept.append((line_no, record))
    return kept


def _write_batch(project, batch, importer, entity_labels, relation_labels, counts) -> None:
    annotated_status = (Document.Status.SUBMITTED if project.annotators_per_document <= 1
                        else Document.Status.IN_PROGRESS)
    documents = Document.objects.bulk_create(
        Document(project=project, text=r.text, meta=r.meta, content_hash=Document.hash_text(r.text),
                 status=annotated_status if r.spans or r.relations else Document.Status.UNLABELLED)
        for _, r in batch
    )
    annotated = [(doc, r) for doc, (_, r) in zip(documents, batch) if r.spans or r.relations]
    annotations = Annotation.objects.bulk_create(
        Annotation(document=doc, annotator=importer, status=Annotation.Status.SUBMITTED) for doc, _ in annotated
    )
    spans = [
        Span(annotation=annotation, key=str(i), start=s.start, end=s.end, label=entity_labels[s.label])
        for annotation, (_, r) in zip(annotations, annotated) for i, s in enumerate(r.spans)
    ]
    spans = Span.objects.bulk_create(spans, batch_size=5000)
    if any(r.relations for _, r in annotated):
        span_ids = {(s.annotation_id, s.key): s.pk for s in spans}
        Relation.objects.bulk_create(
            Relation(annotation=annotation, head_id=span_ids[annotation.pk, str(rel.head)],
                     tail_id=span_ids[annotation.pk, str(rel.tail)], label=relation_labels[rel.label])
            for annotation, (_, r) in zip(annotations, annotated) for rel in r.relations
        )
        counts["relations"] += sum(len(r.relations) for _, r in annotated)
    counts["documents"] += len(documents)
    counts["annotations"] += len(annotations)
    counts["spans"] += len(spans)


def run_import(job: Job) -> dict:
    """The body of an import job: open the stored upload and import it."""
    from django.core.files.storage import default_storage

    params = job.params
    importer = get_user_model().objects.filter(pk=job.created_by_id).first()
    with default_storage.open(params["path"], "rb") as raw:
        if not FORMATS[params["format"]].binary:
            report_progress(job, 0, count_lines(raw))
        result = import_records(
            job.project,
            read_records(params["format"], raw, job.project.language),
            importer=importer,
            create_labels=params.get("create_labels", False),
            skip_duplicates=params.get("skip_duplicates", True),
            job=job,
        )
    if job.progress_total is not None:
        report_progress(job, job.progress_total)
    return result
