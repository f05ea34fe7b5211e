"""Imports: a file of any registered format into a project, all or nothing.

The file is read as a stream and written in batches inside one transaction,
so a 100,000-line file never sits in memory whole, and one bad line rolls the
whole import back with its line number. Memory per import is bounded by the
batch size: duplicates of earlier batches are found in the database (the
transaction sees its own rows), spaCy's vocabulary is kept from growing (see
``projects.tokens.BulkTokenizer``) and Django's debug query log is cleared as it goes.

On PostgreSQL the rows go in with ``COPY`` (ids taken from the sequences
first, so annotations, spans and relations can point at them) on a thread of
its own, while the next batch is checked; elsewhere with ``bulk_create``.
``bench/import.py`` measures it.
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from contextlib import contextmanager
from itertools import islice

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, connections, reset_queries, transaction
from django.utils import timezone

from exports.errors import InvalidFile
from exports.formats import FORMATS
from exports.records import DocumentRecord, FormatError
from projects.actions.jobs import JobCancelled, is_cancelled, report_progress
from projects.actions.labels import do_create_missing_labels, labels_by_name
from projects.errors import InvalidInput
from projects.selectors import render_key
from projects.models import Annotation, Assignment, Document, GoldRevision, Job, Label, Project, Relation, Span
from projects.spans import RelationIn, SpanIn, check_relations, check_spans
from projects.token_columns import columns_of, file_columns
from projects.tokens import BulkTokenizer, Tokens

logger = logging.getLogger(__name__)

LABEL_NAME_MAX = Label._meta.get_field("name").max_length
UNLABELLED = str(Document.Status.UNLABELLED)
SUBMITTED = str(Annotation.Status.SUBMITTED)
IMPORTED = str(GoldRevision.Action.IMPORT)
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
    writer_class = _CopyWriter if connection.vendor == "postgresql" else _OrmWriter
    writer = writer_class(project, importer, as_gold=annotations_as == "gold")
    counts = {"documents": 0, "annotations": 0, "spans": 0, "relations": 0, "duplicates_skipped": 0,
              "blank_skipped": 0, "labels_created": [], "warnings": [], "warnings_total": 0}
    records = iter(records)
    with transaction.atomic(), writer:
        while batch := list(islice(records, batch_size)):
            lines_done = batch[-1][0]
            with tokenizer.batch():  # meanwhile the writer may still be storing the previous batch
                batch = [(line_no, record) for line_no, record in batch
                         if _check_record(line_no, record, project, entity_labels, relation_labels, create_labels,
                                          counts, tokenizer, writer)]
            hashes = [Document.hash_text(record.text) for _, record in batch]
            writer.wait()  # the previous batch is in the database before duplicates are looked for
            if skip_duplicates:
                batch, hashes = _drop_duplicates(project, batch, hashes, counts)
            writer.write(batch, hashes, entity_labels, relation_labels, counts)
            del batch, hashes
            reset_queries()  # with DEBUG on, Django would keep every statement (each a whole batch) until the end
            if job is not None:
                report_progress(job, lines_done)
                if is_cancelled(job):
                    raise JobCancelled()
    return counts


def _warn(counts: dict, line_no: int, message: str) -> None:
    counts["warnings_total"] += 1
    if len(counts["warnings"]) < MAX_WARNINGS:
        counts["warnings"].append({"line": line_no, "message": message})


def _check_record(line_no, record, project, entity_labels, relation_labels, create_labels, counts,
                  tokenizer, writer) -> bool:
    """Check one record and give it its tokens; False for one to skip (a blank text), FormatError if bad."""
    if not record.text.strip() and not record.spans:
        counts["blank_skipped"] += 1
        _warn(counts, line_no, "the text is empty or only whitespace; skipped")
        return False
    for message in record.warnings:
        _warn(counts, line_no, message)
    try:
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
        # PostgreSQL cannot store NUL in text or jsonb; say so here rather than fail the whole job blindly.
        if "\x00" in record.text:
            raise InvalidInput("the text contains a NUL character (\\u0000)")
        if record.meta and "\\u0000" in json.dumps(record.meta):
            raise InvalidInput("meta contains a NUL character (\\u0000)")
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
    return True


def _drop_duplicates(project, batch, hashes, counts):
    """Leave out texts already in the project, earlier batches of this file included, or earlier in this batch."""
    existing = set(
        Document.objects.filter(project=project, content_hash__in=set(hashes)).values_list("content_hash", flat=True)
    )
    kept, kept_hashes = [], []
    for item, digest in zip(batch, hashes):
        if digest in existing:
            counts["duplicates_skipped"] += 1
            _warn(counts, item[0], "the same text as a document already in the project or earlier in the file; "
                                   "skipped (import with skip_duplicates=false to keep it)")
            continue
        existing.add(digest)
        kept.append(item)
        kept_hashes.append(digest)
    return kept, kept_hashes


class _Writer:
    def __init__(self, project: Project, importer, *, as_gold: bool = False):
        self.project = project
        self.importer_id = importer.pk if importer is not None else None
        self.as_gold = as_gold
        if as_gold:
            self.annotated_status = str(Document.Status.REVIEWED)
        else:
            self.annotated_status = str(Document.Status.SUBMITTED if project.annotators_per_document <= 1
                                        else Document.Status.IN_PROGRESS)

    def status_of(self, record: DocumentRecord) -> str:
        return self.annotated_status if record.annotated else UNLABELLED

    def assignees_of(self, record: DocumentRecord) -> int:
        """The importer's submitted annotation takes one of the document's k places; gold takes none."""
        return int(not self.as_gold and record.annotated)

    def gold_revision(self, record: DocumentRecord) -> tuple[list, list, list]:
        """``(spans, relations, added)`` of the first GoldRevision of gold imported from ``record``,
        as ``projects.actions.gold`` records a save."""
        spans = sorted(({"id": render_key(str(i)), "start": s.start, "end": s.end, "label": s.label}
                        for i, s in enumerate(record.spans)), key=lambda s: (s["start"], s["end"]))
        relations = [{"head": render_key(str(r.head)), "tail": render_key(str(r.tail)), "label": r.label}
                     for r in record.relations]
        added = [list(s) for s in sorted({(s.start, s.end, s.label) for s in record.spans})]
        return spans, relations, added

    def write(self, batch, hashes, entity_labels, relation_labels, counts) -> None:
        """Store one checked batch (perhaps in the background: ``wait`` for it)."""
        raise NotImplementedError

    def wait(self) -> None:
        """Return once every batch given to ``write`` is in the database, or raise what stopped it."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


