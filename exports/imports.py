"""Imports: a file of any registered format into a project, all or nothing.

The file is cut into chunks of whole lines (``exports.import_chunks``): worker
processes read, check and tokenize them (``exports.processes``; a small file's
chunks are checked in this process), and this process stores their documents
in file order, in one transaction, so one bad line rolls the whole import back
with its line number, the first in the file. Memory per import is bounded by
the chunks in flight: duplicates of earlier chunks are found in the database
(the transaction sees its own rows), each worker's spaCy vocabulary is kept
from growing (``projects.tokens.BulkTokenizer``) and Django's debug query log is
cleared as it goes.

Checked documents come packed for ``projects.bulk``'s document writer: on
PostgreSQL ``COPY`` on a thread of its own while the next chunk is taken in,
elsewhere ``bulk_create``. ``bench/import.py`` measures it.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import reset_queries, transaction

from exports.errors import ImportProcessLost, InvalidFile
from exports.formats import FORMATS, conll
from exports.import_chunks import (
    LINE_END,
    Checked,
    Checker,
    ConllDocuments,
    ImportContext,
    Records,
    SurveyLines,
    cut,
)
from exports.processes import WorkerLost, WorkerProcesses
from exports.records import DocumentRecord, FormatError
from projects import bulk
from projects.actions.jobs import JobCancelled, is_cancelled, report_progress, succeed_running_job
from projects.actions.labels import do_create_missing_labels, labels_by_name
from projects.models import Job, Label, Project
from projects.selectors import stored_content_hashes
from projects.signals import annotation_submitted

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
    """The records of binary file ``raw`` in format ``fmt_name``, read here, in this process; ``options`` go to
    the reader as keyword arguments (those its ``Format.reader_options`` names, like ``{"documents":
    "sentence"}`` for conll)."""
    fmt = FORMATS[fmt_name]
    options = options or {}
    if fmt.binary:
        import spacy

        raw.seek(0)
        return fmt.reader(raw.read(), spacy.blank(language), **options)
    return fmt.reader(_Lines(raw), **options)


def import_file(project: Project, fmt_name: str, raw, *, importer, options: dict | None = None,
                create_labels: bool = False, skip_duplicates: bool = True, annotations_as: str = "submitted",
                job: Job | None = None, batch_size: int | None = None, processes: int | None = None) -> dict:
    """Import binary file ``raw`` in format ``fmt_name`` (reader ``options`` as ``read_records`` takes them).

    Read, checked and tokenized by chunks of ``batch_size`` lines (CoNLL: documents; a DocBin, read
    here: records) in ``processes`` worker processes, by default ``IMPORT_PROCESSES`` for a file of
    ``IMPORT_PARALLEL_BYTES`` or more and none (this process) for a smaller one; stored as
    ``import_records`` says. ``ImportProcessLost`` if a worker process dies.
    """
    fmt = FORMATS[fmt_name]
    options = options or {}
    batch_size = batch_size or settings.IMPORT_BATCH_SIZE
    if processes is None:
        raw.seek(0, 2)
        processes = settings.IMPORT_PROCESSES if raw.tell() >= settings.IMPORT_PARALLEL_BYTES else 0
    context = import_context(project, fmt_name, options, create_labels=create_labels)
    with checkers(context, processes) as check:
        raw.seek(0)
        if fmt.binary:
            chunks = check(records_chunks(read_records(fmt_name, raw, project.language, options), batch_size))
        elif fmt_name == "conll":
            chunks = conll_chunks(raw, check, options.get("documents", "auto"), batch_size)
        else:
            chunks = check(cut(raw, LINE_END, batch_size))
        return store_checked(project, chunks, importer=importer, create_labels=create_labels,
                             skip_duplicates=skip_duplicates, annotations_as=annotations_as, job=job)


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
    processes: int = 0,
) -> dict:
    """Store records as documents (and the importer's annotations), all or nothing; checked in this
    process, or with ``processes`` in that many worker processes (the records are sent there).

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
    context = import_context(project, None, {}, create_labels=create_labels)
    with checkers(context, processes) as check:
        return store_checked(project, check(records_chunks(records, batch_size or settings.IMPORT_BATCH_SIZE)),
                             importer=importer, create_labels=create_labels, skip_duplicates=skip_duplicates,
                             annotations_as=annotations_as, job=job)


def import_context(project: Project, fmt_name: str | None, options: dict, *, create_labels: bool) -> ImportContext:
    entity_labels, relation_labels = labels_by_name(project)
    return ImportContext(fmt=fmt_name, options=options, language=project.language,
                         entity_labels=frozenset(entity_labels), relation_labels=frozenset(relation_labels),
                         create_labels=create_labels, allow_overlap=project.allow_overlapping_spans,
                         copy=bulk.document_writer_class().copy, max_characters=settings.DOCUMENT_MAX_CHARACTERS,
                         max_warnings=MAX_WARNINGS)


@contextmanager
def checkers(context: ImportContext, processes: int) -> Iterator[Callable[[Iterable], Iterator]]:
    """``check(chunks)``: the chunks' results in order, from ``processes`` worker processes or (0) this one."""
    if not processes:
        checker = Checker(context)
        yield lambda chunks: map(checker, chunks)
        return
    with WorkerProcesses(processes, Checker, context) as workers:
        checker = None

        def here(chunk):  # while no worker is ready yet
            nonlocal checker
            checker = checker or Checker(context)
            return checker(chunk)

        def check(chunks: Iterable) -> Iterator:
            try:
                yield from workers.map(chunks, here if settings.IMPORT_CHECK_WHILE_STARTING else None)
            except WorkerLost as exc:
                raise ImportProcessLost(
                    f"a process reading the file stopped ({exc}: killed, or out of memory); nothing from this "
                    "file was imported; start the import again", extra={"processes": processes}) from None

        yield check


def records_chunks(records: Iterable[tuple[int, DocumentRecord]], batch_size: int) -> Iterator[Records]:
    records = iter(records)
    while batch := list(islice(records, batch_size)):
        yield Records(batch, batch[-1][0])


def conll_chunks(raw, check: Callable[[Iterable], Iterator], documents: str, batch_size: int) -> Iterator[Checked]:
    """A CoNLL file's chunks checked: first its survey, by pieces cut at sentence ends and merged in order
    (FormatError for the file's first wrong line, as ``conll.read_conll`` says), then its documents, by
    pieces of ``batch_size`` documents."""
    if documents not in conll.DOCUMENTS:
        raise ValueError(f"documents must be one of {', '.join(conll.DOCUMENTS)}, not {documents!r}")
    survey = conll.Survey()
    for part, undecodable in check(SurveyLines(piece.first_line, piece.data)
                                   for piece in cut(raw, conll.SENTENCE_END, batch_size)):
        if undecodable is not None:  # a line that is not text stops the survey at once, wherever it is
            raise undecodable
        survey.merge(part)
    scheme = survey.finish()
    by_sentence = survey.by_sentence(documents)
    raw.seek(0)
    pieces = cut(raw, conll.SENTENCE_END if by_sentence else conll.DOCUMENT_START, batch_size)
    return check(ConllDocuments(piece.first_line, piece.data, scheme, by_sentence) for piece in pieces)


def store_checked(project: Project, chunks: Iterable[Checked], *, importer, create_labels: bool,
                  skip_duplicates: bool, annotations_as: str, job: Job | None) -> dict:
    """Store checked chunks in their order, in one transaction: the first one with an error raises it."""
    if annotations_as not in ANNOTATIONS_AS:
        raise ValueError(f"annotations_as must be one of {', '.join(ANNOTATIONS_AS)}")
    entity_labels, relation_labels = labels_by_name(project)
    writer = bulk.document_writer(project, acting_user=importer, as_gold=annotations_as == "gold")
    counts = {"documents": 0, "annotations": 0, "spans": 0, "relations": 0, "duplicates_skipped": 0,
              "blank_skipped": 0, "labels_created": [], "warnings": [], "warnings_total": 0}
    with transaction.atomic(), writer:
        for checked in chunks:
            counts["blank_skipped"] += checked.blank_skipped
            counts["warnings_total"] += checked.warnings_total - len(checked.warnings)
            for line_no, message in checked.warnings:
                _warn(counts, line_no, message)
            if checked.error is not None:
                raise checked.error
            for kind, names in checked.new_labels if create_labels else ():
                labels = entity_labels if kind == Label.Kind.ENTITY else relation_labels
                missing = set(names) - labels.keys()
                if missing:
                    writer.wait()  # no savepoint of the label action may enclose a batch being written
                    for label in do_create_missing_labels(project, missing, kind):
                        labels[label.name] = label
                        counts["labels_created"].append(label.name)
            writer.wait()  # the previous batch is in the database before duplicates are looked for
            batch, lines_done = checked.documents, checked.last_line
            if skip_duplicates:
                batch = _drop_duplicates(project, batch, checked.lines, counts)
            writer.write(batch, entity_labels, relation_labels)
            del batch, checked
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


def _drop_duplicates(project, batch: bulk.DocumentBatch, lines: list[int], counts: dict) -> bulk.DocumentBatch:
    """Leave out texts already in the project, earlier batches of this file included, or earlier in this batch."""
    existing = stored_content_hashes(project, set(batch.hashes))
    kept = []
    for i, content_hash in enumerate(batch.hashes):
        if content_hash in existing:
            counts["duplicates_skipped"] += 1
            _warn(counts, lines[i], "the same text as a document already in the project or earlier in the file; "
                                    "skipped (import with skip_duplicates=false to keep it)")
            continue
        existing.add(content_hash)
        kept.append(i)
    return batch if len(kept) == len(batch) else batch.take(kept)


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
                result = import_file(
                    job.project, params["format"], raw, options=options,
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
