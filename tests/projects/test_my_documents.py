"""GET /api/v1/projects/{id}/my-documents/: where an annotator stands and the documents to go back to."""

from __future__ import annotations

import pytest

from projects.actions.projects import do_update_project

pytestmark = pytest.mark.django_db


def mine(client, project, **params):
    response = client.get(f"/api/v1/projects/{project.pk}/my-documents/", params)
    assert response.status_code == 200, response.content
    return response.json()


def save(client, document_id, status):
    response = client.put(f"/api/v1/documents/{document_id}/annotation/",
                          {"spans": [], "relations": [], "version": 0, "status": status}, format="json")
    assert response.status_code == 200, response.content


def test_an_annotator_sees_their_documents_in_the_order_they_got_them_and_how_each_stands(
        project, people, client_for, doc):
    ann, reviewer = client_for(people["annotator"]), client_for(people["reviewer"])
    assert mine(ann, project) == {"counts": {"submitted": 0, "in_progress": 0, "reviewed": 0, "left": 3},
                                  "count": 0, "next": None, "previous": None, "results": []}
    first = ann.get(f"/api/v1/projects/{project.pk}/next/").json()["document"]["id"]
    save(ann, first, "submitted")
    second = ann.get(f"/api/v1/projects/{project.pk}/next/").json()["document"]["id"]
    save(ann, second, "in_progress")
    reviewer.put(f"/api/v1/documents/{first}/gold/", {"spans": [], "relations": [], "version": 0,
                                                      "status": "submitted"}, format="json")
    body = mine(ann, project)
    assert body["counts"] == {"submitted": 0, "in_progress": 1, "reviewed": 1, "left": 2}
    assert [(r["id"], r["number"], r["status"], r["locked"], r["assigned"]) for r in body["results"]] == [
        (first, 1, "reviewed", True, False), (second, 2, "in_progress", False, False)]
    assert body["results"][0]["preview"] == doc(1).text[:80]
    # Another annotator's view is their own.
    assert mine(client_for(people["annotator2"]), project)["results"] == []


def test_numbers_follow_the_pages(project, people, client_for):
    do_update_project(project, acting_user=people["admin"], annotators_per_document=1)
    ann = client_for(people["annotator"])
    for _ in range(3):
        document_id = ann.get(f"/api/v1/projects/{project.pk}/next/").json()["document"]["id"]
        save(ann, document_id, "submitted")
    page = mine(ann, project, page=2, page_size=2)
    assert [r["number"] for r in page["results"]] == [3]
    assert page["counts"]["submitted"] == 3 and page["counts"]["left"] == 0


def test_outsiders_get_404(project, people, client_for):
    response = client_for(people["outsider"]).get(f"/api/v1/projects/{project.pk}/my-documents/")
    assert response.status_code == 404
