"""The fast path of projects' actions: bulk writes of documents with their annotations, and of suggestions.

The one module that writes projects' tables with raw SQL. Imports hand it checked
documents (``DocumentWriter``), pre-labelling its suggestions (through
``projects.actions.suggestions.do_replace_suggestions``); nothing else writes
these tables in bulk.

``FIELDS`` lists, once per model, the fields each row gives, in order; every
other column gets its field's default as ``bulk_create`` fills it (``defaults``),
so a field added to these models with a default needs nothing here, and one
without a default stops the write with a TypeError. Both paths store the same
rows from the same tuples:

- on PostgreSQL, ``COPY``, several times faster than INSERT, with ids taken from
  the tables' sequences first so that annotations, spans and relations can point
  at rows not yet sent; ``CopyDocumentWriter`` sends each batch on a thread of
  its own while its caller checks the next;
- elsewhere, ``bulk_create``.

Documents reach a writer as a ``DocumentBatch`` (``pack_documents``): its documents' own
columns already in the form the writer stores (``COPY`` text on PostgreSQL), their
spans and relations as flat integers. An import packs its batches in worker
processes, where it checks them, so the process that writes only adds the columns
that depend on the project (ids, status, the overlap sample) and sends them on.

Everything happens in the caller's transaction: a batch that fails leaves the
caller to roll back the whole of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from typing import Protocol

from django.db import DEFAULT_DB_ALIAS, connection, connections
from psycopg.adapt import PyFormat, Transformer
from django.db.models import JSONField
from django.utils import timezone

from projects.models import Annotation, Assignment, Document, GoldRevision, Label, Project, Relation, Span, Suggestion
from projects.overlap import phase_of, sample_flags, wanted
from projects.sql import columns, table

logger = logging.getLogger(__name__)

# The fields a row gives, in this order, on both paths (the primary key apart: see copy_rows).
FIELDS = {
    Document: ("project", "text", "meta", "content_hash", "tokens", "status", "assignee_count", "overlap"),
    Annotation: ("document", "annotator", "status", "is_gold"),
    Assignment: ("project", "document", "annotator", "submitted_at"),
    GoldRevision: ("document", "version", "editor", "action", "spans", "relations", "added", "removed"),
    Span: ("annotation", "key", "start", "end", "label"),
    Relation: ("annotation", "head", "tail", "label"),
    Suggestion: ("document", "start", "end", "label", "score", "model", "model_version"),
}
# The fields of a Document that ``pack_documents`` gives (the rest depend on the project): a run of FIELDS.
PACKED = ("text", "meta", "content_hash", "tokens")
assert "\t".join(PACKED) in "\t".join(FIELDS[Document])
# The tables a DocumentWriter fills.
DOCUMENT_TABLES = (Document, Annotation, Assignment, GoldRevision, Span, Relation)
INSERT_BATCH = 2000  # rows per INSERT of insert()'s bulk_create (SQLite)

UNLABELLED = str(Document.Status.UNLABELLED)
IN_PROGRESS = str(Document.Status.IN_PROGRESS)
REVIEWED = str(Document.Status.REVIEWED)
SUBMITTED = str(Annotation.Status.SUBMITTED)
IMPORTED = str(GoldRevision.Action.IMPORT)


# ------------------------------------------------------------------------------ rows in, either way

def insert(model, rows: Iterable[tuple]) -> None:
    """Store ``rows`` (values of ``FIELDS[model]``, in order) in ``model``'s table, in the caller's transaction:
    ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere. Other columns get their defaults; ids their sequence."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy_rows(cursor, model, rows, now=timezone.now(), db=connection)
    else:
        create_rows(model, rows, batch_size=INSERT_BATCH)


def create_rows(model, rows: Iterable[tuple], *, batch_size: int | None = None) -> list:
    """``bulk_create`` of ``rows`` (values of ``FIELDS[model]``); the new instances, with their ids."""
    names = [model._meta.get_field(name).attname for name in FIELDS[model]]
    return model.objects.bulk_create((model(**dict(zip(names, row, strict=True))) for row in rows),
                                     batch_size=batch_size)


