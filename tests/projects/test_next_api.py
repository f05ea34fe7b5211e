"""The annotation queue: GET /projects/{id}/next/."""

from __future__ import annotations

import pytest

from projects.actions.annotations import do_save_annotation
from projects.models import Label, Suggestion
from projects.spans import SpanIn

pytestmark = pytest.mark.django_db


def next_url(project):
    return f"/api/v1/projects/{project.pk}/next/"


def save(project, document, user, status, spans=(), version=0, gold=False):
    document.project = project
    return do_save_annotation(document, user, spans=list(spans), relations=[], status=status, version=version,
                              is_gold=gold)


def next_n(client, project):
    response = client.get(next_url(project))
    assert response.status_code in (200, 204)
    return None if response.status_code == 204 else response.json()["document"]["meta"]["n"]


def test_next_answers_document_tokens_annotation_and_suggestions(project, people, client_for, doc):
    first = doc(1)  # "Rebels led by HTS seized Aleppo."
    gpe = Label.objects.get(project=project, name="GPE")
    # No action stores suggestions yet (pre-labelling comes later), so they are made directly.
    Suggestion.objects.create(document=first, start=25, end=31, label=gpe, model="en_core_web_sm",
                              model_version="3.8.0", score=0.9)
    client = client_for(people["annotator"])
    response = client.get(next_url(project))
    assert response.status_code == 200
    body = response.json()
    assert {"document", "tokens", "annotation", "suggestions"} <= set(body)
    assert {k: body["document"][k] for k in ("id", "text", "meta")} == {
        "id": first.pk, "text": first.text, "meta": {"n": 1}}
    tokens = client.get(f"/api/v1/projects/{project.pk}/documents/{first.pk}/tokens/").json()["tokens"]
    assert body["tokens"] == tokens
    assert body["annotation"] == {"spans": [], "relations": [], "status": "in_progress", "version": 0}
    keys = ("start", "end", "label", "model", "model_version", "score")
    assert [{k: s[k] for k in keys} for s in body["suggestions"]] == [
        {"start": 25, "end": 31, "label": "GPE", "model": "en_core_web_sm", "model_version": "3.8.0", "score": 0.9}]


def test_next_resumes_own_unfinished_work_first(project, people, client_for, doc):
    save(project, doc(3), people["annotator"], "in_progress", [SpanIn("1", 4, 8, "GPE")])
    body = client_for(people["annotator"]).get(next_url(project)).json()
    assert body["document"]["meta"] == {"n": 3}
    assert body["annotation"]["version"] == 1
    assert body["annotation"]["spans"] == [{"id": 1, "start": 4, "end": 8, "label": "GPE"}]


def test_next_skips_documents_the_user_submitted(project, people, client_for, doc):
    client = client_for(people["annotator"])
    save(project, doc(1), people["annotator"], "submitted")
    assert next_n(client, project) == 2
    save(project, doc(2), people["annotator"], "submitted")
    assert next_n(client, project) == 3


def test_next_is_204_when_nothing_is_left(project, people, client_for, doc):
    for n in (1, 2, 3):
        save(project, doc(n), people["annotator"], "submitted")
    response = client_for(people["annotator"]).get(next_url(project))
    assert response.status_code == 204
    assert response.content == b""


def test_next_is_204_in_a_project_without_documents(people, client_for):
    from projects.actions.projects import do_create_project

    empty = do_create_project(acting_user=people["admin"], name="Empty")
    assert client_for(people["admin"]).get(next_url(empty)).status_code == 204


def test_next_walks_the_queue_as_the_annotator_submits(project, people, client_for, doc):
    client = client_for(people["annotator"])
    seen = []
    while (n := next_n(client, project)) is not None:
        seen.append(n)
        document = client.get(next_url(project)).json()["document"]
        response = client.put(f"/api/v1/documents/{document['id']}/annotation/",
                              {"spans": [], "version": 0, "status": "submitted"}, format="json")
        assert response.status_code == 200
        assert len(seen) <= 3
    assert seen == [1, 2, 3]


def test_next_skips_documents_others_finished_or_reviewed(project, people, client_for, doc):
    save(project, doc(1), people["annotator2"], "submitted")          # enough annotators (one) finished it
    save(project, doc(2), people["reviewer"], "submitted", gold=True)  # reviewed
    assert next_n(client_for(people["annotator"]), project) == 3


def test_next_offers_a_document_to_a_second_annotator_when_two_are_wanted(project, people, client_for, doc):
    project.annotators_per_document = 2
    project.save()
    for n in (1, 2, 3):
        save(project, doc(n), people["annotator"], "submitted")
    assert next_n(client_for(people["annotator"]), project) is None
    assert next_n(client_for(people["annotator2"]), project) == 1


def test_next_is_per_user(project, people, client_for, doc):
    save(project, doc(2), people["annotator2"], "in_progress")
    assert next_n(client_for(people["annotator2"]), project) == 2
    assert next_n(client_for(people["annotator"]), project) == 1


# One document by id: GET .../documents/{id}/bundle/ ----------------------------------------------------------------

def bundle_url(project, document):
    return f"/api/v1/projects/{project.pk}/documents/{document.pk}/bundle/"


def test_a_documents_bundle_is_what_its_four_endpoints_say_and_takes_nothing_from_the_queue(
        project, people, client_for, doc):
    second = doc(2)  # "Assad’s allies 🇷🇺 Russia and Iran helped."
    gpe = Label.objects.get(project=project, name="GPE")
    save(project, second, people["annotator"], "in_progress", [SpanIn("a", 18, 24, "GPE")])
    kept = Suggestion.objects.create(document=second, start=29, end=33, label=gpe, model="m", score=0.4)  # Iran
    rejected = Suggestion.objects.create(document=second, start=18, end=24, label=gpe, model="m", score=0.9)
    client = client_for(people["annotator"])
    assert client.put(f"/api/v1/suggestions/{rejected.pk}/rejection/").status_code == 204
    base = f"/api/v1/projects/{project.pk}/documents/{second.pk}/"
    body = client.get(bundle_url(project, second)).json()
    assert body == {
        "document": client.get(base).json(),
        "tokens": client.get(base + "tokens/").json()["tokens"], "tokens_count": 10, "tokens_next": None,
        "annotation": client.get(f"/api/v1/documents/{second.pk}/annotation/").json(),
        "suggestions": client.get(base + "suggestions/").json()["suggestions"],
    }
    assert [s["id"] for s in body["suggestions"]] == [kept.pk]
    compact = client.get(bundle_url(project, second), {"format": "compact"}).json()
    assert {k: v for k, v in compact.items() if k != "tokens"} == {k: v for k, v in body.items() if k != "tokens"}
    assert compact["tokens"]["length"] == [t["end"] - t["start"] for t in body["tokens"]]
    # Not from the queue: nothing is held, and another annotator's /next/ still starts at the first document.
    assert next_n(client_for(people["annotator2"]), project) == 1
    assert client.get(bundle_url(project, doc(3))).json()["annotation"]["version"] == 0


def test_a_documents_bundle_is_404_outside_its_project_and_for_outsiders(project, people, client_for, doc):
    from projects.actions.projects import do_create_project

    other = do_create_project(acting_user=people["annotator"], name="Other")
    assert client_for(people["annotator"]).get(bundle_url(other, doc(1))).status_code == 404
    assert client_for(people["outsider"]).get(bundle_url(project, doc(1))).status_code == 404
