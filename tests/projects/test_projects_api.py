"""Projects: create, read, change and delete, with the rules on their fields."""

from __future__ import annotations

import pytest
import spacy

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.projects import do_create_project
from projects.models import Document, Label, Membership, Project, Relation, Span
from projects.spans import RelationIn, SpanIn

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/"


def project_url(project):
    return f"{URL}{project.pk}/"


def fields_of(project) -> dict:
    project = Project.objects.get(pk=project.pk)
    return {k: getattr(project, k) for k in ("name", "description", "language", "allow_overlapping_spans",
                                             "annotators_per_document", "split_train", "split_dev", "split_test")}


def test_creating_a_project_makes_the_creator_its_admin(people, client_for):
    response = client_for(people["annotator"]).post(URL, {"name": "Court rulings"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Court rulings"
    assert body["role"] == "admin"
    project = Project.objects.get(pk=body["id"])
    assert project.created_by == people["annotator"]
    assert list(Membership.objects.filter(project=project).values_list("user__username", "role")) == [
        ("annotator", "admin")]


def test_a_new_project_has_the_documented_defaults(people, client_for):
    body = client_for(people["admin"]).post(URL, {"name": "Defaults"}, format="json").json()
    assert body["language"] == "en"
    assert body["allow_overlapping_spans"] is False
    assert body["annotators_per_document"] == 1
    assert body["description"] == ""
    assert (body["split_train"], body["split_dev"], body["split_test"]) == (0.8, 0.1, 0.1)
    assert {"id", "name", "description", "language", "allow_overlapping_spans",
            "annotators_per_document"} <= set(body)


def test_creator_can_set_every_editable_field(people, client_for):
    body = {"name": "Arabic news", "description": "d", "guidelines": "# Rules", "language": "ar",
            "allow_overlapping_spans": True, "annotators_per_document": 3,
            "split_train": 0.6, "split_dev": 0.2, "split_test": 0.2, "split_seed": "s1"}
    response = client_for(people["admin"]).post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert {k: response.json()[k] for k in body} == body
    project = Project.objects.get(pk=response.json()["id"])
    assert (project.language, project.annotators_per_document, project.split_seed) == ("ar", 3, "s1")


@pytest.mark.parametrize("language", ["zz", "EN", "en-US", "klingon", "en.stop_words", "../en"])
def test_unknown_spacy_language_is_400_and_creates_nothing(people, client_for, language):
    response = client_for(people["admin"]).post(URL, {"name": "X", "language": language}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == f"language: {language!r} is not a spaCy language code"
    assert response.json()["code"] == "unknown_language"
    assert not Project.objects.exists()
    assert not Membership.objects.exists()


@pytest.mark.parametrize("splits", [
    {"split_train": 0.5, "split_dev": 0.5, "split_test": 0.5},
    {"split_train": 0.7, "split_dev": 0.1, "split_test": 0.1},
    {"split_train": 0.5},  # with the defaults of the other two: 0.5 + 0.1 + 0.1
    {"split_dev": 0.0},
])
def test_split_ratios_not_adding_up_to_one_are_400_on_create(people, client_for, splits):
    response = client_for(people["admin"]).post(URL, {"name": "X", **splits}, format="json")
    assert response.status_code == 400
    assert "split_train + split_dev + split_test must add up to 1" in response.json()["detail"]
    assert not Project.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "X", "annotators_per_document": 0}, "annotators_per_document"),
    ({"name": "X", "annotators_per_document": "two"}, "annotators_per_document"),
    ({"name": "X", "annotators_per_document": 40000}, "annotators_per_document"),
    ({"name": "X", "language": "x" * 17}, "language"),
    ({"name": "X", "split_seed": "s" * 33}, "split_seed"),
    ({"name": "X", "split_train": -0.1, "split_dev": 0.6, "split_test": 0.5}, "split_train"),
    ({"name": "X", "split_test": 1.5}, "split_test"),
    ({"name": "X", "allow_overlapping_spans": "perhaps"}, "allow_overlapping_spans"),
    ({"name": "X", "language": ""}, "language"),
])
def test_invalid_project_fields_are_400_naming_the_field(people, client_for, body, field):
    response = client_for(people["admin"]).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Project.objects.exists()


def test_member_reads_a_project_with_their_role(project, people, client_for):
    response = client_for(people["reviewer"]).get(project_url(project))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["description"], body["role"]) == (project.pk, "News", "demo", "reviewer")


def test_project_list_is_paginated(project, people, client_for):
    response = client_for(people["admin"]).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    assert body["results"][0]["id"] == project.pk


