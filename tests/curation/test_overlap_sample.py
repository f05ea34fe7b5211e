"""Overlap on a sample: a fraction of the documents go to k annotators and the rest to one, chosen
exactly (floor or ceil of N * f in any run of N documents), stably (a document's choice never moves
when more are added) and deterministically; agreement is then over the sample."""

from __future__ import annotations

import json
import math

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from projects.actions.documents import do_create_documents
from projects.actions.projects import do_update_project
from projects.models import Document
from projects.overlap import in_sample, phase_of, sample_flags
from tests.exports.test_round_trips import upload

pytestmark = pytest.mark.django_db


@given(fraction=st.floats(0, 1), phase=st.floats(0, 1, exclude_max=True), start=st.integers(0, 10_000),
       length=st.integers(0, 3_000))
def test_any_run_of_documents_holds_its_exact_share_of_the_sample(fraction, phase, start, length):
    flags = sample_flags(start, length, fraction, phase)
    assert math.floor(length * fraction) <= sum(flags) <= math.ceil(length * fraction)
    assert flags == [in_sample(n, fraction, phase) for n in range(start, start + length)]  # stable by position


def test_the_phase_follows_the_project_and_its_seed():
    assert phase_of(1, "annotator") == phase_of(1, "annotator")
    assert len({phase_of(1, "annotator"), phase_of(2, "annotator"), phase_of(1, "other")}) == 3
    assert 0 <= phase_of(7, "x") < 1


def next_id(client, project):
    response = client.get(f"/api/v1/projects/{project.pk}/next/")
    assert response.status_code in (200, 204)
    return response.json()["document"]["id"] if response.status_code == 200 else None


def submit(client, document_id):
    response = client.put(f"/api/v1/documents/{document_id}/annotation/",
                          {"spans": [], "relations": [], "version": 0, "status": "submitted"}, format="json")
    assert response.status_code == 200, response.content


def test_a_quarter_of_the_documents_go_to_k_annotators_and_the_rest_to_one(project, people, client_for,
                                                                          annotator3):
    admin = client_for(people["admin"])
    response = admin.patch(f"/api/v1/projects/{project.pk}/", {"annotators_per_document": 2,
                                                                "overlap_sample": 0.25}, format="json")
    assert response.status_code == 200 and response.json()["overlap_sample"] == 0.25
    project.refresh_from_db()
    do_create_documents(project, [{"text": f"Report number {i} from Homs."} for i in range(9)],
                        acting_user=people["admin"])
    documents = list(Document.objects.filter(project=project).order_by("pk"))
    assert len(documents) == 12 and sum(d.overlap for d in documents) == 3  # exactly a quarter
    sample = {d.pk for d in documents if d.overlap}
    clients = [client_for(u) for u in (people["annotator"], people["annotator2"], annotator3)]
    handed = []
    while True:  # everyone works until the queue is dry
        got = [(i, next_id(c, project)) for i, c in enumerate(clients)]
        got = [(i, pk) for i, pk in got if pk is not None]
        if not got:
            break
        for i, pk in got:
            submit(clients[i], pk)
            handed.append(pk)
    assert sorted(handed.count(d.pk) for d in documents) == sorted(2 if d.pk in sample else 1 for d in documents)
    assert set(Document.objects.filter(project=project).values_list("status", flat=True)) == {"submitted"}
    body = client_for(people["reviewer"]).get(f"/api/v1/projects/{project.pk}/agreement/").json()
    assert body["documents"] == 3  # agreement over the sample
    progress = client_for(people["reviewer"]).get(f"/api/v1/projects/{project.pk}/progress/").json()
    assert (progress["overlap_sample"], progress["sample_documents"]) == (0.25, 3)
    browser = Client()
    browser.force_login(people["reviewer"])
    page = browser.get(f"/projects/{project.pk}/dashboard/")
    assert "An overlap sample of 3 documents (25% of them) goes to 2 annotators" in page.content.decode()


def test_a_new_fraction_chooses_again_and_takes_no_submitted_work_away(project, people, client_for, doc):
    do_update_project(project, acting_user=people["admin"], annotators_per_document=2)
    ann, ann2 = client_for(people["annotator"]), client_for(people["annotator2"])
    for client in (ann, ann2):
        submit(client, doc(1).pk)
    submit(ann, doc(2).pk)
    assert Document.objects.get(pk=doc(2).pk).status == "in_progress"  # one of two
    do_update_project(project, acting_user=people["admin"], overlap_sample=1 / 3)
    flags = dict(Document.objects.filter(project=project).values_list("pk", "overlap"))
    assert sum(flags.values()) == 1
    statuses = dict(Document.objects.filter(project=project).values_list("pk", "status"))
    assert statuses[doc(1).pk] == "submitted"  # two submitted: more than its places now, nothing taken away
    assert statuses[doc(2).pk] == ("in_progress" if flags[doc(2).pk] else "submitted")


def test_imported_documents_continue_the_sample(project, people, client_for, django_capture_on_commit_callbacks):
    do_update_project(project, acting_user=people["admin"], annotators_per_document=2, overlap_sample=0.5)
    lines = "".join(json.dumps({"text": f"Imported line {i}.", "spans": []}) + "\n" for i in range(7)).encode()
    upload(django_capture_on_commit_callbacks, client_for(people["admin"]), project, "a.jsonl", lines, "jsonl")
    documents = list(Document.objects.filter(project=project).order_by("pk"))
    phase = phase_of(project.pk, project.split_seed)
    # The three fixture documents were stored before the fraction changed, which chose again over them.
    assert [d.overlap for d in documents] == sample_flags(0, 10, 0.5, phase)
    imported = documents[3:]
    assert {d.status for d in imported if d.overlap} == {"in_progress"}  # the importer's is one of two places
    assert {d.status for d in imported if not d.overlap} == {"submitted"}  # the only place


def test_an_overlap_sample_outside_0_and_1_is_refused(project, people, client_for):
    response = client_for(people["admin"]).patch(f"/api/v1/projects/{project.pk}/", {"overlap_sample": 1.5},
                                                 format="json")
    assert response.status_code == 400 and "overlap_sample" in response.json()
