"""The annotation endpoint: version rules, validation, offsets in code points."""

from __future__ import annotations

import pytest

from projects.models import Annotation, Document, Span

pytestmark = pytest.mark.django_db


def doc(project, n):
    return Document.objects.get(project=project, meta__n=n)


def url(document):
    return f"/api/v1/documents/{document.pk}/annotation/"


def put(client, document, spans, relations=(), version=0, status="in_progress"):
    return client.put(url(document), {"spans": spans, "relations": list(relations), "version": version,
                                      "status": status}, format="json")


def test_annotator_gets_empty_annotation_before_first_put(project, people, client_for):
    response = client_for(people["annotator"]).get(url(doc(project, 1)))
    assert response.status_code == 200
    assert response.json() == {"spans": [], "relations": [], "status": "in_progress", "version": 0}


def test_annotator_can_save_spans_and_relations(project, people, client_for):
    client = client_for(people["annotator"])
    document = doc(project, 1)  # "Rebels led by HTS seized Aleppo."
    response = put(client, document, [
        {"id": 1, "start": 14, "end": 17, "label": "ORG"},
        {"id": "a", "start": 25, "end": 31, "label": "GPE"},
    ], [{"head": 1, "tail": "a", "label": "located_in"}])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 1
    assert body["spans"] == [{"id": 1, "start": 14, "end": 17, "label": "ORG"},
                             {"id": "a", "start": 25, "end": 31, "label": "GPE"}]
    assert body["relations"] == [{"head": 1, "tail": "a", "label": "located_in"}]
    again = client.get(url(document)).json()
    assert again["spans"] == body["spans"] and again["relations"] == body["relations"] and again["version"] == 1
    document.refresh_from_db()
    assert document.status == Document.Status.IN_PROGRESS


def test_offsets_are_code_points_with_emoji_and_cjk(project, people, client_for):
    client = client_for(people["annotator"])
    emoji_doc = doc(project, 2)  # "Assad’s allies 🇷🇺 Russia and Iran helped."
    start = emoji_doc.text.index("Russia")
    assert start == 18  # the flag is two code points (four UTF-16 units)
    response = put(client, emoji_doc, [{"id": 1, "start": start, "end": start + 6, "label": "GPE"}])
    assert response.status_code == 200, response.json()
    cjk_doc = doc(project, 3)  # "叙利亚 Homs is a city in Syria."
    start = cjk_doc.text.index("Homs")
    response = put(client, cjk_doc, [{"id": 1, "start": start, "end": start + 4, "label": "GPE"}])
    assert response.status_code == 200, response.json()
    assert Span.objects.get(annotation__document=cjk_doc).start == 4


def test_stale_version_gets_409_with_current_annotation_and_changes_nothing(project, people, client_for):
    client = client_for(people["annotator"])
    document = doc(project, 1)
    assert put(client, document, [{"id": 1, "start": 14, "end": 17, "label": "ORG"}]).status_code == 200
    response = put(client, document, [{"id": 1, "start": 25, "end": 31, "label": "GPE"}], version=0)
    assert response.status_code == 409
    body = response.json()
    assert body["version"] == 1
    assert body["spans"] == [{"id": 1, "start": 14, "end": 17, "label": "ORG"}]
    assert "stale" in body["detail"]
    assert list(Span.objects.filter(annotation__document=document).values_list("start", flat=True)) == [14]


def test_successive_puts_increment_version(project, people, client_for):
    client = client_for(people["annotator"])
    document = doc(project, 1)
    for version in range(3):
        response = put(client, document, [{"id": 1, "start": 14, "end": 17, "label": "ORG"}], version=version)
        assert response.status_code == 200
        assert response.json()["version"] == version + 1


