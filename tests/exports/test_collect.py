"""Collecting records from the database: streamed, read ahead on PostgreSQL, and left tidy."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from exports.collect import _read_ahead, collect_records
from exports.imports import analyze_imported_tables, import_records, read_records
from projects.models import Document

pytestmark = pytest.mark.django_db


def gold_lines(count: int) -> bytes:
    return "".join(f'{{"text": "Homs report {n} 🙂.", "spans": [{{"start": 0, "end": 4, "label": "GPE"}}]}}\n'
                   for n in range(count)).encode()


def read_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "export-read-ahead"]


def test_read_ahead_gives_every_record_in_order_and_tidies_up_when_left_early(project, people, postgres, tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_bytes(gold_lines(2500))
    with open(path, "rb") as raw:
        import_records(project, read_records("jsonl", raw, "en"), importer=people["admin"], annotations_as="gold")
    records = list(collect_records(project, batch_size=100))
    assert [r.id for r in records] == sorted(Document.objects.filter(project=project, status="reviewed")
                                             .values_list("pk", flat=True))
    assert {(r.text[0:4], len(r.spans), r.spans[0].label) for r in records} == {("Homs", 1, "GPE")}

    stream = collect_records(project, batch_size=100)
    first = [next(stream) for _ in range(5)]
    assert [r.id for r in first] == [r.id for r in records[:5]]
    assert read_ahead_threads()
    stream.close()
    assert not read_ahead_threads()
    with connection.cursor() as cursor:  # the connection and the transaction carry on
        cursor.execute("SELECT count(*) FROM pg_cursors")
        assert cursor.fetchone() == (0,)  # every server-side cursor closed


def test_a_failure_while_reading_ahead_reaches_the_reader(postgres):
    def rows():
        yield (1,)
        raise RuntimeError("the stream broke")

    stream = _read_ahead(rows(), "default")
    assert next(stream) == (1,)
    with pytest.raises(RuntimeError, match="the stream broke"):
        next(stream)
    assert not read_ahead_threads()


def test_statistics_are_refreshed_after_a_large_import(project, postgres):
    Document.objects.bulk_create(Document(project=project, text=f"t{n}", content_hash=str(n)) for n in range(3000))
    analyze_imported_tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Document._meta.db_table])
        assert cursor.fetchone()[0] >= 3000


def test_records_are_whole_whatever_the_order_of_annotation_ids(project, people, monkeypatch):
    """Annotation ids need not follow document order; each record still gets exactly its own spans
    (on SQLite the ids are queried in runs of IN_LIST_MAX, here 1)."""
    import exports.collect as collect
    from projects.actions.annotations import do_save_annotation
    from projects.spans import SpanIn

    monkeypatch.setattr(collect, "IN_LIST_MAX", 1)
    documents = list(Document.objects.filter(project=project).order_by("-pk"))  # annotated last to first
    for document in documents:
        word = document.text.split()[0]
        do_save_annotation(document, people["annotator"], spans=[SpanIn("a", 0, len(word), "ORG")], relations=[],
                           status="submitted", version=0)
    records = list(collect_records(project, source="submitted", batch_size=3))
    assert [r.id for r in records] == sorted(d.pk for d in documents)
    assert [[(s.start, s.end) for s in r.spans] for r in records] == [
        [(0, len(Document.objects.get(pk=r.id).text.split()[0]))] for r in records]


def test_gold_provenance_costs_the_same_queries_for_3_or_30_documents(people):
    """Who saved the gold and whose annotation it adopted come with each batch (one query for the
    batch's revisions), never a query per document."""
    from django.test.utils import CaptureQueriesContext

    from projects.actions.annotations import do_save_annotation
    from projects.actions.documents import do_create_documents
    from projects.actions.gold import do_adopt_gold, do_save_gold
    from projects.actions.labels import do_create_label
    from projects.actions.members import do_add_member
    from projects.actions.projects import do_create_project
    from projects.spans import SpanIn

    admin, reviewer, annotator = people["admin"], people["reviewer"], people["annotator2"]
    counts = []
    for n in (3, 30):
        project = do_create_project(acting_user=admin, name=f"P{n}")
        do_add_member(project, "reviewer", "reviewer", acting_user=admin)
        do_add_member(project, "annotator2", "annotator", acting_user=admin)
        do_create_label(project, acting_user=admin, name="GPE")
        documents = do_create_documents(project, [{"text": f"Homs report {i} 🙂."} for i in range(n)],
                                        acting_user=admin)
        homs = [SpanIn("1", 0, 4, "GPE")]
        for i, document in enumerate(documents):  # every third: saved, adopted, adopted then edited
            if i % 3 == 0:
                do_save_gold(document, acting_user=reviewer, spans=homs, relations=[], status="submitted", version=0)
                continue
            do_save_annotation(document, annotator, spans=homs, relations=[], status="submitted", version=0)
            do_adopt_gold(document, acting_user=reviewer, from_user="annotator2")
            if i % 3 == 2:
                do_save_gold(document, acting_user=reviewer, spans=[], relations=[], status="submitted", version=1)
        with CaptureQueriesContext(connection) as queries:
            records = list(collect_records(project))
        counts.append(len(queries))
        provenance = [("reviewer", "annotator2" if i % 3 == 1 else None) for i in range(n)]
        assert [(r.annotator, r.adopted_from) for r in records] == provenance
        assert [(r.annotator, r.adopted_from) for r in collect_records(project, batch_size=7)] == provenance
    assert counts[0] == counts[1], counts
    # labels, usernames, the annotations; then per batch: spans, relations, revisions
    assert counts[1] == 6, counts