def copy_rows(cursor, model, rows: Iterable[tuple], *, now, db, ids: Sequence[int] | None = None) -> None:
    """``COPY`` ``rows`` (values of ``FIELDS[model]``) into ``model``'s table through ``cursor`` (psycopg's, or
    Django's); with ``ids``, row i gets id ``ids[i]``, else its sequence's next. JSON values are encoded here,
    and columns the rows do not give get ``defaults(model, ..., now, db)``."""
    fields = FIELDS[model]
    rest = defaults(model, fields, now, db)
    given = (("pk",) if ids is not None else ()) + fields
    tail = tuple(value for _, value in rest)
    statement = (f"COPY {table(model, db)} ({columns(model, given + tuple(name for name, _ in rest), db=db)}) "
                 "FROM STDIN")
    json_at = [i for i, name in enumerate(given) if name != "pk" and isinstance(model._meta.get_field(name), JSONField)]
    if ids is not None or json_at or tail:
        rows = _prepared(rows, ids, json_at, tail)
    with cursor.copy(statement) as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(row)


def _prepared(rows: Iterable[tuple], ids: Sequence[int] | None, json_at: list[int], tail: tuple) -> Iterator:
    """``rows`` as ``COPY`` takes them: after their id (when given), JSON encoded, followed by ``tail``."""
    if ids is not None:
        rows = ((pk, *row) for pk, row in zip(ids, rows, strict=True))
    if not json_at:
        yield from (row + tail for row in rows) if tail else rows
        return
    for row in rows:
        row = list(row)
        for i in json_at:
            row[i] = _dumps(row[i])
        row.extend(tail)
        yield row


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def defaults(model, given: Sequence[str], now, db) -> list[tuple[str, object]]:
    """(field name, value) for the concrete fields of ``model`` not in ``given``, as ``bulk_create`` fills them.

    The primary key is left out (its sequence gives it); ``auto_now``/``auto_now_add`` fields get ``now``.
    A field with no default that may not be null is a TypeError: the rows must give it.
    """
    out = []
    for f in model._meta.concrete_fields:
        if f.name in given or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default():
            value = f.get_db_prep_save(f.get_default(), db)
        elif f.null:
            value = None
        else:
            raise TypeError(f"{model.__name__}.{f.name} has no default: the bulk write must give it a value")
        out.append((f.name, value))
    return out


def next_ids(cursor, model, count: int) -> list[int]:
    """``count`` fresh ids from the table's sequence, ascending, so rows keep their order (PostgreSQL)."""
    if not count:
        return []
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                   [model._meta.db_table, model._meta.pk.column, count])
    return sorted(row[0] for row in cursor.fetchall())


def analyze(models: Iterable = DOCUMENT_TABLES) -> None:
    """Refresh PostgreSQL's statistics of these tables (elsewhere, nothing).

    Autovacuum would, but only later: until then the planner takes a project of
    100,000 new documents for a few hundred rows and picks nested loops and
    disk sorts (an export's queries took twice as long).
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(table(model) for model in models))


# ------------------------------------------------------------------------------ documents with annotations

class NewSpan(Protocol):
    """A span of a NewDocument: code point offsets, end exclusive, and an entity label's name."""

    start: int
    end: int
    label: str


class NewRelation(Protocol):
    """A relation of a NewDocument: ``head`` and ``tail`` index its spans; a relation label's name."""

    head: int
    tail: int
    label: str


@dataclass(slots=True)
class NewDocument:
    """A checked document to store.

    ``content_hash`` is ``Document.hash_text(text)``; ``tokens`` are packed
    (``projects.token_columns``). ``spans`` are its annotation's, already
    checked (``projects.spans``), each stored with its index as its key (the
    API's span ``id``): an empty sequence is an annotation with no entity, None
    no annotation at all (the document is stored unlabelled). Any objects with
    the attributes of ``NewSpan`` and ``NewRelation`` will do, such as a file's
    records: referred to rather than copied, a batch of 2,000 documents does not
    leave 12,000 more objects for the garbage collector (an import ran 10%
    slower with copies).
    """

    text: str
    content_hash: str
    meta: dict = field(default_factory=dict)
    tokens: bytes | None = None
    spans: Sequence[NewSpan] | None = None
    relations: Sequence[NewRelation] = ()


@dataclass(slots=True)
class DocumentBatch:
    """Checked documents as a writer stores them, made by ``pack_documents`` wherever they were checked.

    Plain lists of strings, bytes and integers, cheap to send from one process
    to another (a batch of ``NewDocument`` objects took more time to pickle and
    unpickle than its ``COPY``). Per document: ``rows``, its ``PACKED`` columns
    (``COPY`` text when ``copy``, else a tuple of values); ``hashes``, its
    content hash; ``spans``, its annotation's spans as flat ``(start, end, label
    index)`` triples, None when it has no annotation; ``relations``, flat
    ``(head, tail, label index)`` triples. Label indices point into
    ``entity_labels`` and ``relation_labels`` (names).
    """

    copy: bool
    rows: list = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    spans: list[tuple[int, ...] | None] = field(default_factory=list)
    relations: list[tuple[int, ...]] = field(default_factory=list)
    entity_labels: list[str] = field(default_factory=list)
    relation_labels: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, indices: Sequence[int]) -> DocumentBatch:
        """The batch of these documents only, in this order."""
        return DocumentBatch(self.copy, [self.rows[i] for i in indices], [self.hashes[i] for i in indices],
                             [self.spans[i] for i in indices], [self.relations[i] for i in indices],
                             self.entity_labels, self.relation_labels)