@pytest.mark.parametrize("spans, relations, message", [
    ([{"id": 1, "start": 15, "end": 17, "label": "ORG"}], [], "not the start of a token"),
    ([{"id": 1, "start": 14, "end": 16, "label": "ORG"}], [], "not the end of a token"),
    ([{"id": 1, "start": 14, "end": 99, "label": "ORG"}], [], "0 <= start < end"),
    ([{"id": 1, "start": 17, "end": 14, "label": "ORG"}], [], "0 <= start < end"),
    ([{"id": 1, "start": -1, "end": 3, "label": "ORG"}], [], "0 <= start < end"),
    ([{"id": 1, "start": 14, "end": 17, "label": "NOPE"}], [], "not an entity label"),
    ([{"id": 1, "start": 14, "end": 17, "label": "located_in"}], [], "not an entity label"),
    ([{"id": 1, "start": 14, "end": 17, "label": "ORG"}, {"id": 1, "start": 25, "end": 31, "label": "GPE"}], [],
     "used by another span"),
    ([{"id": 1, "start": 14, "end": 24, "label": "ORG"}, {"id": 2, "start": 18, "end": 24, "label": "GPE"}], [],
     "overlap"),
    ([{"id": 1, "start": 14, "end": 17, "label": "ORG"}], [{"head": 1, "tail": 9, "label": "located_in"}],
     "not the id of a span"),
    ([{"id": 1, "start": 14, "end": 17, "label": "ORG"}, {"id": 2, "start": 25, "end": 31, "label": "GPE"}],
     [{"head": 1, "tail": 2, "label": "ORG"}], "not a relation label"),
    ([{"id": 1, "start": 14, "end": 17, "label": "ORG"}], [{"head": 1, "tail": 1, "label": "located_in"}],
     "same span"),
])
def test_invalid_annotation_gets_400_naming_the_problem_and_changes_nothing(
        project, people, client_for, spans, relations, message):
    client = client_for(people["annotator"])
    document = doc(project, 1)
    response = put(client, document, spans, relations)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Annotation.objects.filter(document=document).exists()


def test_missing_version_is_400(project, people, client_for):
    response = client_for(people["annotator"]).put(url(doc(project, 1)), {"spans": []}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()


def test_overlaps_allowed_when_project_allows(project, people, client_for):
    project.allow_overlapping_spans = True
    project.save()
    response = put(client_for(people["annotator"]), doc(project, 1), [
        {"id": 1, "start": 14, "end": 24, "label": "ORG"}, {"id": 2, "start": 18, "end": 24, "label": "GPE"}])
    assert response.status_code == 200, response.json()


def test_annotator_cannot_read_others_annotation(project, people, client_for):
    document = doc(project, 1)
    put(client_for(people["annotator"]), document, [{"id": 1, "start": 14, "end": 17, "label": "ORG"}])
    theirs = client_for(people["annotator2"]).get(url(document)).json()
    assert theirs["spans"] == [] and theirs["version"] == 0
    response = client_for(people["annotator2"]).get(f"/api/v1/documents/{document.pk}/annotations/")
    assert response.status_code == 403


def test_reviewer_sees_every_annotation(project, people, client_for):
    project.annotators_per_document = 2
    project.save()
    document = doc(project, 1)
    put(client_for(people["annotator"]), document, [{"id": 1, "start": 14, "end": 17, "label": "ORG"}])
    put(client_for(people["annotator2"]), document, [], status="submitted")
    response = client_for(people["reviewer"]).get(f"/api/v1/documents/{document.pk}/annotations/")
    assert response.status_code == 200
    by_user = {a["annotator"]: a for a in response.json()}
    assert set(by_user) == {"annotator", "annotator2"}
    assert by_user["annotator"]["spans"][0]["label"] == "ORG"
    assert by_user["annotator2"]["status"] == "submitted"


def test_submit_marks_document_submitted(project, people, client_for):
    document = doc(project, 1)
    response = put(client_for(people["annotator"]), document, [{"id": 1, "start": 14, "end": 17, "label": "ORG"}],
                   status="submitted")
    assert response.status_code == 200
    document.refresh_from_db()
    assert document.status == Document.Status.SUBMITTED


@pytest.mark.django_db(transaction=True)
def test_an_annotation_made_behind_the_document_lock_gives_409_and_nothing_written(
        project, people, client_for, monkeypatch):
    """Every save holds the document row, so the first save creates the annotation without a savepoint.
    An annotation made without that lock (an admin's hand edit) between its read and its insert loses
    the whole transaction: the save rolls back and answers 409 with the stored annotation."""
    from projects.actions import annotations as actions

    document = doc(project, 1)  # "Rebels led by HTS seized Aleppo."
    stored = Annotation.objects.create(document=document, annotator=people["annotator"], version=3,
                                       status="in_progress")
    real = Annotation.objects.select_for_update

    def blind_read(*args, **kwargs):  # the read misses it, as if it were made after the read
        return real(*args, **kwargs).none()

    monkeypatch.setattr(actions.Annotation.objects, "select_for_update", blind_read)
    response = put(client_for(people["annotator"]), document, [{"id": "a", "start": 14, "end": 17, "label": "ORG"}])
    assert response.status_code == 409, response.json()
    assert (response.json()["code"], response.json()["version"]) == ("version_conflict", 3)
    assert list(Annotation.objects.filter(document=document).values_list("pk", "version")) == [(stored.pk, 3)]
    assert not Span.objects.filter(annotation__document=document).exists()
