"""Django admin is a write path like any other: its forms save through the same actions as the API, with
the same rules and errors, and what no path may change (a document's text, its project, its derived
counts) cannot be changed here either."""

from __future__ import annotations

import pytest

from projects.actions.annotations import do_save_annotation
from projects.models import Annotation, Document, Label, Membership, Project
from projects.spans import SpanIn
from projects.token_columns import tokenizer_key

pytestmark = pytest.mark.django_db


def project_form(project: Project, **changes) -> dict:
    """The project change form as the admin page posts it, with its member and label rows."""
    data = {field: getattr(project, field) for field in (
        "name", "description", "language", "annotators_per_document", "overlap_sample", "guidelines", "split_train",
        "split_dev", "split_test", "split_seed", "queue_order", "uncertainty_sampling", "retrain_every", "retrain_model")}
    if project.allow_overlapping_spans:
        data["allow_overlapping_spans"] = "on"
    members = list(Membership.objects.filter(project=project).order_by("pk"))
    labels = list(Label.objects.filter(project=project).order_by("pk"))
    data.update({"memberships-TOTAL_FORMS": len(members), "memberships-INITIAL_FORMS": len(members),
                 "labels-TOTAL_FORMS": len(labels), "labels-INITIAL_FORMS": len(labels)})
    for i, m in enumerate(members):
        data.update({f"memberships-{i}-id": m.pk, f"memberships-{i}-project": project.pk,
                     f"memberships-{i}-user": m.user_id, f"memberships-{i}-role": m.role})
    for i, label in enumerate(labels):
        data.update({f"labels-{i}-id": label.pk, f"labels-{i}-project": project.pk, f"labels-{i}-name": label.name,
                     f"labels-{i}-kind": label.kind, f"labels-{i}-color": label.color,
                     f"labels-{i}-shortcut": label.shortcut})
    data.update(changes)
    return data


def change_project(admin_client, project, **changes):
    return admin_client.post(f"/admin/projects/project/{project.pk}/change/", project_form(project, **changes))


def test_a_documents_text_project_and_counts_cannot_be_changed_in_the_admin(admin_client, project, people, doc):
    document = doc(1)
    do_save_annotation(document, people["annotator"], spans=[SpanIn("1", 14, 17, "ORG")], relations=[],
                       status="submitted", version=0)
    document.refresh_from_db()
    before = (document.text, document.project_id, document.status, document.assignee_count, bytes(document.tokens))
    other = Project.objects.create(name="elsewhere")
    page = admin_client.get(f"/admin/projects/document/{document.pk}/change/").content.decode()
    assert 'name="text"' not in page and 'name="project"' not in page and 'name="status"' not in page
    response = admin_client.post(f"/admin/projects/document/{document.pk}/change/", {
        "text": "Rebels led by HTS seized Aleppo!", "project": other.pk, "status": "unlabelled",
        "assignee_count": 0, "meta": '{"n": 1, "source": "wire"}',
        "assignments-TOTAL_FORMS": 0, "assignments-INITIAL_FORMS": 0,
        "gold_revisions-TOTAL_FORMS": 0, "gold_revisions-INITIAL_FORMS": 0,
        "reopenings-TOTAL_FORMS": 0, "reopenings-INITIAL_FORMS": 0})
    assert response.status_code == 302, response.content.decode()[:3000]
    document.refresh_from_db()
    assert (document.text, document.project_id, document.status, document.assignee_count,
            bytes(document.tokens)) == before
    assert document.meta == {"n": 1, "source": "wire"}  # meta is the one thing that changes
    # The export still reads: the text and its tokens agree.
    response = admin_client.get(f"/api/v1/projects/{project.pk}/export/", {"format": "conll", "source": "submitted"})
    assert response.status_code == 200


def test_a_document_added_in_the_admin_is_stored_with_its_tokens(admin_client, project):
    response = admin_client.post("/admin/projects/document/add/", {
        "project": project.pk, "text": "Homs fell 😀 today.", "meta": "{}",
        "assignments-TOTAL_FORMS": 0, "assignments-INITIAL_FORMS": 0,
        "gold_revisions-TOTAL_FORMS": 0, "gold_revisions-INITIAL_FORMS": 0,
        "reopenings-TOTAL_FORMS": 0, "reopenings-INITIAL_FORMS": 0})
    assert response.status_code == 302, response.content.decode()[:3000]
    document = Document.objects.get(project=project, text="Homs fell 😀 today.")
    assert bytes(document.tokens).startswith(tokenizer_key("en").encode())
    assert document.content_hash == Document.hash_text(document.text)