def pack_documents(documents: Iterable[NewDocument], *, copy: bool) -> DocumentBatch:
    """``documents`` as a ``DocumentBatch``: ``copy`` for ``CopyDocumentWriter`` (a writer's ``copy``). Pure."""
    batch = DocumentBatch(copy)
    entity_index: dict[str, int] = {}
    relation_index: dict[str, int] = {}
    for d in documents:
        if copy:
            tokens = "\\N" if d.tokens is None else "\\\\x" + d.tokens.hex()
            batch.rows.append(f"{_copy_text(d.text)}\t{_copy_text(_dumps(d.meta))}\t{d.content_hash}\t{tokens}"
                              .encode())
        else:
            batch.rows.append((d.text, d.meta, d.content_hash, d.tokens))
        batch.hashes.append(d.content_hash)
        if d.spans is None:
            batch.spans.append(None)
        else:
            flat = []
            for s in d.spans:
                at = entity_index.get(s.label)
                flat += (s.start, s.end, _index(entity_index, batch.entity_labels, s.label) if at is None else at)
            batch.spans.append(tuple(flat))
        batch.relations.append(tuple(value for r in d.relations for value in (
            r.head, r.tail, _index(relation_index, batch.relation_labels, r.label))))
    return batch


def _index(indices: dict[str, int], names: list[str], name: str) -> int:
    at = indices.get(name)
    if at is None:
        at = indices[name] = len(names)
        names.append(name)
    return at


def _copy_text(value: str) -> str:
    """``value`` as a field of ``COPY``'s text format: backslash, tab and line ends escaped."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def copy_fields(cursor, values: Sequence) -> bytes:
    """``values`` as fields of ``COPY``'s text format, each after a tab, adapted as psycopg adapts them."""
    dumped = Transformer.from_context(cursor).dump_sequence(values, [PyFormat.TEXT] * len(values))
    return b"".join(b"\t\\N" if value is None else b"\t" + _copy_text(bytes(value).decode()).encode()
                    for value in dumped)


def document_writer_class() -> type[DocumentWriter]:
    """The fastest writer of this database: ``CopyDocumentWriter`` on PostgreSQL, else ``DocumentWriter``."""
    return CopyDocumentWriter if connection.vendor == "postgresql" else DocumentWriter


def document_writer(project: Project, *, acting_user, as_gold: bool = False, keep_ids: bool = False
                    ) -> DocumentWriter:
    return document_writer_class()(project, acting_user=acting_user, as_gold=as_gold, keep_ids=keep_ids)


