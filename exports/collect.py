"""From the database to plain records, in batches, in constant memory."""

from __future__ import annotations

from collections.abc import Iterator
import queue
import threading
from itertools import groupby, islice

from django.contrib.auth import get_user_model
from django.db import connections

from exports.records import DocumentRecord, RelationRecord, SpanRecord
from exports.splits import split_of
from projects.models import Annotation, Label, Project, Relation, Span

SOURCES = ("gold", "submitted")


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

    Three queries, each streamed (a server-side cursor on PostgreSQL) in the
    same (document id, annotation id) order: the annotations with their
    documents, their spans and their relations, merged here as they arrive;
    label names and usernames come from two small ones.
    """
    annotations = annotations_for(project, source)
    # Names of labels and people from two small queries, not joined into every row.
    label_names = _Names(lambda: Label.objects.filter(project=project).values_list("pk", "name"))
    keep_annotator = source == "submitted"
    usernames = dict(get_user_model().objects.filter(pk__in=annotations.values("annotator_id"))
                     .values_list("pk", "username")) if keep_annotator else {}
    rows = (
        annotations.order_by("document_id", "id")
        .values_list("id", "document_id", "document__text", "document__meta", "document__tokens", "annotator_id")
        .iterator(chunk_size=batch_size)
    )
    spans = (
        Span.objects.filter(annotation__in=annotations)
        .order_by("annotation__document_id", "annotation_id", "start", "end", "id")
        .values_list("annotation__document_id", "annotation_id", "id", "start", "end", "label_id")
        .iterator(chunk_size=batch_size * 8)
    )
    relations = (
        Relation.objects.filter(annotation__in=annotations)
        .order_by("annotation__document_id", "annotation_id", "id")
        .values_list("annotation__document_id", "annotation_id", "head_id", "tail_id", "label_id")
        .iterator(chunk_size=batch_size * 2)
    )
    wanted = None
    if split is not None:
        seed, train, dev = project.split_seed, project.split_train, project.split_dev
        wanted = lambda document_id: split_of(document_id, seed, train, dev) == split  # noqa: E731
    if connections[annotations.db].vendor == "postgresql":
        rows, spans, relations = (_read_ahead(stream, annotations.db) for stream in (rows, spans, relations))
    span_rows, relation_rows = _grouped(spans), _grouped(relations)
    next_spans, next_relations = next(span_rows, None), next(relation_rows, None)
    for annotation_id, document_id, text, meta, tokens, annotator_id in rows:
        key = (document_id, annotation_id)
        # Groups sort by the same key; skip any of an annotation added after the first query ran.
        while next_spans is not None and next_spans[0] < key:
            next_spans = next(span_rows, None)
        while next_relations is not None and next_relations[0] < key:
            next_relations = next(relation_rows, None)
        own_spans = own_relations = ()
        if next_spans is not None and next_spans[0] == key:
            own_spans = next_spans[1]
            next_spans = next(span_rows, None)
        if next_relations is not None and next_relations[0] == key:
            own_relations = next_relations[1]
            next_relations = next(relation_rows, None)
        if wanted is not None and not wanted(document_id):
            continue
        index = {span_id: i for i, (span_id, *_rest) in enumerate(own_spans)}
        yield DocumentRecord(
            text=text,
            meta=meta or {},
            spans=[SpanRecord(start, end, label_names[label]) for _, start, end, label in own_spans],
            relations=[RelationRecord(index[h], index[t], label_names[label]) for h, t, label in own_relations],
            id=document_id,
            annotator=usernames.get(annotator_id) if keep_annotator else None,
            tokens=tokens,
        )


def _read_ahead(rows: Iterator[tuple], using: str, batch: int = 1000) -> Iterator[tuple]:
    """``rows`` (a not yet started queryset iterator), fetched a batch or two ahead on a thread of its own.

    While the export works on one batch, PostgreSQL's sorting and sending of the
    next overlaps it instead of following it. The thread uses the caller's
    connection (psycopg's connections serialise their users), so it reads in the
    caller's transaction and snapshot.
    """
    wrapper = connections[using]
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

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
            while not stop.is_set():
                chunk = list(islice(rows, batch))
                put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the reader, which raises it
            put(exc)
        finally:
            rows.close()  # the server-side cursor, closed where it was used

    wrapper.inc_thread_sharing()
    thread = threading.Thread(target=produce, name="export-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            chunk = ready.get()
            if isinstance(chunk, BaseException):
                raise chunk
            if not chunk:
                return
            yield from chunk
    finally:
        stop.set()
        thread.join()
        wrapper.dec_thread_sharing()


class _Names(dict):
    """id -> name, loaded again for an id made after it was loaded (the streams read later)."""

    def __init__(self, load):
        super().__init__(load())
        self.load = load

    def __missing__(self, key):
        self.update(self.load())
        return dict.__getitem__(self, key)


def _grouped(rows) -> Iterator[tuple[tuple[int, int], list[tuple]]]:
    """``((document id, annotation id), [rest of each row])`` per run of rows sharing that key."""
    for key, group in groupby(rows, key=_key):
        yield key, [row[2:] for row in group]


def _key(row: tuple) -> tuple[int, int]:
    return row[0], row[1]
