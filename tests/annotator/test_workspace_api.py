"""What the workspace adds to the API: /next/?skip=, suggestion ids, a document's suggestions, rejections."""

from __future__ import annotations

import pytest

from projects.models import Document, Label, Suggestion, SuggestionRejection

pytestmark = pytest.mark.django_db


def doc(project, n):
    return Document.objects.get(project=project, meta__n=n)


@pytest.fixture
def suggestions(project):
    document = doc(project, 1)  # "Rebels led by HTS seized Aleppo."
    org = Label.objects.get(project=project, name="ORG")
    gpe = Label.objects.get(project=project, name="GPE")
    return [
        Suggestion.objects.create(document=document, start=14, end=17, label=org, model="m", model_version="1", score=.9),
        Suggestion.objects.create(document=document, start=25, end=31, label=gpe, model="m", model_version="1"),
    ]


def test_next_passes_over_skipped_documents(project, people, client_for):
    client = client_for(people["annotator"])
    first, second, third = (doc(project, n) for n in (1, 2, 3))
    assert client.get(f"/api/v1/projects/{project.pk}/next/").json()["document"]["id"] == first.pk
    assert client.get(f"/api/v1/projects/{project.pk}/next/?skip={first.pk}").json()["document"]["id"] == second.pk
    skip_all = f"{first.pk},{second.pk},{third.pk}"
    assert client.get(f"/api/v1/projects/{project.pk}/next/?skip={skip_all}").status_code == 204


def test_next_passes_over_a_skipped_document_the_annotator_started(project, people, client_for):
    client = client_for(people["annotator"])
    first = doc(project, 1)
    response = client.put(f"/api/v1/documents/{first.pk}/annotation/",
                          {"spans": [{"id": 1, "start": 14, "end": 17, "label": "ORG"}], "version": 0}, format="json")
    assert response.status_code == 200
    assert client.get(f"/api/v1/projects/{project.pk}/next/").json()["document"]["id"] == first.pk
    body = client.get(f"/api/v1/projects/{project.pk}/next/?skip={first.pk}").json()
    assert body["document"]["id"] == doc(project, 2).pk


def test_next_rejects_a_malformed_skip_list(project, people, client_for):
    response = client_for(people["annotator"]).get(f"/api/v1/projects/{project.pk}/next/?skip=1,x")
    assert response.status_code == 400
    assert "skip" in response.json()


def test_annotator_sees_suggestion_ids_in_next_and_for_a_document(project, people, client_for, suggestions):
    client = client_for(people["annotator"])
    next_body = client.get(f"/api/v1/projects/{project.pk}/next/").json()
    assert next_body["suggestions"] == [
        {"id": suggestions[0].pk, "start": 14, "end": 17, "label": "ORG", "model": "m", "model_version": "1",
         "score": .9},
        {"id": suggestions[1].pk, "start": 25, "end": 31, "label": "GPE", "model": "m", "model_version": "1",
         "score": None},
    ]
    document = doc(project, 1)
    listed = client.get(f"/api/v1/projects/{project.pk}/documents/{document.pk}/suggestions/").json()
    assert listed == {"suggestions": next_body["suggestions"]}


def test_annotator_can_reject_a_suggestion_and_take_it_back(project, people, client_for, suggestions):
    client = client_for(people["annotator"])
    other = client_for(people["annotator2"])
    document = doc(project, 1)
    url = f"/api/v1/suggestions/{suggestions[0].pk}/rejection/"
    listing = f"/api/v1/projects/{project.pk}/documents/{document.pk}/suggestions/"
    assert client.put(url).status_code == 204
    assert client.put(url).status_code == 204  # idempotent
    assert SuggestionRejection.objects.filter(user=people["annotator"]).count() == 1
    assert [s["id"] for s in client.get(listing).json()["suggestions"]] == [suggestions[1].pk]
    assert [s["id"] for s in client.get(f"/api/v1/projects/{project.pk}/next/").json()["suggestions"]] \
        == [suggestions[1].pk]
    # Only for the one who rejected it.
    assert len(other.get(listing).json()["suggestions"]) == 2
    assert client.delete(url).status_code == 204
    assert len(client.get(listing).json()["suggestions"]) == 2


def test_a_rejection_outlives_the_model_rerun_that_replaces_its_suggestion(project, people, client_for, suggestions):
    client = client_for(people["annotator"])
    assert client.put(f"/api/v1/suggestions/{suggestions[0].pk}/rejection/").status_code == 204
    first = suggestions[0]
    Suggestion.objects.filter(pk=first.pk).delete()
    again = Suggestion.objects.create(document=first.document, start=first.start, end=first.end, label=first.label,
                                      model="m", model_version="2")
    listing = client.get(f"/api/v1/projects/{project.pk}/documents/{first.document_id}/suggestions/").json()
    assert again.pk not in [s["id"] for s in listing["suggestions"]]


def test_outsider_cannot_see_or_reject_suggestions(project, people, client_for, suggestions):
    client = client_for(people["outsider"])
    document = doc(project, 1)
    assert client.put(f"/api/v1/suggestions/{suggestions[0].pk}/rejection/").status_code == 404
    assert client.get(f"/api/v1/projects/{project.pk}/documents/{document.pk}/suggestions/").status_code == 404
    assert not SuggestionRejection.objects.exists()


def test_document_suggestions_are_only_under_their_own_project(project, people, client_for, suggestions):
    from projects.actions.projects import do_create_project

    other = do_create_project(acting_user=people["annotator"], name="Other")
    document = doc(project, 1)
    response = client_for(people["annotator"]).get(f"/api/v1/projects/{other.pk}/documents/{document.pk}/suggestions/")
    assert response.status_code == 404