def test_deleting_documents_in_the_admin_takes_their_annotations(admin_client, project, people, doc):
    document = doc(1)
    do_save_annotation(document, people["annotator"], spans=[], relations=[], status="submitted", version=0)
    response = admin_client.post("/admin/projects/document/", {
        "action": "delete_selected", "_selected_action": [document.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not Annotation.objects.filter(document_id=document.pk).exists()


def test_the_admin_refuses_a_new_language_for_a_project_with_spans(admin_client, project, people, doc):
    do_save_annotation(doc(1), people["annotator"], spans=[SpanIn("1", 14, 17, "ORG")], relations=[],
                       status="submitted", version=0)
    response = change_project(admin_client, project, language="de")
    assert response.status_code == 200
    assert "the project&#x27;s spans and suggestions follow the &#x27;en&#x27; tokenizer" in response.content.decode()
    project.refresh_from_db()
    assert project.language == "en"


def test_raising_k_in_the_admin_reopens_submitted_documents_as_the_api_does(admin_client, project, people, doc):
    document = doc(1)
    do_save_annotation(document, people["annotator"], spans=[], relations=[], status="submitted", version=0)
    document.refresh_from_db()
    assert document.status == "submitted"
    response = change_project(admin_client, project, annotators_per_document=2)
    assert response.status_code == 302, response.content.decode()[:3000]
    document.refresh_from_db()
    assert document.status == "in_progress"  # one of two people submitted


def test_labels_edited_inline_follow_the_apis_rules(admin_client, project):
    gpe = Label.objects.get(project=project, name="GPE")
    form = project_form(project)
    i = next(i for i in range(10) if form.get(f"labels-{i}-id") == gpe.pk)
    response = change_project(admin_client, project, **{f"labels-{i}-shortcut": "s"})
    assert response.status_code == 200
    assert "&#x27;s&#x27; is a workspace command key" in response.content.decode()
    # A new label whose name is taken: refused on the form.
    form = project_form(project, name="Renamed")
    n = form["labels-TOTAL_FORMS"]
    form.update({"labels-TOTAL_FORMS": n + 1, f"labels-{n}-project": project.pk, f"labels-{n}-name": "GPE",
                 f"labels-{n}-kind": "entity", f"labels-{n}-color": "#123456", f"labels-{n}-shortcut": ""})
    response = admin_client.post(f"/admin/projects/project/{project.pk}/change/", form)
    assert response.status_code == 200 and "duplicate data for kind and name" in response.content.decode()
    project.refresh_from_db()
    assert (project.name, Label.objects.filter(project=project, name="GPE").count()) == ("News", 1)


def test_what_an_action_refuses_while_saving_rolls_the_whole_form_back_and_says_why(
        admin_client, project, people, doc):
    do_save_annotation(doc(1), people["annotator"], spans=[SpanIn("1", 25, 31, "GPE")], relations=[],
                       status="submitted", version=0)
    gpe = Label.objects.get(project=project, name="GPE")
    form = project_form(project, name="Renamed")
    i = next(i for i in range(10) if form.get(f"labels-{i}-id") == gpe.pk)
    form[f"labels-{i}-kind"] = "relation"  # do_update_label refuses: spans use it
    response = admin_client.post(f"/admin/projects/project/{project.pk}/change/", form, follow=True)
    assert response.status_code == 200
    assert ("Nothing was saved: kind: the label is in use, so its kind cannot change"
            in response.content.decode())
    project.refresh_from_db()
    gpe.refresh_from_db()
    assert (project.name, gpe.kind) == ("News", "entity")


def test_the_admin_keeps_a_project_admin(admin_client, project):
    form = project_form(project)
    rows = [i for i in range(form["memberships-TOTAL_FORMS"]) if form[f"memberships-{i}-role"] == "admin"]
    response = change_project(admin_client, project, **{f"memberships-{rows[0]}-DELETE": "on"})
    assert response.status_code == 200
    assert "a project needs at least one admin" in response.content.decode()
    assert Membership.objects.filter(project=project, role="admin").count() == 1


def test_a_label_in_use_is_not_deleted_in_the_admin(admin_client, project, people, doc):
    do_save_annotation(doc(1), people["annotator"], spans=[SpanIn("1", 14, 17, "ORG")], relations=[],
                       status="submitted", version=0)
    org = Label.objects.get(project=project, name="ORG")
    response = admin_client.post(f"/admin/projects/label/{org.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "Cannot delete label" in response.content.decode()  # the spans that use it are listed
    assert Label.objects.filter(pk=org.pk).exists()


def test_members_added_in_the_admin_go_through_the_action(admin_client, project, make_user):
    make_user("newcomer")
    form = project_form(project)
    n = form["memberships-TOTAL_FORMS"]
    user = type(project.created_by).objects.get(username="newcomer")
    form.update({"memberships-TOTAL_FORMS": n + 1, f"memberships-{n}-project": project.pk,
                 f"memberships-{n}-user": user.pk, f"memberships-{n}-role": "reviewer"})
    response = admin_client.post(f"/admin/projects/project/{project.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Membership.objects.get(project=project, user=user).role == "reviewer"
