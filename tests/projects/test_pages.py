"""HTML pages: logging in, the project list, and the admin for every model."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from projects.actions.annotations import do_save_annotation
from projects.actions.jobs import do_create_job
from projects.actions.projects import do_create_project
from projects.models import Annotation, Document, Job, Label, Membership, Project, Suggestion
from projects.spans import RelationIn, SpanIn

pytestmark = pytest.mark.django_db


def listed_projects(html: str) -> dict[int, str]:
    """Project id -> the progress text of its row on the home page."""
    rows = re.findall(r'<tr data-project="(\d+)">(.*?)</tr>', html, flags=re.S)
    return {int(pk): re.search(r'class="progress-text">([^<]*)<', row).group(1) for pk, row in rows}


def test_login_page_renders(db):
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html and "csrfmiddlewaretoken" in html


def test_anonymous_home_redirects_to_login(db):
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_logging_in_leads_home_to_the_users_projects_with_progress(project, people, doc):
    do_create_project(acting_user=people["outsider"], name="Not mine")
    for n in (1, 2):
        document = doc(n)
        document.project = project
        do_save_annotation(document, people["annotator"], spans=[], relations=[], status="submitted", version=0)
    client = Client(enforce_csrf_checks=True)
    token = client.get("/accounts/login/").cookies["csrftoken"].value
    response = client.post("/accounts/login/", {"username": "annotator", "password": "pw-annotator",
                                                "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert listed_projects(home.content.decode()) == {project.pk: "2 / 3"}


def test_wrong_password_stays_on_the_login_page(people):
    response = Client().post("/accounts/login/", {"username": "annotator", "password": "nope"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


def test_home_counts_only_the_users_own_submissions(project, people, doc, client_for):
    document = doc(1)
    document.project = project
    do_save_annotation(document, people["annotator2"], spans=[], relations=[], status="submitted", version=0)
    client = Client()
    client.force_login(people["annotator"])
    assert listed_projects(client.get("/").content.decode()) == {project.pk: "0 / 3"}


def test_user_without_projects_is_told_so(people):
    client = Client()
    client.force_login(people["outsider"])
    response = client.get("/")
    assert response.status_code == 200
    assert listed_projects(response.content.decode()) == {}
    assert b"not a member of any project" in response.content


def test_staff_home_lists_every_project(project, people, staff):
    other = do_create_project(acting_user=people["outsider"], name="Other")
    client = Client()
    client.force_login(staff)
    assert set(listed_projects(client.get("/").content.decode())) == {project.pk, other.pk}


# Admin ---------------------------------------------------------------------------------------------

@pytest.fixture
def everything(project, people, doc):
    """One row of every registered model."""
    document = doc(1)  # "Rebels led by HTS seized Aleppo."
    document.project = project
    do_save_annotation(document, people["annotator"], spans=[SpanIn("1", 14, 17, "ORG"), SpanIn("2", 25, 31, "GPE")],
                       relations=[RelationIn("1", "2", "located_in")], status="submitted", version=0)
    gpe = Label.objects.get(project=project, name="GPE")
    suggestion = Suggestion.objects.create(document=document, start=25, end=31, label=gpe, model="m", score=0.5)
    job = do_create_job(project, Job.Kind.IMPORT, acting_user=people["admin"], total=3)
    return {
        "project": project,
        "membership": Membership.objects.filter(project=project).first(),
        "label": gpe,
        "document": document,
        "annotation": Annotation.objects.get(document=document),
        "suggestion": suggestion,
        "job": job,
    }


MODELS = ["project", "membership", "label", "document", "annotation", "suggestion", "job"]


@pytest.mark.parametrize("model", MODELS)
def test_admin_changelist_loads(admin_client, everything, model):
    response = admin_client.get(f"/admin/projects/{model}/")
    assert response.status_code == 200
    assert f"/admin/projects/{model}/{everything[model].pk}/change/".encode() in response.content


@pytest.mark.parametrize("model", MODELS)
def test_admin_change_page_loads(admin_client, everything, model):
    response = admin_client.get(f"/admin/projects/{model}/{everything[model].pk}/change/")
    assert response.status_code == 200


WRITTEN_BY_THEIR_OWN_ACTIONS = ["annotation", "suggestion", "job"]  # the workspace, pre-labelling, the job pipeline


@pytest.mark.parametrize("model", [m for m in MODELS if m not in WRITTEN_BY_THEIR_OWN_ACTIONS])
def test_admin_add_page_loads(admin_client, everything, model):
    assert admin_client.get(f"/admin/projects/{model}/add/").status_code == 200


@pytest.mark.parametrize("model", WRITTEN_BY_THEIR_OWN_ACTIONS)
def test_rows_other_actions_write_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, everything, model):
    row = everything[model]
    assert admin_client.get(f"/admin/projects/{model}/add/").status_code == 403
    page = admin_client.get(f"/admin/projects/{model}/{row.pk}/change/").content.decode()
    assert 'name="_save"' not in page  # shown, not editable
    assert admin_client.post(f"/admin/projects/{model}/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


def test_project_change_page_shows_members_and_labels_inline(admin_client, everything):
    html = admin_client.get(f"/admin/projects/project/{everything['project'].pk}/change/").content.decode()
    assert 'id="memberships-group"' in html
    assert 'id="labels-group"' in html
    assert 'value="located_in"' in html


def test_annotation_change_page_shows_spans_with_their_text_and_relations(admin_client, everything):
    html = admin_client.get(f"/admin/projects/annotation/{everything['annotation'].pk}/change/").content.decode()
    assert 'id="spans-group"' in html and 'id="relations-group"' in html
    assert "Aleppo" in html and "HTS" in html


def test_admin_adds_a_project_and_becomes_its_creator(admin_client, superuser):
    response = admin_client.post("/admin/projects/project/add/", PROJECT_FORM)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Project.objects.get(name="From admin").created_by == superuser


PROJECT_FORM = {
    "name": "From admin", "description": "", "language": "en", "annotators_per_document": 1, "overlap_sample": 1,
    "guidelines": "",
    "split_train": 0.8, "split_dev": 0.1, "split_test": 0.1, "split_seed": "annotator",
    "queue_order": "sequential", "uncertainty_sampling": "proportional", "retrain_every": 0, "retrain_model": "loop",
    "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0, "labels-TOTAL_FORMS": 0, "labels-INITIAL_FORMS": 0,
}


@pytest.mark.parametrize("change, message", [
    ({"language": "zz"}, "language: &#x27;zz&#x27; is not a spaCy language code"),
    ({"split_train": 0.5}, "split_train + split_dev + split_test must add up to 1"),
])
def test_admin_refuses_a_project_the_api_would_refuse(admin_client, change, message):
    response = admin_client.post("/admin/projects/project/add/", {**PROJECT_FORM, **change})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Project.objects.exists()


@pytest.mark.parametrize("change, message", [
    ({"name": "two words"}, "name: a label name is non-empty and has no whitespace"),
    ({"color": "red"}, "color: must look like #rrggbb"),
])
def test_admin_refuses_a_label_the_api_would_refuse(admin_client, everything, change, message):
    form = {"project": everything["project"].pk, "name": "EVENT", "kind": "entity", "color": "#aabbcc",
            "shortcut": ""}
    response = admin_client.post("/admin/projects/label/add/", {**form, **change})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Label.objects.filter(name=form["name"] if "name" not in change else change["name"]).exists()


@pytest.mark.parametrize("query, found", [("aleppo", True), ("Homs", False)])
def test_document_changelist_searches_text(admin_client, everything, query, found):
    response = admin_client.get("/admin/projects/document/", {"q": query})
    assert response.status_code == 200
    link = f"/admin/projects/document/{everything['document'].pk}/change/".encode()
    assert (link in response.content) is found


@pytest.mark.parametrize("status", Document.Status.values)
def test_document_changelist_filters_on_status(admin_client, everything, status):
    response = admin_client.get("/admin/projects/document/", {"status__exact": status})
    assert response.status_code == 200
    shown = {int(pk) for pk in re.findall(r"/admin/projects/document/(\d+)/change/", response.content.decode())}
    assert shown == set(Document.objects.filter(status=status).values_list("pk", flat=True))


def test_import_action_redirects_to_the_import_form(admin_client, everything):
    project = everything["project"]
    response = admin_client.post("/admin/projects/project/", {
        "action": "import_file", "_selected_action": [project.pk], "index": 0})
    assert response.status_code == 302
    assert response["Location"] == f"/admin/projects/project/{project.pk}/import/"
    form = admin_client.get(response["Location"])
    assert form.status_code == 200
    html = form.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'name="file"' in html and 'name="format"' in html


def test_import_action_wants_exactly_one_project(admin_client, everything, people):
    other = do_create_project(acting_user=people["admin"], name="Other")
    response = admin_client.post("/admin/projects/project/", {
        "action": "import_file", "_selected_action": [everything["project"].pk, other.pk], "index": 0}, follow=True)
    assert response.status_code == 200
    assert b"Select exactly one project to import into." in response.content


def test_import_link_is_on_the_project_changelist(admin_client, everything):
    response = admin_client.get("/admin/projects/project/")
    assert f"/admin/projects/project/{everything['project'].pk}/import/".encode() in response.content


def test_admin_pages_are_closed_to_non_staff(people, everything):
    client = Client()
    client.force_login(people["admin"])
    response = client.get("/admin/projects/project/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get(f"/admin/projects/project/{everything['project'].pk}/import/").status_code == 302