def test_admin_can_change_a_project(project, people, client_for):
    response = client_for(people["admin"]).patch(project_url(project), {
        "name": "Syria news", "annotators_per_document": 2, "language": "ar",
        "split_train": 0.7, "split_dev": 0.2}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Syria news"
    assert response.json()["role"] == "admin"
    assert fields_of(project) | {"split_train": round(fields_of(project)["split_train"], 6)} == {
        "name": "Syria news", "description": "demo", "language": "ar", "allow_overlapping_spans": False,
        "annotators_per_document": 2, "split_train": 0.7, "split_dev": 0.2, "split_test": 0.1}


def test_admin_can_replace_a_project_with_put(project, people, client_for):
    response = client_for(people["admin"]).put(project_url(project), {"name": "Replaced"}, format="json")
    assert response.status_code == 200, response.json()
    assert fields_of(project)["name"] == "Replaced"


@pytest.mark.parametrize("body, message", [
    ({"language": "zz"}, "language: 'zz' is not a spaCy language code"),
    ({"split_train": 0.9}, "must add up to 1"),
    ({"split_dev": 0.5, "split_test": 0.5}, "must add up to 1"),
])
def test_invalid_change_is_400_and_changes_nothing(project, people, client_for, body, message):
    before = fields_of(project)
    response = client_for(people["admin"]).patch(project_url(project), {"name": "Changed", **body}, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert fields_of(project) == before


def test_overlaps_cannot_be_turned_off_while_annotations_overlap(project, people, client_for, doc):
    project.allow_overlapping_spans = True
    project.save()
    document = doc(1)  # "Rebels led by HTS seized Aleppo."
    document.project = project
    do_save_annotation(document, people["annotator"], spans=[SpanIn("1", 14, 24, "ORG"), SpanIn("2", 18, 24, "GPE")],
                       relations=[], status="in_progress", version=0)
    response = client_for(people["admin"]).patch(project_url(project), {"allow_overlapping_spans": False},
                                                 format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("allow_overlapping_spans: 1 stored annotations have overlapping")
    assert fields_of(project)["allow_overlapping_spans"] is True


def test_overlaps_can_be_turned_off_when_no_annotation_overlaps(project, people, client_for):
    project.allow_overlapping_spans = True
    project.save()
    response = client_for(people["admin"]).patch(project_url(project), {"allow_overlapping_spans": False},
                                                 format="json")
    assert response.status_code == 200
    assert fields_of(project)["allow_overlapping_spans"] is False


def test_admin_can_delete_a_project_and_everything_in_it(project, people, client_for, doc):
    other = do_create_project(acting_user=people["admin"], name="Kept")
    do_create_label(other, acting_user=people["admin"], name="ORG")
    (kept,) = do_create_documents(other, [{"text": "HTS again."}], acting_user=people["admin"])
    project.annotators_per_document = 2
    project.save()
    for who in ("annotator", "annotator2"):  # "Rebels led by HTS seized Aleppo."
        do_save_annotation(doc(1), people[who], spans=[SpanIn("1", 14, 17, "ORG"), SpanIn("2", 25, 31, "GPE")],
                           relations=[RelationIn("1", "2", "located_in")], status="submitted", version=0)
    do_save_annotation(kept, people["annotator"], spans=[SpanIn("1", 0, 3, "ORG")], relations=[],
                       status="submitted", version=0)
    response = client_for(people["admin"]).delete(project_url(project))
    assert response.status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()
    assert list(Document.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(Membership.objects.values_list("project_id", flat=True)) == [other.pk]
    assert list(Label.objects.values_list("project_id", flat=True)) == [other.pk]
    assert list(Span.objects.values_list("annotation__document_id", flat=True)) == [kept.pk]
    assert not Relation.objects.exists()
    assert client_for(people["admin"]).get(project_url(project)).status_code == 404


def test_staff_can_change_any_project(project, staff, client_for):
    response = client_for(staff).patch(project_url(project), {"description": "by staff"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    assert fields_of(project)["description"] == "by staff"
    assert not Membership.objects.filter(user=staff).exists()


def test_the_language_cannot_change_under_stored_spans(people, client_for, project):
    """Spans sit on the current tokenizer's boundaries: a new language is refused once there are any."""
    client = client_for(people["admin"])
    [document] = do_create_documents(project, [{"text": "Zoë met officials in Paris-based firms."}])
    do_save_annotation(document, people["annotator"], spans=[SpanIn("a", 0, 3, "PERSON")], relations=[],
                       status="submitted", version=0)
    response = client.patch(project_url(project), {"language": "de"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "language_in_use"
    assert Project.objects.get(pk=project.pk).language == "en"


def test_a_new_language_drops_the_stored_tokens_of_the_old_one(people, client_for):
    client = client_for(people["admin"])
    project = do_create_project(acting_user=people["admin"], name="Unlabelled")
    text = "Zoë's Paris-based firm"
    [document] = do_create_documents(project, [{"text": text}])
    assert Document.objects.get(pk=document.pk).tokens is not None
    response = client.patch(project_url(project), {"language": "de"}, format="json")
    assert response.status_code == 200, response.json()
    assert Document.objects.get(pk=document.pk).tokens is None
    tokens = client.get(f"/api/v1/projects/{project.pk}/documents/{document.pk}/tokens/").json()["tokens"]
    assert [t["text"] for t in tokens] == [t.text for t in spacy.blank("de").tokenizer(text)]
