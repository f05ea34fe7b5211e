"""Review locks: once a document has gold its annotations are read-only, until a reviewer reopens it.

PUT /documents/{id}/annotation/ on a reviewed document -> 409 document_reviewed, nothing changed;
POST /documents/{id}/reopen/ lifts the lock (who and when recorded) until the next gold save.
"""

from __future__ import annotations

import json

import pytest

from projects.models import Annotation, Assignment, Document, GoldRevision, Reopening, Span

pytestmark = pytest.mark.django_db

# doc(1): "Rebels led by HTS seized Aleppo." -> HTS 14-17, Aleppo 25-31
HTS_ORG, ALEPPO = (14, 17, "ORG"), (25, 31, "GPE")


def body(spans, version, status="submitted"):
    return {"spans": [{"id": i + 1, "start": s, "end": e, "label": label} for i, (s, e, label) in enumerate(spans)],
            "relations": [], "version": version, "status": status}


def annotation_url(document):
    return f"/api/v1/documents/{document.pk}/annotation/"


def reopen_url(document):
    return f"/api/v1/documents/{document.pk}/reopen/"


def queue(client, project, **params):
    return client.get(f"/api/v1/projects/{project.pk}/review/", params).json()["results"]


def stored_state(document) -> dict:
    """Everything an annotator's save could change."""
    return {
        "annotations": sorted(Annotation.objects.filter(document=document)
                              .values_list("pk", "annotator_id", "is_gold", "status", "version", "updated_at")),
        "spans": sorted(Span.objects.filter(annotation__document=document).values_list("pk", "start", "end")),
        "assignments": sorted(Assignment.objects.filter(document=document)
                              .values_list("annotator_id", "submitted_at", "expires_at")),
        "document": Document.objects.filter(pk=document.pk).values("status", "disagreement", "assignee_count").get(),
        "reopenings": list(Reopening.objects.filter(document=document).values_list("pk", "changed_at", "closed_at")),
    }


@pytest.fixture
def reviewed(project, people, doc, annotate, client_for):
    """doc(1), which annotator submitted (HTS as ORG) and the reviewer made gold of (Aleppo as GPE)."""
    annotate(doc(1), people["annotator"], [HTS_ORG])
    response = client_for(people["reviewer"]).put(f"/api/v1/documents/{doc(1).pk}/gold/", body([ALEPPO], 0),
                                                  format="json")
    assert response.status_code == 200, response.content
    return Document.objects.select_related("project").get(pk=doc(1).pk)


@pytest.mark.parametrize("status", ["in_progress", "submitted"])
def test_annotator_cannot_change_their_annotation_of_a_reviewed_document(reviewed, people, client_for, status):
    before = stored_state(reviewed)
    response = client_for(people["annotator"]).put(annotation_url(reviewed), body([ALEPPO], 1, status=status),
                                                   format="json")
    assert response.status_code == 409
    refused = response.json()
    assert refused["code"] == "document_reviewed" and "reviewed" in refused["detail"]
    # The body is the stored annotation, as with a stale version.
    assert (refused["version"], refused["status"]) == (1, "submitted")
    assert [(s["start"], s["end"], s["label"]) for s in refused["spans"]] == [HTS_ORG]
    assert stored_state(reviewed) == before


def test_a_stale_version_on_a_reviewed_document_is_refused_as_reviewed(reviewed, people, client_for):
    response = client_for(people["annotator"]).put(annotation_url(reviewed), body([], 0), format="json")
    assert response.status_code == 409 and response.json()["code"] == "document_reviewed"


def test_nobody_starts_a_new_annotation_of_a_reviewed_document(reviewed, people, client_for):
    before = stored_state(reviewed)
    response = client_for(people["annotator2"]).put(annotation_url(reviewed), body([ALEPPO], 0), format="json")
    assert response.status_code == 409 and response.json()["code"] == "document_reviewed"
    assert response.json()["version"] == 0 and response.json()["spans"] == []
    assert stored_state(reviewed) == before  # no annotation, no assignment, no count


def test_reviewers_still_save_gold_on_a_reviewed_document(reviewed, people, client_for):
    response = client_for(people["admin"]).put(f"/api/v1/documents/{reviewed.pk}/gold/",
                                               body([HTS_ORG, ALEPPO], 1), format="json")
    assert response.status_code == 200 and response.json()["version"] == 2


def test_the_document_says_whether_its_annotations_are_locked(reviewed, project, people, doc, client_for):
    client = client_for(people["annotator"])
    detail = client.get(f"/api/v1/projects/{project.pk}/documents/{reviewed.pk}/").json()
    assert (detail["status"], detail["locked"]) == ("reviewed", True)
    listed = {d["id"]: d["locked"] for d in client.get(f"/api/v1/projects/{project.pk}/documents/").json()["results"]}
    assert listed == {reviewed.pk: True, doc(2).pk: False, doc(3).pk: False}
    client_for(people["reviewer"]).post(reopen_url(reviewed))
    assert client.get(f"/api/v1/projects/{project.pk}/documents/{reviewed.pk}/").json()["locked"] is False
    listed = {d["id"]: d["locked"] for d in client.get(f"/api/v1/projects/{project.pk}/documents/").json()["results"]}
    assert listed[reviewed.pk] is False


