"""From the database to plain records, in batches, in constant memory."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from itertools import groupby, islice
from operator import itemgetter

from django.contrib.auth import get_user_model
from django.db import connections

from exports.records import DocumentRecord, RelationRecord, SpanRecord
from exports.splits import split_of
from projects.models import Annotation, GoldRevision, Label, Project, Relation, Span
from projects.sql import column, columns, table

SOURCES = ("gold", "submitted")
IN_LIST_MAX = 500  # ids per IN (...) where there is no array parameter (SQLite)


def annotations_for(project: Project, source: str):
    annotations = Annotation.objects.filter(document__project=project)
    if source == "gold":
        return annotations.filter(is_gold=True)
    if source == "submitted":
        return annotations.filter(is_gold=False, status=Annotation.Status.SUBMITTED)
    raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")


def collect_records(project: Project, *, source: str = "gold", split: str | None = None,
                    batch_size: int = 2000) -> Iterator[DocumentRecord]:
    """Yield one record per (document, annotation) in document order, reading ``batch_size`` rows at a time.

    The annotations with their documents are streamed (a server-side cursor on
    PostgreSQL); for each batch of them, their spans and relations come from
    one indexed query each, so nothing is sorted or held beyond a batch.
    Label names and usernames come from two small queries, not joined into
    every row. On PostgreSQL the next batch is read while this one is written.

    A record's ``annotator`` is whose annotation it is (for gold, who last
    saved it); a gold record's ``adopted_from`` is whose annotation that save
    adopted unchanged, when the gold's revision at its version is an adoption
    (one more query per batch).
    """
    annotations = annotations_for(project, source)
    label_names = _Names(lambda: Label.objects.filter(project=project).values_list("pk", "name"))
    usernames = dict(get_user_model().objects.filter(pk__in=annotations.values("annotator_id"))
                     .values_list("pk", "username"))
    rows = (
        annotations.order_by("document_id", "id")
        .values_list("id", "document_id", "document__text", "document__meta", "document__tokens", "annotator_id",
                     "version")
        .iterator(chunk_size=batch_size)
    )
    if split is not None:
        seed, train, dev = project.split_seed, project.split_train, project.split_dev
        rows = (row for row in rows if split_of(row[1], seed, train, dev) == split)
    batches = _with_spans_and_relations(rows, batch_size, annotations.db, adoptions=source == "gold")
    if connections[annotations.db].vendor == "postgresql":
        batches = _read_ahead(batches, annotations.db)
    for batch, spans_of, relations_of, adopted_from in batches:
        for annotation_id, document_id, text, meta, tokens, annotator_id, _version in batch:
            own_spans = spans_of.get(annotation_id, ())
            index = {span_id: i for i, (span_id, *_rest) in enumerate(own_spans)}
            yield DocumentRecord(
                text=text,
                meta=meta or {},
                spans=[SpanRecord(start, end, label_names[label]) for _, start, end, label in own_spans],
                relations=[RelationRecord(index[h], index[t], label_names[label])
                           for h, t, label in relations_of.get(annotation_id, ())],
                id=document_id,
                annotator=usernames.get(annotator_id),
                tokens=tokens,
                adopted_from=adopted_from.get(document_id),
            )


def _with_spans_and_relations(rows: Iterator[tuple], batch_size: int, using: str, *,
                              adoptions: bool = False) -> Iterator[tuple[list, dict, dict, dict]]:
    """``(rows, spans by annotation id, relations by annotation id, adopted from by document id)`` per
    batch of annotation rows ``(id, document_id, ..., version)``; with ``adoptions`` (gold rows) the
    last holds the username whose annotation each adopted gold is, else it is empty."""
    spans = Span.objects.using(using).order_by("annotation_id", "start", "end", "id")
    relations = Relation.objects.using(using).order_by("annotation_id", "id")
    span_columns = ("annotation_id", "id", "start", "end", "label_id")
    relation_columns = ("annotation_id", "head_id", "tail_id", "label_id")
    postgres = connections[using].vendor == "postgresql"
    while batch := list(islice(rows, batch_size)):
        ids = [row[0] for row in batch]
        adopted_from = _adoptions({row[1]: row[-1] for row in batch}, using) if adoptions else {}
        if postgres:  # one array parameter rather than a statement with thousands of placeholders
            span_rows = _rows_of_annotations(spans, span_columns, ids, using)
            relation_rows = _rows_of_annotations(relations, relation_columns, ids, using)
        else:  # runs of ids few enough for any SQLite's limit on parameters; an annotation's rows stay together
            runs = [ids[i:i + IN_LIST_MAX] for i in range(0, len(ids), IN_LIST_MAX)]
            span_rows = [row for run in runs for row in spans.filter(annotation_id__in=run).values_list(*span_columns)]
            relation_rows = [row for run in runs
                             for row in relations.filter(annotation_id__in=run).values_list(*relation_columns)]
        yield batch, _by_annotation(span_rows), _by_annotation(relation_rows), adopted_from


def _adoptions(versions: dict[int, int], using: str) -> dict[int, str]:
    """{document id: username} for the documents whose gold is an adoption as it stands: the
    revision that made the gold's version (``versions``: document id -> that version; one
    revision per document and version) adopted that user's annotation. One query (SQLite: one
    per run of IN_LIST_MAX documents)."""
    if not versions:
        return {}
    adopt = GoldRevision.Action.ADOPT
    db = connections[using]
    if db.vendor == "postgresql":  # the pairs as two arrays, not a placeholder each
        user = get_user_model()

        def revision(field):
            return column(GoldRevision, field, "r", db)

        with db.cursor() as cursor:
            cursor.execute(
                f"SELECT {revision('document')}, {column(user, 'username', 'u', db)} "
                f"FROM {table(GoldRevision, db)} r "
                f"JOIN {table(user, db)} u ON {column(user, 'pk', 'u', db)} = {revision('from_user')} "
                f"WHERE {revision('action')} = %s AND ({revision('document')}, {revision('version')}) IN "
                f"(SELECT * FROM unnest(%s::bigint[], %s::bigint[]))",
                [adopt.value, list(versions), list(versions.values())])
            return dict(cursor.fetchall())
    ids = list(versions)
    revisions = GoldRevision.objects.using(using).filter(action=adopt, from_user__isnull=False)
    rows = [row for i in range(0, len(ids), IN_LIST_MAX)
            for row in revisions.filter(document_id__in=ids[i:i + IN_LIST_MAX])
            .values_list("document_id", "version", "from_user__username")]
    return {document_id: username for document_id, version, username in rows if versions[document_id] == version}


def _by_annotation(rows) -> dict[int, list[tuple]]:
    """Rows sorted by annotation id (their first column) -> {annotation id: [the rest of each row]}."""
    return {annotation_id: [row[1:] for row in group] for annotation_id, group in groupby(rows, _first)}


def _rows_of_annotations(queryset, fields: tuple[str, ...], ids: list[int], using: str) -> list[tuple]:
    """``queryset``'s ``fields`` for the annotations ``ids``, in its order, as ``= ANY(%s)`` (PostgreSQL)."""
    model, db = queryset.model, connections[using]
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {columns(model, fields, db=db)} FROM {table(model, db)} "
                       f"WHERE {column(model, 'annotation', db=db)} = ANY(%s) "
                       f"ORDER BY {columns(model, queryset.query.order_by, db=db)}", [ids])
        return cursor.fetchall()


def _read_ahead(items: Iterator, using: str, depth: int = 2) -> Iterator:
    """``items`` (a generator of database reads, not yet started), produced up to ``depth`` ahead
    on a thread of its own.

    While the export writes one batch, PostgreSQL finds and sends the next
    instead of waiting for it. The thread uses the caller's connection
    (psycopg's connections serialise their users), so it reads in the caller's
    transaction.
    """
    wrapper = connections[using]
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> None:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        connections[using] = wrapper
        try:
            for item in items:
                put(item)
                if stop.is_set():
                    return
            put(done)
        except BaseException as exc:  # handed to the reader, which raises it
            put(exc)
        finally:
            items.close()  # a server-side cursor is closed where it was used

    wrapper.inc_thread_sharing()
    thread = threading.Thread(target=produce, name="export-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        wrapper.dec_thread_sharing()


_first = itemgetter(0)


class _Names(dict):
    """id -> name, loaded again for an id made after it was loaded (the streams read later)."""

    def __init__(self, load):
        super().__init__(load())
        self.load = load

    def __missing__(self, key):
        self.update(self.load())
        return dict.__getitem__(self, key)
