"""Assignment with overlap k: the queue, expiry, and admins' explicit assignments (API and Django admin)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from projects.actions.projects import do_update_project
from projects.models import Assignment, Document

pytestmark = pytest.mark.django_db


def next_id(client, project, skip=()):
    url = f"/api/v1/projects/{project.pk}/next/" + (f"?skip={','.join(map(str, skip))}" if skip else "")
    response = client.get(url)
    assert response.status_code in (200, 204), response.content
    return None if response.status_code == 204 else response.json()["document"]["id"]


def submit(client, document_id):
    response = client.put(f"/api/v1/documents/{document_id}/annotation/",
                          {"spans": [], "version": 0, "status": "submitted"}, format="json")
    assert response.status_code == 200, response.content


def holders(document_id):
    return sorted(Assignment.objects.filter(document_id=document_id).values_list("annotator__username", flat=True))


def assert_counts_match_rows(project):
    for pk, stored, rows in Document.objects.filter(project=project).annotate(n=Count("assignments")).values_list(
            "pk", "assignee_count", "n"):
        assert stored == rows, f"document {pk}: count {stored}, rows {rows}"


def set_k(project, people, k):
    do_update_project(project, acting_user=people["admin"], annotators_per_document=k)


def test_each_document_goes_to_k_distinct_annotators_the_fullest_first(project, people, annotator3, client_for, doc):
    set_k(project, people, 2)
    ann, ann2, ann3 = (client_for(u) for u in (people["annotator"], people["annotator2"], annotator3))
    assert next_id(ann, project) == doc(1).pk
    assert next_id(ann2, project) == doc(1).pk  # the half-held document first
    assert next_id(ann3, project) == doc(2).pk  # document 1 is full
    submit(ann, doc(1).pk)
    assert next_id(ann, project) == doc(2).pk
    assert holders(doc(1).pk) == ["annotator", "annotator2"]
    assert holders(doc(2).pk) == ["annotator", "annotator3"]
    assert_counts_match_rows(project)


def test_an_annotator_resumes_what_they_hold_and_never_gets_a_document_twice(project, people, client_for, doc):
    set_k(project, people, 2)
    ann = client_for(people["annotator"])
    first = next_id(ann, project)
    assert next_id(ann, project) == first  # held, not submitted: the same again
    assert next_id(ann, project, skip=[first]) == doc(2).pk  # skipped: a new one, and both held
    submit(ann, first)
    assert next_id(ann, project) == doc(2).pk
    submit(ann, doc(2).pk)
    assert next_id(ann, project) == doc(3).pk
    submit(ann, doc(3).pk)
    assert next_id(ann, project) is None  # each document once per person, whatever k is
    assert next_id(client_for(people["annotator2"]), project) == doc(1).pk


def test_a_document_with_k_holders_is_not_handed_out(project, people, client_for, doc):
    ann, ann2 = client_for(people["annotator"]), client_for(people["annotator2"])
    assert next_id(ann, project) == doc(1).pk
    assert next_id(ann2, project) == doc(2).pk  # k = 1: document 1 is held, though not submitted
    assert_counts_match_rows(project)


def test_an_unsubmitted_assignment_returns_to_the_pool_after_the_timeout(project, people, client_for, doc, settings):
    settings.ASSIGNMENT_TIMEOUT_SECONDS = 60
    ann, ann2 = client_for(people["annotator"]), client_for(people["annotator2"])
    assert next_id(ann, project) == doc(1).pk
    assignment = Assignment.objects.get(document=doc(1), annotator=people["annotator"])
    assert timedelta(seconds=55) < assignment.expires_at - timezone.now() <= timedelta(seconds=60)
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    cache.clear()  # expired assignments are looked for at most every few seconds
    assert next_id(ann2, project) == doc(1).pk
    assert holders(doc(1).pk) == ["annotator2"]
    assert next_id(ann, project) == doc(2).pk  # the first annotator lost it and goes on
    assert_counts_match_rows(project)


def test_saving_moves_the_deadline_on_and_a_submitted_assignment_never_expires(project, people, client_for, doc):
    ann = client_for(people["annotator"])
    document_id = next_id(ann, project)
    Assignment.objects.filter(document_id=document_id).update(expires_at=timezone.now() + timedelta(seconds=5))
    response = ann.put(f"/api/v1/documents/{document_id}/annotation/", {"spans": [], "version": 0}, format="json")
    assert response.status_code == 200
    assignment = Assignment.objects.get(document_id=document_id)
    assert assignment.expires_at - timezone.now() > timedelta(minutes=5) and assignment.submitted_at is None
    submit_body = {"spans": [], "version": 1, "status": "submitted"}
    assert ann.put(f"/api/v1/documents/{document_id}/annotation/", submit_body, format="json").status_code == 200
    Assignment.objects.filter(document_id=document_id).update(expires_at=timezone.now() - timedelta(hours=1))
    cache.clear()
    assert next_id(client_for(people["annotator2"]), project) != document_id
    assert holders(document_id) == ["annotator"]


def test_a_direct_put_counts_the_annotator_among_the_documents_k(project, people, client_for, doc):
    submit(client_for(people["annotator2"]), doc(1).pk)  # an API script, not the queue
    assert holders(doc(1).pk) == ["annotator2"]
    assert next_id(client_for(people["annotator"]), project) == doc(2).pk
    assert_counts_match_rows(project)


def test_raising_k_reopens_submitted_documents_for_another_annotator(project, people, client_for, doc):
    submit(client_for(people["annotator"]), doc(1).pk)
    doc(1).refresh_from_db()
    assert Document.objects.get(pk=doc(1).pk).status == "submitted"
    set_k(project, people, 2)
    assert Document.objects.get(pk=doc(1).pk).status == "in_progress"
    assert next_id(client_for(people["annotator2"]), project) == doc(1).pk


# Explicit assignments -------------------------------------------------------------------------------

def assign(client, project, **body):
    return client.post(f"/api/v1/projects/{project.pk}/assignments/", body, format="json")


def test_admin_assigns_documents_explicitly_and_they_never_expire(project, people, client_for, doc):
    admin = client_for(people["admin"])
    response = assign(admin, project, documents=[doc(3).pk, doc(2).pk], annotator="annotator2")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(a["document"], a["annotator"], a["assigned_by"], a["expires_at"]) for a in body] == [
        (doc(2).pk, "annotator2", "admin", None), (doc(3).pk, "annotator2", "admin", None)]
    # Their queue starts with what they were given; the others' skips it.
    assert next_id(client_for(people["annotator2"]), project) == doc(2).pk
    assert next_id(client_for(people["annotator"]), project) == doc(1).pk
    listed = admin.get(f"/api/v1/projects/{project.pk}/assignments/?annotator=annotator2").json()
    assert [a["document"] for a in listed["results"]] == [doc(2).pk, doc(3).pk]
    assert_counts_match_rows(project)


def test_admin_cannot_assign_a_document_that_already_has_k_annotators(project, people, client_for, doc):
    next_id(client_for(people["annotator"]), project)  # holds document 1; k = 1
    response = assign(client_for(people["admin"]), project, documents=[doc(1).pk, doc(2).pk], annotator="annotator2")
    assert response.status_code == 409
    assert response.json()["code"] == "document_full" and str(doc(1).pk) in response.json()["detail"]
    assert holders(doc(2).pk) == []  # all or nothing


def test_admin_reassigns_unsubmitted_work_and_withdraws_it(project, people, client_for, doc):
    admin = client_for(people["admin"])
    next_id(client_for(people["annotator"]), project)  # document 1
    response = assign(admin, project, documents=[doc(1).pk], annotator="annotator2", from_user="annotator")
    assert response.status_code == 200, response.content
    assert holders(doc(1).pk) == ["annotator2"]
    assert next_id(client_for(people["annotator2"]), project) == doc(1).pk
    response = assign(admin, project, documents=[doc(1).pk], from_user="annotator2")
    assert response.status_code == 200 and response.json() == []
    assert holders(doc(1).pk) == []
    assert_counts_match_rows(project)


def test_submitted_work_is_never_reassigned(project, people, client_for, doc):
    submit(client_for(people["annotator"]), doc(1).pk)
    response = assign(client_for(people["admin"]), project, documents=[doc(1).pk], annotator="annotator2",
                      from_user="annotator")
    assert response.status_code == 409 and response.json()["code"] == "already_submitted"
    assert holders(doc(1).pk) == ["annotator"]


@pytest.mark.parametrize("body, code", [
    ({"annotator": "outsider"}, "not_a_member"),
    ({"annotator": "nobody-by-that-name"}, "unknown_user"),
    ({}, "nobody_to_assign"),
    ({"annotator": "annotator", "documents": [999999]}, "unknown_documents"),
    ({"from_user": "annotator2"}, "not_assigned"),
])
def test_assignment_requests_that_cannot_be_done_say_why(project, people, client_for, doc, body, code):
    body = {"documents": [doc(1).pk], **body}
    response = assign(client_for(people["admin"]), project, **body)
    assert response.status_code in (400, 409)
    assert response.json()["code"] == code, response.json()
    assert Assignment.objects.count() == 0


def test_admin_assigns_documents_with_the_django_admin_action(project, people, client, doc, make_user):
    staff = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    ids = [doc(1).pk, doc(2).pk]
    page = client.post("/admin/projects/document/", {"action": "assign_documents", "_selected_action": ids})
    assert page.status_code == 200 and b"Assign documents" in page.content
    response = client.post("/admin/projects/document/", {
        "action": "assign_documents", "_selected_action": ids, "apply": "Assign",
        "annotator": people["annotator2"].pk}, follow=True)
    assert response.status_code == 200
    assert b"2 documents assigned to annotator2" in response.content
    assert holders(doc(1).pk) == holders(doc(2).pk) == ["annotator2"]
    assert Assignment.objects.filter(assigned_by=staff).count() == 2
    # The assignments list, and withdrawing them from there.
    listing = client.get("/admin/projects/assignment/")
    assert listing.status_code == 200 and b"annotator2" in listing.content
    chosen = list(Assignment.objects.values_list("pk", flat=True))
    client.post("/admin/projects/assignment/", {"action": "withdraw", "_selected_action": chosen}, follow=True)
    assert Assignment.objects.count() == 0
    assert_counts_match_rows(project)


def test_an_explicit_assignment_of_a_submitted_document_comes_first_in_the_assignees_queue(
        project, people, client_for, doc):
    admin, ann, ann2 = (client_for(people[n]) for n in ("admin", "annotator", "annotator2"))
    submit(ann, doc(2).pk)  # k = 1: submitted
    assert next_id(ann2, project) == doc(1).pk  # ann2 holds a fresh one from the queue
    set_k(project, people, 2)  # the usual "double-annotate" step: raise k, then assign the sample
    assert assign(admin, project, documents=[doc(2).pk], annotator="annotator2").status_code == 200
    assert next_id(ann2, project) == doc(2).pk  # before what the queue gave them
    submit(ann2, doc(2).pk)
    assert Document.objects.get(pk=doc(2).pk).status == "submitted"
    assert holders(doc(2).pk) == ["annotator", "annotator2"]
    assert next_id(ann2, project) == doc(1).pk  # then back to the queue's
    assert_counts_match_rows(project)


def test_an_explicit_assignment_of_a_reviewed_document_reopens_it_and_its_change_returns_to_review(
        project, people, client_for, doc):
    from projects.models import Reopening

    admin, ann, ann2, reviewer = (client_for(people[n]) for n in ("admin", "annotator", "annotator2", "reviewer"))
    submit(ann, doc(1).pk)
    gold = reviewer.put(f"/api/v1/documents/{doc(1).pk}/gold/", {"spans": [], "relations": [], "version": 0,
                                                                 "status": "submitted"}, format="json")
    assert gold.status_code == 200
    set_k(project, people, 2)
    assert assign(admin, project, documents=[doc(1).pk], annotator="annotator2").status_code == 200
    reopening = Reopening.objects.get(document_id=doc(1).pk)
    assert (reopening.reopened_by, reopening.closed_at) == (people["admin"], None)
    assert next_id(ann2, project) == doc(1).pk
    response = ann2.put(f"/api/v1/documents/{doc(1).pk}/annotation/", {
        "spans": [{"id": 1, "start": 25, "end": 31, "label": "GPE"}], "relations": [], "version": 0,
        "status": "submitted"}, format="json")
    assert response.status_code == 200, response.content
    queue = reviewer.get(f"/api/v1/projects/{project.pk}/review/").json()["results"]
    assert [(row["id"], row["changed_since_review"]) for row in queue] == [(doc(1).pk, True)]


def test_lowering_k_takes_no_submitted_work_away(project, people, annotator3, client_for, doc):
    set_k(project, people, 3)
    clients = [client_for(u) for u in (people["annotator"], people["annotator2"], annotator3)]
    for client in clients[:2]:
        assert next_id(client, project) == doc(1).pk
        submit(client, doc(1).pk)
    set_k(project, people, 1)
    assert holders(doc(1).pk) == ["annotator", "annotator2"]
    assert Document.objects.get(pk=doc(1).pk).status == "submitted"
    assert next_id(clients[2], project) == doc(2).pk  # full: the third annotator gets another
    assert_counts_match_rows(project)
