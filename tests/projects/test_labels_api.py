"""Labels: entity and relation labels with distinct colours and one-key shortcuts."""

from __future__ import annotations

import json
import re

import pytest

from projects.actions.annotations import do_save_annotation
from projects.actions.labels import do_create_label
from projects.models import Label, Span, Suggestion
from projects.shortcuts import KEY_TABLE, RESERVED_SHORTCUTS
from projects.spans import RelationIn, SpanIn

pytestmark = pytest.mark.django_db

COLOR = re.compile(r"^#[0-9a-f]{6}$")


def url(project, label=None):
    base = f"/api/v1/projects/{project.pk}/labels/"
    return f"{base}{label.pk}/" if label else base


def label(project, name, kind="entity"):
    return Label.objects.get(project=project, name=name, kind=kind)


def labels(project) -> list[tuple]:
    return list(Label.objects.filter(project=project).order_by("id").values_list("name", "kind", "color", "shortcut"))


def annotate(project, document, user, spans, relations=()):
    document.project = project
    return do_save_annotation(document, user, spans=spans, relations=list(relations), status="in_progress",
                              version=0)


def test_member_lists_labels_entities_first(project, people, client_for):
    response = client_for(people["annotator"]).get(url(project))
    assert response.status_code == 200
    body = response.json()
    assert [(x["name"], x["kind"], x["shortcut"]) for x in body] == [
        ("PERSON", "entity", "p"), ("ORG", "entity", "o"), ("GPE", "entity", "g"), ("located_in", "relation", "")]
    assert all({"id", "name", "kind", "color", "shortcut"} <= set(x) for x in body)


def test_member_reads_one_label(project, people, client_for):
    org = label(project, "ORG")
    response = client_for(people["annotator"]).get(url(project, org))
    assert response.status_code == 200
    assert response.json() == {"id": org.pk, "name": "ORG", "kind": "entity", "color": org.color, "shortcut": "o"}


def test_label_of_another_project_is_404(project, people, client_for):
    from projects.actions.projects import do_create_project

    other = do_create_project(acting_user=people["admin"], name="Other")
    theirs = do_create_label(other, acting_user=people["admin"], name="ORG")
    response = client_for(people["admin"]).get(url(project, theirs))
    assert response.status_code == 404
    assert response.json()["detail"] == "No such label."


def test_admin_creates_a_label_with_defaults(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), {"name": "EVENT"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["kind"], body["shortcut"]) == ("EVENT", "entity", "")
    assert COLOR.match(body["color"])
    assert labels(project)[-1] == ("EVENT", "entity", body["color"], "")


def test_a_distinct_colour_is_picked_for_each_new_label(project, people, client_for):
    client = client_for(people["admin"])
    for i in range(30):  # past the end of the palette
        response = client.post(url(project), {"name": f"L{i}", "kind": "entity" if i % 2 else "relation"},
                               format="json")
        assert response.status_code == 201, response.json()
    colors = [c for _, _, c, _ in labels(project)]
    assert len(colors) == 34
    assert len(set(colors)) == 34
    assert all(COLOR.match(c) for c in colors)


def test_an_empty_colour_is_picked_too(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), {"name": "EVENT", "color": ""}, format="json")
    assert response.status_code == 201
    assert response.json()["color"] not in {c for n, _, c, _ in labels(project) if n != "EVENT"}


def test_admin_chooses_colour_and_shortcut(project, people, client_for):
    response = client_for(people["admin"]).post(
        url(project), {"name": "born_in", "kind": "relation", "color": "#A1B2C3", "shortcut": "n"}, format="json")
    assert response.status_code == 201, response.json()
    assert labels(project)[-1] == ("born_in", "relation", "#A1B2C3", "n")


@pytest.mark.parametrize("body, problem", [
    ({"name": "ORG"}, "name: an entity label 'ORG' already exists"),
    ({"name": "located_in", "kind": "relation"}, "name: a relation label 'located_in' already exists"),
])
def test_duplicate_name_of_the_same_kind_is_400_and_creates_nothing(project, people, client_for, body, problem):
    before = labels(project)
    response = client_for(people["admin"]).post(url(project), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == problem
    assert response.json()["code"] == "label_exists"
    assert labels(project) == before


def test_same_name_of_another_kind_is_allowed(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), {"name": "ORG", "kind": "relation"}, format="json")
    assert response.status_code == 201
    assert Label.objects.filter(project=project, name="ORG").count() == 2


def test_same_name_in_another_project_is_allowed(project, people, client_for):
    from projects.actions.projects import do_create_project

    other = do_create_project(acting_user=people["admin"], name="Other")
    response = client_for(people["admin"]).post(url(other), {"name": "ORG", "shortcut": "o"}, format="json")
    assert response.status_code == 201