class DocumentWriter:
    """Stores documents in batches, each annotated one with ``acting_user``'s annotation; ``bulk_create``.

    ::

        with document_writer(project, acting_user=user) as writer:  # keep_ids=True: writer.document_ids
            writer.write(documents, entity_labels, relation_labels)  # perhaps still running when it returns
            writer.wait()  # before reading what it wrote, or changing a savepoint around it
        writer.counts  # {"documents": ..., "annotations": ..., "spans": ..., "relations": ...}

    ``documents`` are ``NewDocument`` objects or a ``DocumentBatch`` packed for
    this writer (``pack_documents(..., copy=writer.copy)``, perhaps in another
    process). An annotation is the acting user's submitted one, which takes one
    of the document's k places (an ``Assignment``); with ``as_gold`` it is the
    document's reviewed gold, with its first ``GoldRevision`` (action
    ``import``), and takes none. Everything is written in the caller's
    transaction.
    """

    copy = False  # the form of DocumentBatch.rows this writer takes

    def __init__(self, project: Project, *, acting_user, as_gold: bool = False, keep_ids: bool = False):
        self.project = project
        # With keep_ids, the ids of the documents written, in order (an import keeps none: memory stays flat).
        self.document_ids: list[int] | None = [] if keep_ids else None
        self.user_id = acting_user.pk if acting_user is not None else None
        self.as_gold = as_gold
        # The overlap sample goes on from the documents already stored (read here, in the caller's transaction).
        self.ordinal = Document.objects.filter(project=project).count() if project.overlap_sample < 1 else 0
        self.phase = phase_of(project.pk, project.split_seed)
        self.counts = {"documents": 0, "annotations": 0, "spans": 0, "relations": 0}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def write(self, documents: DocumentBatch | Sequence[NewDocument], entity_labels: Mapping[str, Label],
              relation_labels: Mapping[str, Label]) -> None:
        """Store one batch (perhaps in the background: ``wait`` for it); labels by name."""
        self.store(self.packed(documents), entity_labels, relation_labels)

    def packed(self, documents: DocumentBatch | Sequence[NewDocument]) -> DocumentBatch:
        if isinstance(documents, DocumentBatch):
            if documents.copy != self.copy:
                raise ValueError(f"a batch packed with copy={documents.copy} for a writer that takes copy={self.copy}")
            return documents
        return pack_documents(documents, copy=self.copy)

    def wait(self) -> None:
        """Return once every batch given to ``write`` is in the database, or raise what stopped it."""

    def store(self, batch: DocumentBatch, entity_labels: Mapping[str, Label],
              relation_labels: Mapping[str, Label]) -> None:
        """Store one batch now, on this thread."""
        now = timezone.now()
        span_labels = [entity_labels[name].pk for name in batch.entity_labels]
        annotated = [i for i, spans in enumerate(batch.spans) if spans is not None]
        span_count = sum(len(batch.spans[i]) for i in annotated) // 3
        relation_count = sum(len(batch.relations[i]) for i in annotated) // 3
        document_ids = self._store_documents(batch, now)
        if self.document_ids is not None:
            self.document_ids += document_ids
        annotated_ids = [document_ids[i] for i in annotated]
        user_id, project_id = self.user_id, self.project.pk
        annotation_ids = self._insert(Annotation, ((pk, user_id, SUBMITTED, self.as_gold) for pk in annotated_ids),
                                      len(annotated), now, ids=True)
        if self.as_gold:
            self._insert(GoldRevision, (self._gold_revision_row(pk, batch, i) for pk, i in zip(annotated_ids, annotated)),
                         len(annotated), now)
        else:
            self._insert(Assignment, ((project_id, pk, user_id, now) for pk in annotated_ids), len(annotated), now)
        span_ids = self._insert(
            Span, ((annotation_id, str(k // 3), spans[k], spans[k + 1], span_labels[spans[k + 2]])
                   for annotation_id, spans in zip(annotation_ids, (batch.spans[i] for i in annotated))
                   for k in range(0, len(spans), 3)),
            span_count, now, ids=relation_count > 0)
        if relation_count:
            self._insert(Relation, self._relation_rows(annotation_ids, [batch.spans[i] for i in annotated],
                                                       [batch.relations[i] for i in annotated], span_ids,
                                                       [relation_labels[name].pk for name in batch.relation_labels]),
                         relation_count, now)
        self.counts["documents"] += len(batch)
        self.counts["annotations"] += len(annotated)
        self.counts["spans"] += span_count
        self.counts["relations"] += relation_count

    def _insert(self, model, rows: Iterator[tuple], count: int, now, *, ids: bool = False) -> list[int]:
        """Store ``count`` rows of ``model``; their ids, in order, when ``ids``."""
        if not count:
            return []
        created = create_rows(model, rows, batch_size=5000)
        return [obj.pk for obj in created] if ids else []

    def _store_documents(self, batch: DocumentBatch, now) -> list[int]:
        """Store the batch's documents; their ids, in order."""
        project_id = self.project.pk
        rows = ((project_id, *row, *parts) for row, parts in zip(batch.rows, self._document_parts(batch)))
        return self._insert(Document, rows, len(batch), now, ids=True)

    def _document_parts(self, batch: DocumentBatch) -> Iterator[tuple[str, int, bool]]:
        """Per document its status, assignee count and overlap flag. A document annotated by the importer is
        submitted when theirs is its only place (k = 1, or outside the overlap sample), else in progress;
        gold is reviewed."""
        project, as_gold = self.project, self.as_gold
        flags = sample_flags(self.ordinal, len(batch), project.overlap_sample, self.phase)
        self.ordinal += len(batch)
        for spans, overlap in zip(batch.spans, flags, strict=True):
            if spans is None:
                status = UNLABELLED
            elif as_gold:
                status = REVIEWED
            else:
                status = SUBMITTED if wanted(project.annotators_per_document, overlap) <= 1 else IN_PROGRESS
            yield status, int(spans is not None and not as_gold), overlap

    def _gold_revision_row(self, document_id: int, batch: DocumentBatch, i: int) -> tuple:
        """The first GoldRevision of gold imported as document ``i``, as ``projects.actions.gold`` records a save."""
        flat, names = batch.spans[i], batch.entity_labels
        triples = [(flat[k], flat[k + 1], names[flat[k + 2]]) for k in range(0, len(flat), 3)]
        spans = sorted(({"id": n, "start": start, "end": end, "label": label}
                        for n, (start, end, label) in enumerate(triples)),
                       key=lambda s: (s["start"], s["end"]))  # a span's id: its key "n" as the API renders it
        flat, names = batch.relations[i], batch.relation_labels
        relations = [{"head": flat[k], "tail": flat[k + 1], "label": names[flat[k + 2]]} for k in range(0, len(flat), 3)]
        added = [list(s) for s in sorted(set(triples))]
        return (document_id, 1, self.user_id, IMPORTED, spans, relations, added, [])

    @staticmethod
    def _relation_rows(annotation_ids, spans, relations, span_ids, label_ids) -> Iterator[tuple]:
        next_span = iter(span_ids)  # in the order the spans were written
        for annotation_id, flat_spans, flat in zip(annotation_ids, spans, relations):
            ids = [next(next_span) for _ in range(len(flat_spans) // 3)]
            for k in range(0, len(flat), 3):
                yield (annotation_id, ids[flat[k]], ids[flat[k + 1]], label_ids[flat[k + 2]])


class CopyDocumentWriter(DocumentWriter):
    """PostgreSQL ``COPY``, several times faster than ``bulk_create``, on a thread of its own.

    While this thread sends a batch, the caller's thread checks the next one
    (tokenizes it, for an import), so PostgreSQL's work (inserts, indexes,
    foreign key checks) runs on another core instead of after the caller's.
    Both threads use the one connection and transaction (psycopg serialises
    them); the caller waits for a batch before it looks for duplicates of it,
    and for the last before it commits. Foreign keys are checked as each
    ``COPY`` ends rather than all at the commit, which would otherwise take
    seconds for a large file with nothing to overlap it.
    """

    copy = True

    def __enter__(self):
        connection.ensure_connection()
        self.db = connections[DEFAULT_DB_ALIAS]  # Django's wrapper; the writer thread only borrows its quoting
        self.pg = connection.connection  # psycopg's own connection: thread-safe, unlike Django's wrapper
        self.pending = None
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-copy")
        self.pg.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return self

    def write(self, documents, entity_labels, relation_labels) -> None:
        batch = self.packed(documents)
        self.wait()
        self.pending = self.thread.submit(self.store, batch, entity_labels, relation_labels)

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
                    logger.error("writing a batch of documents failed", exc_info=self.pending.exception())
        finally:
            self.thread.shutdown()

    def _insert(self, model, rows, count, now, *, ids=False) -> list[int]:
        if not count:
            return []
        with self.pg.cursor() as cursor:
            pks = next_ids(cursor, model, count) if ids else None
            copy_rows(cursor, model, rows, now=now, db=self.db, ids=pks)
        return pks or []

    def _store_documents(self, batch: DocumentBatch, now) -> list[int]:
        """The packed rows, each between its id and project and the columns that depend on the project."""
        if not batch:
            return []
        fields = FIELDS[Document]
        at = fields.index(PACKED[0])
        before, after = fields[:at], fields[at + len(PACKED):]
        assert before == ("project",)
        rest = defaults(Document, fields, now, self.db)
        names = ("pk", *before, *PACKED, *after, *(name for name, _ in rest))
        with self.pg.cursor() as cursor:
            pks = next_ids(cursor, Document, len(batch))
            # The rest of a row takes a few values only: each rendered once.
            tails = {parts: copy_fields(cursor, [*parts, *(value for _, value in rest)]) + b"\n"
                     for parts in {(status, count, overlap) for status in (UNLABELLED, IN_PROGRESS, SUBMITTED,
                                                                            REVIEWED)
                                   for count in (0, 1) for overlap in (False, True)}}
            head = b"\t%d\t" % self.project.pk
            data = b"".join(b"%d%b%b%b" % (pk, head, row, tails[parts])
                            for pk, row, parts in zip(pks, batch.rows, self._document_parts(batch)))
            with cursor.copy(f"COPY {table(Document, self.db)} ({columns(Document, names, db=self.db)}) "
                             "FROM STDIN") as copy:
                copy.write(data)
        return pks