class _OrmWriter(_Writer):
    """``bulk_create``: any database."""

    def write(self, batch, hashes, entity_labels, relation_labels, counts) -> None:
        documents = Document.objects.bulk_create(
            Document(project=self.project, text=r.text, meta=r.meta, content_hash=digest, tokens=r.tokens,
                     status=self.status_of(r), assignee_count=self.assignees_of(r))
            for (_, r), digest in zip(batch, hashes)
        )
        annotated = [(doc, r) for doc, (_, r) in zip(documents, batch) if r.annotated]
        annotations = Annotation.objects.bulk_create(
            Annotation(document=doc, annotator_id=self.importer_id, status=Annotation.Status.SUBMITTED,
                       is_gold=self.as_gold)
            for doc, _ in annotated
        )
        if self.as_gold:
            GoldRevision.objects.bulk_create(
                GoldRevision(document=doc, version=1, editor_id=self.importer_id, action=GoldRevision.Action.IMPORT,
                             spans=spans, relations=relations, added=added, removed=[])
                for doc, r in annotated for spans, relations, added in [self.gold_revision(r)]
            )
        else:
            now = timezone.now()
            Assignment.objects.bulk_create(
                Assignment(project=self.project, document=doc, annotator_id=self.importer_id, submitted_at=now)
                for doc, _ in annotated
            )
        spans = Span.objects.bulk_create(
            (Span(annotation=annotation, key=str(i), start=s.start, end=s.end, label=entity_labels[s.label])
             for annotation, (_, r) in zip(annotations, annotated) for i, s in enumerate(r.spans)),
            batch_size=5000,
        )
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