def test_duplicate_shortcut_is_400_and_creates_nothing(project, people, client_for):
    before = labels(project)
    response = client_for(people["admin"]).post(url(project), {"name": "EVENT", "shortcut": "p"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "shortcut: 'p' is already used by another label"
    assert response.json()["code"] == "shortcut_taken"
    assert labels(project) == before


@pytest.mark.parametrize("body, problem", [
    ({"name": "X", "color": "red"}, "color: must look like #rrggbb"),
    ({"name": "X", "color": "#12345"}, "color: must look like #rrggbb"),
    ({"name": "X", "color": "#gggggg"}, "color: must look like #rrggbb"),
    ({"name": "X", "color": "123456"}, "color: must look like #rrggbb"),
    ({"name": "two words"}, "name: a label name is non-empty and has no whitespace"),
    ({"name": "TAB\tBED"}, "name: a label name is non-empty and has no whitespace"),
    ({"name": "X", "shortcut": " "}, "shortcut: one key (a single character), or empty"),
])
def test_invalid_label_is_400_naming_the_problem(project, people, client_for, body, problem):
    before = labels(project)
    response = client_for(people["admin"]).post(url(project), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == problem
    assert labels(project) == before


@pytest.mark.parametrize("key", ["s", "b", "r", "a", "x", "A", "?", "[", "]", "0", "7"])
def test_a_workspace_command_key_is_not_a_shortcut(project, people, client_for, key):
    client = client_for(people["admin"])
    before = labels(project)
    response = client.post(url(project), {"name": "EVENT", "shortcut": key}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "reserved_shortcut"
    assert body["detail"] == (f"shortcut: {key!r} is a workspace command key; the reserved keys are "
                              "Space ] [ r a x A s b ? and the digits")
    assert set("sbraxA?[]0123456789") <= set(body["reserved"])
    gpe = Label.objects.get(project=project, name="GPE")
    response = client.patch(f"{url(project)}{gpe.pk}/", {"shortcut": key}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "reserved_shortcut")
    assert labels(project) == before


def test_the_reserved_keys_are_every_single_key_of_the_workspace_table():
    table = json.loads(KEY_TABLE.read_text())
    single = {key for entry in table for key in entry["keys"] if len(key) == 1}
    assert set(RESERVED_SHORTCUTS) == single
    assert {entry["command"] for entry in table if "s" in entry["keys"]} == {"skip"}


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "X", "kind": "attribute"}, "kind"),
    ({"name": "X", "color": "#1234567"}, "color"),
    ({"name": "X", "shortcut": "ab"}, "shortcut"),
])
def test_invalid_label_field_is_400_naming_the_field(project, people, client_for, body, field):
    before = labels(project)
    response = client_for(people["admin"]).post(url(project), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert labels(project) == before


def test_admin_changes_a_label(project, people, client_for):
    gpe = label(project, "GPE")
    response = client_for(people["admin"]).patch(url(project, gpe), {"name": "LOC", "color": "#00ff00",
                                                                     "shortcut": "l"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"id": gpe.pk, "name": "LOC", "kind": "entity", "color": "#00ff00", "shortcut": "l"}
    gpe.refresh_from_db()
    assert (gpe.name, gpe.color, gpe.shortcut) == ("LOC", "#00ff00", "l")


@pytest.mark.parametrize("shortcut", [None, ""])
def test_admin_clears_a_shortcut(project, people, client_for, shortcut):
    gpe = label(project, "GPE")
    response = client_for(people["admin"]).patch(url(project, gpe), {"shortcut": shortcut}, format="json")
    assert response.status_code == 200
    assert response.json()["shortcut"] == ""
    gpe.refresh_from_db()
    assert gpe.shortcut == ""


@pytest.mark.parametrize("body, problem", [
    ({"name": "ORG"}, "name: an entity label 'ORG' already exists"),
    ({"shortcut": "o"}, "shortcut: 'o' is already used by another label"),
    ({"color": "blue"}, "color: must look like #rrggbb"),
    ({"name": "G P E"}, "name: a label name is non-empty and has no whitespace"),
])
def test_invalid_change_is_400_and_changes_nothing(project, people, client_for, body, problem):
    before = labels(project)
    response = client_for(people["admin"]).patch(url(project, label(project, "GPE")), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == problem
    assert labels(project) == before


def test_kind_of_a_label_in_use_cannot_change(project, people, client_for, doc):
    annotate(project, doc(1), people["annotator"], [SpanIn("1", 14, 17, "ORG")])
    before = labels(project)
    response = client_for(people["admin"]).patch(url(project, label(project, "ORG")), {"kind": "relation"},
                                                 format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "kind: the label is in use, so its kind cannot change"
    assert labels(project) == before


def test_admin_deletes_an_unused_label_and_its_suggestions(project, people, client_for, doc):
    gpe = label(project, "GPE")
    Suggestion.objects.create(document=doc(1), start=25, end=31, label=gpe, model="m")  # no action makes these yet
    response = client_for(people["admin"]).delete(url(project, gpe))
    assert response.status_code == 204
    assert not Label.objects.filter(pk=gpe.pk).exists()
    assert not Suggestion.objects.exists()


def test_deleting_a_label_in_use_is_409_and_deletes_nothing(project, people, client_for, doc):
    annotate(project, doc(1), people["annotator"], [SpanIn("1", 14, 17, "ORG"), SpanIn("2", 25, 31, "GPE")],
             [RelationIn("1", "2", "located_in")])
    before = labels(project)
    client = client_for(people["admin"])
    response = client.delete(url(project, label(project, "ORG")))
    assert response.status_code == 409
    assert response.json()["detail"] == ("label 'ORG' is used by 1 spans and 0 relations; "
                                         "relabel or delete those first")
    assert response.json()["code"] == "label_in_use"
    relation = client.delete(url(project, label(project, "located_in", "relation")))
    assert relation.status_code == 409
    assert "used by 0 spans and 1 relations" in relation.json()["detail"]
    assert labels(project) == before
    assert Span.objects.count() == 2