def test_reviewer_reopens_a_document_and_its_annotations_change_until_gold_is_saved(
        reviewed, project, people, client_for):
    reviewer, annotator = client_for(people["reviewer"]), client_for(people["annotator"])
    response = reviewer.post(reopen_url(reviewed))
    assert response.status_code == 200, response.content
    reopening = response.json()
    assert reopening["reopened_by"] == "reviewer" and reopening["reopened_at"]
    assert (reopening["changed_at"], reopening["closed_by"], reopening["closed_at"]) == (None, None, None)
    bundle = reviewer.get(f"/api/v1/documents/{reviewed.pk}/review/").json()
    assert bundle["document"]["reopened"] == reopening and bundle["document"]["locked"] is False
    assert bundle["document"]["changed_since_review"] is False and bundle["reopenings"] == [reopening]
    # Reopened, unchanged: not waiting for review yet.
    assert queue(reviewer, project) == []

    # The annotator changes their annotation: it is saved, and the document is back in the queue, flagged.
    saved = annotator.put(annotation_url(reviewed), body([HTS_ORG, ALEPPO], 1), format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["version"] == 2
    (item,) = queue(reviewer, project)
    assert (item["id"], item["status"], item["reopened"], item["changed_since_review"]) == (
        reviewed.pk, "reviewed", True, True)
    document = reviewer.get(f"/api/v1/documents/{reviewed.pk}/review/").json()["document"]
    assert document["changed_since_review"] is True and document["reopened"]["changed_at"]
    # The gold stays what it was until a reviewer saves it again; exports keep using it.
    gold = reviewer.get(f"/api/v1/documents/{reviewed.pk}/gold/").json()
    assert [(s["start"], s["end"], s["label"]) for s in gold["spans"]] == [ALEPPO] and gold["version"] == 1
    exported = reviewer.get(f"/api/v1/projects/{project.pk}/export/", {"format": "jsonl"})
    (line,) = b"".join(exported.streaming_content).decode().splitlines()
    assert [(s["start"], s["end"], s["label"]) for s in json.loads(line)["spans"]] == [ALEPPO]

    # The reviewer's next gold save locks it again and takes it out of the queue.
    assert reviewer.put(f"/api/v1/documents/{reviewed.pk}/gold/", body([HTS_ORG, ALEPPO], 1),
                        format="json").status_code == 200
    assert queue(reviewer, project) == []
    closed = Reopening.objects.get(document=reviewed)
    assert closed.closed_by.username == "reviewer" and closed.closed_at >= closed.changed_at >= closed.reopened_at
    assert reviewer.get(f"/api/v1/documents/{reviewed.pk}/review/").json()["document"]["locked"] is True
    refused = annotator.put(annotation_url(reviewed), body([], 2), format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "document_reviewed"
    assert Document.objects.get(pk=reviewed.pk).status == "reviewed"


def test_adopting_an_annotation_as_gold_locks_a_reopened_document_again(reviewed, project, people, client_for):
    reviewer, annotator = client_for(people["reviewer"]), client_for(people["annotator"])
    reviewer.post(reopen_url(reviewed))
    annotator.put(annotation_url(reviewed), body([HTS_ORG, ALEPPO], 1), format="json")
    adopted = reviewer.post(f"/api/v1/documents/{reviewed.pk}/gold/", {"from_user": "annotator"}, format="json")
    assert adopted.status_code == 200, adopted.content
    assert GoldRevision.objects.filter(document=reviewed).latest("version").action == "adopt"
    assert not Reopening.objects.filter(document=reviewed, closed_at__isnull=True).exists()
    assert annotator.put(annotation_url(reviewed), body([], 2), format="json").status_code == 409


def test_a_document_reopened_twice_keeps_both_in_its_history(reviewed, people, client_for):
    reviewer, admin = client_for(people["reviewer"]), client_for(people["admin"])
    reviewer.post(reopen_url(reviewed))
    reviewer.put(f"/api/v1/documents/{reviewed.pk}/gold/", body([ALEPPO], 1), format="json")
    assert admin.post(reopen_url(reviewed)).status_code == 200
    history = reviewer.get(f"/api/v1/documents/{reviewed.pk}/review/").json()["reopenings"]
    assert [(r["reopened_by"], r["closed_by"]) for r in history] == [("admin", None), ("reviewer", "reviewer")]


def test_reopening_a_document_without_gold_is_a_conflict(project, people, doc, annotate, client_for):
    annotate(doc(2), people["annotator"], [])
    response = client_for(people["reviewer"]).post(reopen_url(doc(2)))
    assert response.status_code == 409 and response.json()["code"] == "not_reviewed"
    assert not Reopening.objects.exists()


def test_reopening_an_open_document_again_is_a_conflict(reviewed, people, client_for):
    reviewer = client_for(people["reviewer"])
    assert reviewer.post(reopen_url(reviewed)).status_code == 200
    again = client_for(people["admin"]).post(reopen_url(reviewed))
    assert again.status_code == 409 and again.json()["code"] == "already_reopened"
    assert "reviewer" in again.json()["detail"]
    assert Reopening.objects.filter(document=reviewed).count() == 1


def test_annotator_cannot_reopen_a_document(reviewed, people, client_for):
    response = client_for(people["annotator"]).post(reopen_url(reviewed))
    assert response.status_code == 403
    assert not Reopening.objects.exists()


def test_outsider_cannot_tell_a_reviewed_document_from_a_missing_one(reviewed, people, client_for):
    client = client_for(people["outsider"])
    hidden, missing = client.post(reopen_url(reviewed)), client.post("/api/v1/documents/999999/reopen/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert not Reopening.objects.exists()


def test_reopenings_are_shown_read_only_on_the_documents_admin_page(reviewed, people, client, client_for, make_user):
    client_for(people["reviewer"]).post(reopen_url(reviewed))
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/projects/document/{reviewed.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Reopenings (review locks lifted)" in content and "reviewer" in content
    assert 'name="reopenings-0-reopened_by"' not in content  # shown, not editable


def test_the_schema_documents_the_reopen_endpoint(db, client_for):
    schema = client_for(None).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/documents/{document_id}/reopen/"]["post"]
    assert {"200", "409"} <= set(operation["responses"])