class _CopyWriter(_Writer):
    """PostgreSQL ``COPY``, several times faster than ``bulk_create``, on a thread of its own.

    While this thread sends a batch, the import's thread tokenizes the next
    one, so PostgreSQL's work (inserts, indexes, foreign key checks) runs on
    another core instead of after ours. Both threads use the one connection
    and transaction (psycopg serialises them); the import waits for a batch
    before it looks for duplicates, and for the last before it commits.
    Foreign keys are checked as each ``COPY`` ends rather than all at the
    commit, which would otherwise take seconds for a large file with nothing
    to overlap it.

    Columns the rows do not give get their fields' defaults, as with
    ``bulk_create``, so a field added to these models with a default needs
    nothing here; one without a default stops the import with a TypeError.
    """

    # The columns each row gives; every other column gets its field's default (see _defaults).
    DOCUMENT_FIELDS = ["id", "project", "text", "meta", "content_hash", "tokens", "status", "assignee_count"]
    ANNOTATION_FIELDS = ["id", "document", "annotator", "status", "is_gold"]
    ASSIGNMENT_FIELDS = ["project", "document", "annotator", "submitted_at"]
    GOLD_REVISION_FIELDS = ["document", "version", "editor", "action", "spans", "relations", "added", "removed"]
    SPAN_FIELDS = ["id", "annotation", "key", "start", "end", "label"]  # without "id" unless relations need it
    RELATION_FIELDS = ["annotation", "head", "tail", "label"]

    def __enter__(self):
        connection.ensure_connection()
        self.db = connections[DEFAULT_DB_ALIAS]  # Django's wrapper; the writer thread only borrows its conversions
        self.pg = connection.connection  # psycopg's own connection: thread-safe, unlike Django's wrapper
        self.pending = None
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-copy")
        self.pg.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return self

    def write(self, batch, hashes, entity_labels, relation_labels, counts) -> None:
        self.wait()
        self.pending = self.thread.submit(self._write, batch, hashes, entity_labels, relation_labels, counts)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
                self.pg.execute("SET CONSTRAINTS ALL DEFERRED")  # as Django expects for the rest of the transaction
            elif self.pending is not None:
                wait_for_futures([self.pending])  # stop using the connection before it rolls back
                if self.pending.exception() is not None:  # the first failure, which the one raised may follow from
                    logger.error("writing an import batch failed", exc_info=self.pending.exception())
        finally:
            self.thread.shutdown()

    def _write(self, batch, hashes, entity_labels, relation_labels, counts) -> None:
        now = timezone.now()
        annotated = [r for _, r in batch if r.annotated]
        span_count = sum(len(r.spans) for r in annotated)
        relation_count = sum(len(r.relations) for r in annotated)
        with self.pg.cursor() as cursor:
            document_ids = self._ids(cursor, Document, len(batch))
            annotation_ids = self._ids(cursor, Annotation, len(annotated))
            span_ids = self._ids(cursor, Span, span_count) if relation_count else None
            project_id = self.project.pk
            with self._copy(cursor, Document, self.DOCUMENT_FIELDS, now) as write_row:
                for (_, r), digest, pk in zip(batch, hashes, document_ids):
                    write_row((pk, project_id, r.text, json.dumps(r.meta, ensure_ascii=False), digest, r.tokens,
                               self.status_of(r), self.assignees_of(r)))
            annotated_docs = [pk for (_, r), pk in zip(batch, document_ids) if r.annotated]
            with self._copy(cursor, Annotation, self.ANNOTATION_FIELDS, now) as write_row:
                for pk, document_id in zip(annotation_ids, annotated_docs):
                    write_row((pk, document_id, self.importer_id, SUBMITTED, self.as_gold))
            if self.as_gold:
                with self._copy(cursor, GoldRevision, self.GOLD_REVISION_FIELDS, now) as write_row:
                    for document_id, r in zip(annotated_docs, annotated):
                        spans, relations, added = self.gold_revision(r)
                        write_row((document_id, 1, self.importer_id, IMPORTED, json.dumps(spans, ensure_ascii=False),
                                   json.dumps(relations, ensure_ascii=False), json.dumps(added, ensure_ascii=False),
                                   "[]"))
            else:
                with self._copy(cursor, Assignment, self.ASSIGNMENT_FIELDS, now) as write_row:
                    for document_id in annotated_docs:
                        write_row((project_id, document_id, self.importer_id, now))
            fields = self.SPAN_FIELDS if span_ids else self.SPAN_FIELDS[1:]
            next_span = iter(span_ids or ())
            ids_of_spans = []  # per annotated record, its spans' ids (only when relations need them)
            with self._copy(cursor, Span, fields, now) as write_row:
                for annotation_id, r in zip(annotation_ids, annotated):
                    if span_ids:
                        ids = [next(next_span) for _ in r.spans]
                        ids_of_spans.append(ids)
                        for pk, (i, s) in zip(ids, enumerate(r.spans)):
                            write_row((pk, annotation_id, str(i), s.start, s.end, entity_labels[s.label].pk))
                    else:
                        for i, s in enumerate(r.spans):
                            write_row((annotation_id, str(i), s.start, s.end, entity_labels[s.label].pk))
            if relation_count:
                with self._copy(cursor, Relation, self.RELATION_FIELDS, now) as write_row:
                    for annotation_id, r, ids in zip(annotation_ids, annotated, ids_of_spans):
                        for rel in r.relations:
                            write_row((annotation_id, ids[rel.head], ids[rel.tail], relation_labels[rel.label].pk))
        counts["documents"] += len(batch)
        counts["annotations"] += len(annotated)
        counts["spans"] += span_count
        counts["relations"] += relation_count

    @staticmethod
    def _ids(cursor, model, count: int) -> list[int]:
        """``count`` fresh ids from the table's sequence, ascending, so rows keep the file's order."""
        if not count:
            return []
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [model._meta.db_table, count])
        return sorted(row[0] for row in cursor.fetchall())

    @contextmanager
    def _copy(self, cursor, model, fields: list[str], now):
        """``COPY`` into ``model``'s table: ``write_row(values of fields)``; other columns get their defaults."""
        from psycopg import sql

        rest = _defaults(model, fields, now, self.db)
        columns = [model._meta.get_field(name).column for name in fields] + [column for column, _ in rest]
        tail = tuple(value for _, value in rest)
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        with cursor.copy(statement) as copy:
            write_row = copy.write_row
            yield (lambda values: write_row(values + tail)) if tail else write_row


