"""Query-count guards: the hot endpoints read a fixed number of queries, whatever the data size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from projects.models import Document, Label, Suggestion
from projects.spans import SpanIn

pytestmark = pytest.mark.django_db

# Measured (SQLite and PostgreSQL agree; in a test, each transaction adds a SAVEPOINT and its RELEASE). Going past
# one means an endpoint grew a query: on purpose, change it here.
# /next/ (fresh, on a document with suggestions): resume (1), then in one transaction the expired look-up (at most
# every few seconds), the claim's locking select, the assignment and the count, then the suggestions and, as there
# are some, the user's rejections (an unlabelled document has no annotation to read).
# PUT: the document with the user's role (1), labels (1); in one transaction the document's row (1), its annotations
# (1), the annotation written (1, or 3 when replaced: relations and spans deleted), spans and relations (2), the
# assignment recorded (1 when the queue handed the document out; for one it did not, as in first-save below: 2
# updates that find nothing, savepoint + insert + count) and the document's status (1).
MAX_NEXT = 10
MAX_LIST = 3
MAX_PUT = 16

WORDS = "Rebels led by HTS seized Aleppo and Homs".split()


def build(people, n_documents: int):
    """A project with ``n_documents`` documents; the first carries annotations and suggestions in bulk."""
    admin = people["admin"]
    project = do_create_project(acting_user=admin, name=f"P{n_documents}")
    do_add_member(project, "annotator", "annotator", acting_user=admin)
    for name in ("ORG", "GPE"):
        do_create_label(project, acting_user=admin, name=name)
    do_create_label(project, acting_user=admin, name="rel", kind="relation")
    text = " ".join(WORDS * 10)
    documents = do_create_documents(project, [{"text": f"{i} {text}"} for i in range(n_documents)],
                                    acting_user=admin)
    first = Document.objects.select_related("project").get(pk=documents[0].pk)
    gpe = Label.objects.get(project=project, name="GPE")
    Suggestion.objects.bulk_create(  # no action stores suggestions yet
        Suggestion(document=first, start=s, end=e, label=gpe, model="m")
        for s, e in token_offsets(first.text)[: max(1, n_documents // 10)]
    )
    return project, documents


def token_offsets(text: str) -> list[tuple[int, int]]:
    offsets, start = [], 0
    for word in text.split(" "):
        offsets.append((start, start + len(word)))
        start += len(word) + 1
    return offsets


def spans_for(text: str, n: int) -> list[dict]:
    return [{"id": i, "start": s, "end": e, "label": "ORG" if i % 2 else "GPE"}
            for i, (s, e) in enumerate(token_offsets(text)[:n])]


def relations_for(spans: list[dict]) -> list[dict]:
    return [{"head": a["id"], "tail": b["id"], "label": "rel"} for a, b in zip(spans, spans[1:])]


def count(client, method, url, body=None) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, body, format="json") if body is not None else \
            getattr(client, method)(url)
    assert response.status_code in (200, 204), response.content
    return len(queries), response


@pytest.mark.parametrize("in_progress", [False, True], ids=["fresh", "resuming"])
def test_next_reads_the_same_number_of_queries_for_10_or_200_documents(people, client_for, in_progress):
    counts = []
    for n in (10, 200):
        project, documents = build(people, n)
        if in_progress:
            first = Document.objects.select_related("project").get(pk=documents[0].pk)
            spans = [SpanIn(str(i), s, e, "ORG") for i, (s, e) in enumerate(token_offsets(first.text)[:n // 4])]
            do_save_annotation(first, people["annotator"], spans=spans, relations=[], status="in_progress",
                               version=0)
        queries, response = count(client_for(people["annotator"]), "get", f"/api/v1/projects/{project.pk}/next/")
        assert response.json()["document"]["id"] == documents[0].pk
        counts.append(queries)
    assert counts[0] == counts[1], counts
    assert counts[1] <= MAX_NEXT, counts


def test_document_list_page_reads_the_same_number_of_queries_for_10_or_200_documents(people, client_for):
    counts = []
    for n in (10, 200):
        project, _ = build(people, n)
        queries, response = count(client_for(people["annotator"]), "get",
                                  f"/api/v1/projects/{project.pk}/documents/?page_size=50&q=Aleppo")
        assert len(response.json()["results"]) == min(n, 50)
        counts.append(queries)
    assert counts[0] == counts[1], counts
    assert counts[1] <= MAX_LIST, counts


def test_document_list_stays_within_bound_with_the_django_fixture(people, client_for,
                                                                    django_assert_max_num_queries):
    project, _ = build(people, 120)
    client = client_for(people["annotator"])
    with django_assert_max_num_queries(MAX_LIST):
        response = client.get(f"/api/v1/projects/{project.pk}/documents/?status=unlabelled")
    assert len(response.json()["results"]) == 50


@pytest.mark.parametrize("update", [False, True], ids=["first-save", "replace"])
def test_annotation_put_reads_the_same_number_of_queries_for_2_or_60_spans(people, client_for, update):
    counts = []
    for n in (2, 60):
        project, documents = build(people, 3)
        document = documents[0]
        client = client_for(people["annotator"])
        url = f"/api/v1/documents/{document.pk}/annotation/"
        spans = spans_for(document.text, n)
        version = 0
        if update:
            body = {"spans": spans[::-1], "relations": relations_for(spans)[:1], "version": 0}
            assert client.put(url, body, format="json").status_code == 200
            version = 1
        body = {"spans": spans, "relations": relations_for(spans), "version": version, "status": "submitted"}
        queries, response = count(client, "put", url, body)
        assert len(response.json()["spans"]) == n and len(response.json()["relations"]) == n - 1
        counts.append(queries)
    assert counts[0] == counts[1], counts
    assert counts[1] <= MAX_PUT, counts


def test_annotation_get_is_bounded(people, client_for, django_assert_max_num_queries):
    project, documents = build(people, 3)
    document = documents[0]
    client = client_for(people["annotator"])
    url = f"/api/v1/documents/{document.pk}/annotation/"
    spans = spans_for(document.text, 60)
    client.put(url, {"spans": spans, "relations": relations_for(spans), "version": 0}, format="json")
    with django_assert_max_num_queries(5):
        response = client.get(url)
    assert len(response.json()["spans"]) == 60


def test_a_documents_bundle_reads_the_same_number_of_queries_for_2_or_60_spans(people, client_for):
    """.../documents/{id}/bundle/ (the workspace's #document= link): the document with the user's role, the
    user's annotation, its spans, its relations, the suggestions and the user's rejections."""
    project, documents = build(people, 3)
    client = client_for(people["annotator"])
    counts = []
    for document, n in ((documents[0], 2), (documents[1], 60)):
        spans = spans_for(document.text, n)
        client.put(f"/api/v1/documents/{document.pk}/annotation/",
                   {"spans": spans, "relations": relations_for(spans), "version": 0}, format="json")
        if not Suggestion.objects.filter(document=document).exists():  # build() gave the first document some
            Suggestion.objects.create(document=document, start=0, end=1, model="m",
                                      label=Label.objects.get(project=project, name="GPE"))
        queries, response = count(client, "get", f"/api/v1/projects/{project.pk}/documents/{document.pk}/bundle/")
        assert len(response.json()["annotation"]["spans"]) == n
        counts.append(queries)
    assert counts[0] == counts[1] <= 6, counts


def test_the_queue_path_next_put_submit_reads_a_fixed_number_of_queries(people, client_for):
    """What an annotator does all day (bench/queue.py): /next/, save in progress, submit; no suggestions."""
    project, documents = build(people, 3)
    Suggestion.objects.all().delete()
    client = client_for(people["annotator"])
    queries, response = count(client, "get", f"/api/v1/projects/{project.pk}/next/")
    assert queries <= 9, queries  # project, resume, savepoint, expiry, claim, assignment, count, release, suggestions
    document = response.json()["document"]
    url = f"/api/v1/documents/{document['id']}/annotation/"
    spans = spans_for(document["text"], 2)
    queries, response = count(client, "put", url, {"spans": spans, "version": 0, "status": "in_progress"})
    assert queries <= 10, queries  # document, labels, savepoint, lock, annotations, insert, spans, assignment,
    #                                status, release
    queries, response = count(client, "put", url, {"spans": spans, "version": 1, "status": "submitted"})
    assert queries <= 12, queries  # as above, with relations and spans deleted and the annotation updated
