"""Imports: a file of any registered format into a project, all or nothing.

The file is read as a stream and written in batches inside one transaction,
so a 100,000-line file never sits in memory whole, and one bad line rolls the
whole import back with its line number. Memory per import is bounded by the
batch size: duplicates of earlier batches are found in the database (the
transaction sees its own rows), spaCy's vocabulary is kept from growing (see
``projects.tokens.BulkTokenizer``) and Django's debug query log is cleared as it goes.

Checked documents go to ``projects.bulk``'s document writer: on PostgreSQL
``COPY`` on a thread of its own while the next batch is checked, elsewhere
``bulk_create``. ``bench/import.py`` measures it.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from itertools import islice

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import reset_queries, transaction

from exports.errors import InvalidFile
from exports.formats import FORMATS
from exports.records import DocumentRecord, FormatError
from projects import bulk
from projects.actions.jobs import JobCancelled, is_cancelled, report_progress, succeed_running_job
from projects.actions.labels import do_create_missing_labels, labels_by_name
from projects.errors import InvalidInput, over_limit
from projects.inputs import check_input
from projects.models import Document, Job, Label, Project
from projects.signals import annotation_submitted
from projects.spans import RelationIn, SpanIn, check_relations, check_spans
from projects.token_columns import columns_of, file_columns
from projects.tokens import BulkTokenizer, Tokens

LABEL_NAME_MAX = Label._meta.get_field("name").max_length
# What a file's spans become: the importer's submitted annotation, or the document's gold.
ANNOTATIONS_AS = ("submitted", "gold")
# An import of at least this many documents refreshes the planner's statistics when it commits.
ANALYZE_AFTER_DOCUMENTS = 1000
# Warnings (with their line numbers) kept in a job's result; the rest are counted.
MAX_WARNINGS = 100


class _Lines:
    """Decoded lines of a binary file; a decoding error names its line.

    Each iteration starts again from the top of the file, so a reader may make
    two passes (CoNLL does) without holding the file in memory.
    """

    def __init__(self, raw):
        self.raw = raw

    def __iter__(self) -> Iterator[str]:
        self.raw.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        for line_no, raw_line in enumerate(self.raw, start=1):
            try:
                # Final on a last line without a newline: a character cut off there is an error, not dropped.
                yield decoder.decode(raw_line, final=not raw_line.endswith(b"\n"))
            except UnicodeDecodeError:
                raise FormatError(line_no, "not valid UTF-8 text") from None


def count_lines(raw) -> int:
    """Lines in a binary file (a last line without a newline counts), leaving it rewound."""
    count, last = 0, b""
    for chunk in iter(lambda: raw.read(1 << 20), b""):
        count += chunk.count(b"\n")
        last = chunk
    raw.seek(0)
    return count + (1 if last and not last.endswith(b"\n") else 0)


def read_records(fmt_name: str, raw, language: str, options: dict | None = None
                 ) -> Iterable[tuple[int, DocumentRecord]]:
    """The records of binary file ``raw`` in format ``fmt_name``; ``options`` go to the reader as keyword
    arguments (those its ``Format.reader_options`` names, like ``{"documents": "sentence"}`` for conll)."""
    fmt = FORMATS[fmt_name]
    options = options or {}
    if fmt.binary:
        import spacy

        return fmt.reader(raw.read(), spacy.blank(language), **options)
    return fmt.reader(_Lines(raw), **options)


def import_records(
    project: Project,
    records: Iterable[tuple[int, DocumentRecord]],
    *,
    importer,
    create_labels: bool = False,
    skip_duplicates: bool = True,
    batch_size: int | None = None,
    job: Job | None = None,
    annotations_as: str = "submitted",
) -> dict:
    """Store records as documents (and the importer's annotations), all or nothing.

    ``annotations_as="submitted"`` stores an annotated record's spans (none, too) as the
    importer's submitted annotation (the importer then holds one of the document's k
    places); ``"gold"`` stores them as the document's reviewed gold annotation, with its
    first ``GoldRevision``. A record the file did not annotate is stored unlabelled.

    What is let pass with a word is in the result's ``warnings`` (``{"line", "message"}``,
    the first ``MAX_WARNINGS``; ``warnings_total`` counts them all): blank texts skipped
    (``blank_skipped``), texts already stored skipped (``duplicates_skipped``), exact
    duplicate spans and relations kept once, a DocBin's missing entity annotations.

    Raises FormatError naming the line of the first bad record; nothing is kept then.
    """
    batch_size = batch_size or settings.IMPORT_BATCH_SIZE
    entity_labels, relation_labels = labels_by_name(project)
    tokenizer = BulkTokenizer(project.language)
    if annotations_as not in ANNOTATIONS_AS:
        raise ValueError(f"annotations_as must be one of {', '.join(ANNOTATIONS_AS)}")
    writer = bulk.document_writer(project, acting_user=importer, as_gold=annotations_as == "gold")
    counts = {"documents": 0, "annotations": 0, "spans": 0, "relations": 0, "duplicates_skipped": 0,
              "blank_skipped": 0, "labels_created": [], "warnings": [], "warnings_total": 0}
    records = iter(records)
    with transaction.atomic(), writer:
        while batch := list(islice(records, batch_size)):
            lines_done = batch[-1][0]
            with tokenizer.batch():  # meanwhile the writer may still be storing the previous batch
                batch = [(line_no, document) for line_no, record in batch
                         if (document := _check_record(line_no, record, project, entity_labels, relation_labels,
                                                       create_labels, counts, tokenizer, writer)) is not None]
            writer.wait()  # the previous batch is in the database before duplicates are looked for
            if skip_duplicates:
                batch = _drop_duplicates(project, batch, counts)
            writer.write([document for _, document in batch], entity_labels, relation_labels)
            del batch
            reset_queries()  # with DEBUG on, Django would keep every statement (each a whole batch) until the end
            if job is not None:
                report_progress(job, lines_done)
                if is_cancelled(job):
                    raise JobCancelled()
    counts.update(writer.counts)
    if counts["annotations"] and project.retrain_every:
        # Imported gold (or submitted annotations) counts towards the model loop like saved ones.
        transaction.on_commit(lambda: annotation_submitted.send(sender=Project, project=project), robust=True)
    return counts


def _warn(counts: dict, line_no: int, message: str) -> None:
    counts["warnings_total"] += 1
    if len(counts["warnings"]) < MAX_WARNINGS:
        counts["warnings"].append({"line": line_no, "message": message})


def _check_record(line_no, record, project, entity_labels, relation_labels, create_labels, counts,
                  tokenizer, writer) -> bulk.NewDocument | None:
    """Check one record and give it its tokens: the document to store, None for one to skip (a blank
    text), FormatError if bad."""
    if not record.text.strip() and not record.spans:
        counts["blank_skipped"] += 1
        _warn(counts, line_no, "the text is empty or only whitespace; skipped")
        return None
    for message in record.warnings:
        _warn(counts, line_no, message)
    try:
        if len(record.text) > settings.DOCUMENT_MAX_CHARACTERS:
            raise over_limit("DOCUMENT_MAX_CHARACTERS", f"the document has {len(record.text):,} characters",
                             error=InvalidInput)
        # What PostgreSQL or psycopg cannot store (NUL, lone surrogates) or Python cannot walk (deep meta)
        # is named here rather than fail the whole job blindly.
        check_input(record.text, "the text")
        check_input(record.meta, "meta")
        check_input([span.label for span in record.spans], "spans label")
        check_input([relation.label for relation in record.relations], "relations label")
        if create_labels:
            for names, labels, kind in (({s.label for s in record.spans}, entity_labels, Label.Kind.ENTITY),
                                        ({r.label for r in record.relations}, relation_labels, Label.Kind.RELATION)):
                missing = names - labels.keys()
                if missing:
                    too_long = [name for name in missing if len(name) > LABEL_NAME_MAX]
                    if too_long:
                        raise InvalidInput(f"label {too_long[0][:40]!r}... is longer than {LABEL_NAME_MAX} "
                                           f"characters", code="invalid_label_name")
                    writer.wait()  # no savepoint of the label action may enclose a batch being written
                    for label in do_create_missing_labels(project, missing, kind):
                        labels[label.name] = label
                        counts["labels_created"].append(label.name)
        if not record.text.strip():
            raise InvalidInput("the text is only whitespace, but it has spans")
        own = file_columns(record.tokens, record.text)  # the file's own tokens (conll, spacy, Prodigy)
        if own is not None:
            tokens = Tokens.from_columns(own) if record.spans else None
        else:
            record.tokens, doc = tokenizer.tokenize(record.text)
            tokens = Tokens.from_columns(columns_of(doc)) if record.spans else None
        spans = [SpanIn(str(i), s.start, s.end, s.label) for i, s in enumerate(record.spans)]
        if spans:
            check_spans(spans, text_length=len(record.text), tokens=tokens,
                        entity_labels=entity_labels, allow_overlap=project.allow_overlapping_spans)
        if record.relations:
            check_relations([RelationIn(str(r.head), str(r.tail), r.label) for r in record.relations],
                            span_keys={s.key for s in spans}, relation_labels=relation_labels)
    except InvalidInput as exc:
        hint = " (import with create_labels=true to create it)" if exc.code == "unknown_label" else ""
        raise FormatError(line_no, exc.detail + hint) from None
    return bulk.NewDocument(text=record.text, content_hash=Document.hash_text(record.text), meta=record.meta,
                            tokens=record.tokens, spans=record.spans if record.annotated else None,
                            relations=record.relations)


def _drop_duplicates(project, batch, counts):
    """Leave out texts already in the project, earlier batches of this file included, or earlier in this batch."""
    existing = set(
        Document.objects.filter(project=project, content_hash__in={document.content_hash for _, document in batch})
        .values_list("content_hash", flat=True)
    )
    kept = []
    for line_no, document in batch:
        if document.content_hash in existing:
            counts["duplicates_skipped"] += 1
            _warn(counts, line_no, "the same text as a document already in the project or earlier in the file; "
                                   "skipped (import with skip_duplicates=false to keep it)")
            continue
        existing.add(document.content_hash)
        kept.append((line_no, document))
    return kept


def run_import(job: Job) -> dict:
    """The body of an import job: open the stored upload, import it, and mark the job succeeded.

    The job turns succeeded in the import's own transaction, so the row and
    the documents commit together (see ``projects.actions.jobs.succeed_running_job``). A bad file raises
    InvalidFile naming its line; nothing from it is kept then.
    """
    from projects.storage import open_stored

    params = job.params
    options = {name: params[name] for name in FORMATS[params["format"]].reader_options if name in params}
    importer = get_user_model().objects.filter(pk=job.created_by_id).first()
    with open_stored(params["path"]) as raw:
        total = None if FORMATS[params["format"]].binary else count_lines(raw)
        report_progress(job, 0, total)
        try:
            with transaction.atomic():
                result = import_records(
                    job.project,
                    read_records(params["format"], raw, job.project.language, options),
                    importer=importer,
                    create_labels=params.get("create_labels", False),
                    skip_duplicates=params.get("skip_duplicates", True),
                    annotations_as=params.get("annotations_as", "submitted"),
                    job=job,
                )
                report_progress(job, total if total is not None else job.progress_done)
                succeed_running_job(job, result)
        except FormatError as exc:
            raise InvalidFile(f"{exc} - nothing from this file was imported",
                              extra={"line": exc.line} if exc.line else None) from None
    if result["documents"] >= ANALYZE_AFTER_DOCUMENTS:
        analyze_imported_tables()
    return result


def analyze_imported_tables() -> None:
    """Refresh PostgreSQL's statistics of the tables an import fills (``projects.bulk.analyze``)."""
    bulk.analyze(bulk.DOCUMENT_TABLES)