def _defaults(model, given: list[str], now, db) -> list[tuple[str, object]]:
    """(column, value) for the fields of ``model`` not in ``given``, as ``bulk_create`` would fill them.

    The primary key is left to its sequence; ``auto_now``/``auto_now_add`` fields get ``now``.
    """
    defaults = []
    for field in model._meta.concrete_fields:
        if field.name in given or field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        elif field.has_default():
            value = field.get_db_prep_save(field.get_default(), db)
        elif field.null:
            value = None
        else:
            raise TypeError(f"{model.__name__}.{field.name} has no default: the import must give it a value")
        defaults.append((field.column, value))
    return defaults


def run_import(job: Job) -> dict:
    """The body of an import job: open the stored upload, import it, and mark the job succeeded.

    The job turns succeeded in the import's own transaction, so the row and
    the documents commit together (see ``_record_success``). A bad file raises
    InvalidFile naming its line; nothing from it is kept then.
    """
    from django.core.files.storage import default_storage

    params = job.params
    options = {name: params[name] for name in FORMATS[params["format"]].reader_options if name in params}
    importer = get_user_model().objects.filter(pk=job.created_by_id).first()
    with default_storage.open(params["path"], "rb") as raw:
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
                _record_success(job, result)
        except FormatError as exc:
            raise InvalidFile(f"{exc} - nothing from this file was imported",
                              extra={"line": exc.line} if exc.line else None) from None
    if result["documents"] >= ANALYZE_AFTER_DOCUMENTS:
        analyze_imported_tables()
    return result


def analyze_imported_tables() -> None:
    """Refresh PostgreSQL's statistics of the tables an import fills.

    Autovacuum would, but only later: until then the planner takes a project of
    100,000 new documents for a few hundred rows and picks nested loops and
    disk sorts (an export's queries took twice as long).
    """
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Document, Annotation, Assignment, GoldRevision, Span, Relation)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(map(connection.ops.quote_name, tables)))


def _record_success(job: Job, result: dict) -> None:
    """Mark the job succeeded inside the import's transaction; a job no longer running rolls the import back.

    Committing status and documents together closes the window (seconds, for
    a large file: the commit checks every foreign key) in which a cancel
    could mark the job cancelled while its documents were being kept: a
    cancel that came first makes this raise JobCancelled, and one that comes
    after waits for the commit and finds the job finished. A second delivery
    of the same task running alongside rolls back the same way.
    """
    updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.SUCCEEDED, result=result, progress_done=job.progress_done,
        progress_total=job.progress_total, finished_at=timezone.now(), error="",
    )
    if not updated:
        raise JobCancelled()
