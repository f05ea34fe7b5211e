"""Who may do what: every endpoint against every kind of user.

Rules: a project a user is not in (and everything in it) is a 404, exactly like
a missing one; anonymous requests are 401; only project admins change the
project, its members, labels and documents (others 403); reviewers and admins
read everyone's annotations; every member reads and writes their own
annotation and asks for the next document; staff act as admins everywhere.
Jobs are seen by whoever started them and by the project's reviewers and
admins; cancelling needs an admin or the starter. Curation (gold, review,
agreement, progress, assignments) is for reviewers and admins; only admins assign.
"""

from __future__ import annotations

import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import resolve
from rest_framework.test import APIClient

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.jobs import do_create_job
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from projects.models import (
    Annotation, Assignment, Document, GoldRevision, Job, Label, Membership, Project, Reopening, Suggestion,
    SuggestionRejection,
)

pytestmark = pytest.mark.django_db

User = get_user_model()

ROLES = ("admin", "reviewer", "annotator", "outsider", "anonymous", "staff")

# Bodies of the requests that need one.
NEW_PROJECT = {"name": "Another"}
RENAME = {"name": "Renamed"}
NEW_MEMBER = {"username": "newcomer", "role": "annotator"}
NEW_ROLE = {"role": "reviewer"}
NEW_LABEL = {"name": "EVENT", "kind": "entity"}
RECOLOUR = {"color": "#123456"}
NEW_DOCUMENT = {"text": "A new document."}
EMPTY_ANNOTATION = {"spans": [], "relations": [], "version": 0}
IMPORT = object()  # a multipart upload of a one-line text file
ASSIGN = {"documents": ["{d}"], "annotator": "annotator2"}  # placeholders in bodies are filled like paths
ADOPT = {"from_user": "annotator2"}  # annotator2 submitted {d}

# Placeholders: {p} project, {d} a document of it, {l} an unused entity label, {s} a model's
# suggestion on {d}, {j} a pending job started by annotator2 (so "annotator" did not start it).
# Statuses in the order of ROLES: admin, reviewer, annotator, outsider, anonymous, staff.
MATRIX = [
    # method   path                                        body               adm  rev  ann  out  anon stf
    ("GET",    "/projects/",                               None,             (200, 200, 200, 200, 401, 200)),
    ("POST",   "/projects/",                               NEW_PROJECT,      (201, 201, 201, 201, 401, 201)),
    ("GET",    "/projects/{p}/",                           None,             (200, 200, 200, 404, 401, 200)),
    ("PATCH",  "/projects/{p}/",                           RENAME,           (200, 403, 403, 404, 401, 200)),
    ("PUT",    "/projects/{p}/",                           RENAME,           (200, 403, 403, 404, 401, 200)),
    ("DELETE", "/projects/{p}/",                           None,             (204, 403, 403, 404, 401, 204)),
    ("GET",    "/projects/{p}/members/",                   None,             (200, 200, 200, 404, 401, 200)),
    ("POST",   "/projects/{p}/members/",                   NEW_MEMBER,       (201, 403, 403, 404, 401, 201)),
    ("GET",    "/projects/{p}/members/annotator2/",        None,             (200, 200, 200, 404, 401, 200)),
    ("PATCH",  "/projects/{p}/members/annotator2/",        NEW_ROLE,         (200, 403, 403, 404, 401, 200)),
    ("DELETE", "/projects/{p}/members/annotator2/",        None,             (204, 403, 403, 404, 401, 204)),
    ("GET",    "/projects/{p}/labels/",                    None,             (200, 200, 200, 404, 401, 200)),
    ("POST",   "/projects/{p}/labels/",                    NEW_LABEL,        (201, 403, 403, 404, 401, 201)),
    ("GET",    "/projects/{p}/labels/{l}/",                None,             (200, 200, 200, 404, 401, 200)),
    ("PATCH",  "/projects/{p}/labels/{l}/",                RECOLOUR,         (200, 403, 403, 404, 401, 200)),
    ("PUT",    "/projects/{p}/labels/{l}/",                NEW_LABEL,        (200, 403, 403, 404, 401, 200)),
    ("DELETE", "/projects/{p}/labels/{l}/",                None,             (204, 403, 403, 404, 401, 204)),
    ("GET",    "/projects/{p}/documents/",                 None,             (200, 200, 200, 404, 401, 200)),
    ("POST",   "/projects/{p}/documents/",                 NEW_DOCUMENT,     (201, 403, 403, 404, 401, 201)),
    ("GET",    "/projects/{p}/documents/{d}/",             None,             (200, 200, 200, 404, 401, 200)),
    ("GET",    "/projects/{p}/documents/{d}/tokens/",      None,             (200, 200, 200, 404, 401, 200)),
    ("GET",    "/projects/{p}/documents/{d}/suggestions/", None,             (200, 200, 200, 404, 401, 200)),
    ("GET",    "/projects/{p}/documents/{d}/bundle/",      None,             (200, 200, 200, 404, 401, 200)),
    ("POST",   "/projects/{p}/imports/",                   IMPORT,           (202, 403, 403, 404, 401, 202)),
    ("GET",    "/projects/{p}/next/",                      None,             (200, 200, 200, 404, 401, 200)),
    ("GET",    "/projects/{p}/my-documents/",              None,             (200, 200, 200, 404, 401, 200)),
    ("GET",    "/documents/{d}/annotation/",               None,             (200, 200, 200, 404, 401, 200)),
    ("PUT",    "/documents/{d}/annotation/",               EMPTY_ANNOTATION, (200, 200, 200, 404, 401, 200)),
    ("GET",    "/documents/{d}/annotations/",              None,             (200, 200, 403, 404, 401, 200)),
    ("PUT",    "/suggestions/{s}/rejection/",              None,             (204, 204, 204, 404, 401, 204)),
    ("DELETE", "/suggestions/{s}/rejection/",              None,             (204, 204, 204, 404, 401, 204)),
    ("GET",    "/jobs/{j}/",                               None,             (200, 200, 404, 404, 401, 200)),
    ("POST",   "/jobs/{j}/cancel/",                        None,             (200, 403, 404, 404, 401, 200)),
    # Curation (curation/urls.py): reviewers and admins read; only admins assign.
    ("GET",    "/projects/{p}/assignments/",               None,             (200, 200, 403, 404, 401, 200)),
    ("POST",   "/projects/{p}/assignments/",               ASSIGN,           (200, 403, 403, 404, 401, 200)),
    ("GET",    "/projects/{p}/review/",                    None,             (200, 200, 403, 404, 401, 200)),
    ("GET",    "/projects/{p}/agreement/",                 None,             (200, 200, 403, 404, 401, 200)),
    ("GET",    "/projects/{p}/progress/",                  None,             (200, 200, 403, 404, 401, 200)),
    ("GET",    "/documents/{d}/gold/",                     None,             (200, 200, 403, 404, 401, 200)),
    ("PUT",    "/documents/{d}/gold/",                     EMPTY_ANNOTATION, (200, 200, 403, 404, 401, 200)),
    ("POST",   "/documents/{d}/gold/",                     ADOPT,            (200, 200, 403, 404, 401, 200)),
    ("GET",    "/documents/{d}/review/",                   None,             (200, 200, 403, 404, 401, 200)),
    # {d} has no gold, so reviewers get as far as the 409 not_reviewed (reopening itself: tests/curation).
    ("POST",   "/documents/{d}/reopen/",                   None,             (409, 409, 403, 404, 401, 409)),
]

CASES = [
    pytest.param(method, path, body, role, expected, id=f"{method} {path} as {role}")
    for method, path, body, statuses in MATRIX
    for role, expected in zip(ROLES, statuses, strict=True)
]


def build_world() -> dict:
    """The fixture project of tests/conftest.py plus a staff user, a newcomer, a suggestion and a job."""
    users = {name: User.objects.create_user(name, password="pw-" + name)
             for name in ("admin", "reviewer", "annotator", "annotator2", "outsider", "newcomer")}
    users["staff"] = User.objects.create_user("staff", password="pw-staff", is_staff=True)
    admin = users["admin"]
    # Room on each document for every role that may annotate (the k places are not what this tests).
    project = do_create_project(acting_user=admin, name="News", description="demo", annotators_per_document=5)
    for name in ("reviewer", "annotator", "annotator2"):
        do_add_member(project, name, "annotator" if name == "annotator2" else name, acting_user=admin)
    for name, shortcut in (("PERSON", "p"), ("ORG", "o"), ("GPE", "g")):
        do_create_label(project, acting_user=admin, name=name, shortcut=shortcut)
    do_create_label(project, acting_user=admin, name="located_in", kind="relation")
    document, _ = do_create_documents(project, [{"text": "Rebels led by HTS seized Aleppo."},
                                                {"text": "叙利亚 Homs 🇷🇺 is a city."}], acting_user=admin)
    job = do_create_job(project, Job.Kind.IMPORT, acting_user=users["annotator2"], total=10)
    document.project = project
    do_save_annotation(document, users["annotator2"], spans=[], relations=[], status="submitted", version=0)
    # No action stores suggestions yet (pre-labelling comes later).
    suggestion = Suggestion.objects.create(document=document, start=14, end=17, model="m",
                                           label=Label.objects.get(project=project, name="ORG"))
    ids = {"p": project.pk, "d": document.pk, "l": Label.objects.get(project=project, name="GPE").pk,
           "s": suggestion.pk, "j": job.pk}
    return {"users": users, "ids": ids}


def client_as(role, users) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(users[role])
    return client


def fill(body, ids):
    """A body with "{d}"-style placeholders filled in (strings only; the API takes "12" for 12)."""
    if isinstance(body, dict):
        return {key: fill(value, ids) for key, value in body.items()}
    if isinstance(body, list):
        return [fill(value, ids) for value in body]
    return body.format(**ids) if isinstance(body, str) else body


def request(client, method, path, body):
    url = "/api/v1" + path
    if body is IMPORT:
        upload = SimpleUploadedFile("docs.txt", "One more document.\n".encode(), content_type="text/plain")
        return client.post(url, {"file": upload, "format": "text"}, format="multipart")
    if method == "GET":
        return client.get(url)
    return getattr(client, method.lower())(url, body, format="json")


def snapshot() -> dict:
    """Everything a request could change, to compare after a refusal."""
    return {
        "projects": list(Project.objects.values_list("id", "name", "description").order_by("id")),
        "members": list(Membership.objects.values_list("project_id", "user__username", "role").order_by("id")),
        "labels": list(Label.objects.values_list("id", "name", "kind", "color", "shortcut").order_by("id")),
        "documents": list(Document.objects.values_list("id", "status").order_by("id")),
        "annotations": list(Annotation.objects.values_list("id", "version").order_by("id")),
        "jobs": list(Job.objects.values_list("id", "status").order_by("id")),
        "rejections": list(SuggestionRejection.objects.values_list("id", flat=True).order_by("id")),
        "assignments": list(Assignment.objects.values_list("id", "annotator_id", "submitted_at").order_by("id")),
        "gold": list(GoldRevision.objects.values_list("id", flat=True).order_by("id")),
        "reopenings": list(Reopening.objects.values_list("id", "closed_at").order_by("id")),
    }


@pytest.fixture(scope="class")
def matrix_world(django_db_setup, django_db_blocker):
    """build_world() once for a class, in a transaction rolled back after its last test.

    Each test runs inside it in a savepoint of its own (pytest-django's ``db``), rolled back
    after the test, so every case starts from the same world.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            world = build_world()
            world["initial"] = snapshot()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


class TestMatrix:
    """Each case runs in the shared world, in a transaction rolled back after it."""

    @pytest.mark.parametrize("method, path, body, role, expected", CASES)
    def test_permission_matrix(self, matrix_world, method, path, body, role, expected):
        client = client_as(role, matrix_world["users"])
        before = snapshot()
        assert before == matrix_world["initial"], "an earlier case leaked into this one"
        ids = matrix_world["ids"]
        response = request(client, method, path.format(**ids), fill(body, ids))
        assert response.status_code == expected, response.content
        if expected >= 400:
            assert "detail" in response.json()
            assert snapshot() == before, "a refused request changed something"
        if expected == 401:
            assert response["WWW-Authenticate"] == "Token"


@pytest.fixture
def ids(project, people, staff):
    """The ids of build_world(), on the shared fixtures, for the tests below."""
    job = do_create_job(project, Job.Kind.IMPORT, acting_user=people["annotator2"], total=10)
    return {"p": project.pk, "d": Document.objects.filter(project=project).order_by("id").first().pk,
            "l": Label.objects.get(project=project, name="GPE").pk, "j": job.pk}


def test_the_matrix_covers_every_endpoint_and_method():
    """A new endpoint (or method) in projects/urls.py or curation/urls.py needs its row above."""
    import curation.urls
    import projects.urls

    def methods(view_class):
        return {m.upper() for m in view_class.http_method_names
                if m not in ("head", "options") and hasattr(view_class, m)}

    patterns = [*projects.urls.urlpatterns, *curation.urls.urlpatterns]
    served = {(pattern.name, method) for pattern in patterns if pattern.name != "auth-token"
              for method in methods(pattern.callback.view_class)} | {("import", "POST")}
    fake = {"p": 1, "d": 1, "l": 1, "s": 1, "j": 1}
    covered = {(resolve("/api/v1" + path.format(**fake)).url_name, method) for method, path, _, _ in MATRIX}
    assert served - covered == set(), "endpoints missing from the matrix"
    assert covered - served == set(), "matrix rows for endpoints that do not exist"


def test_outsider_cannot_tell_a_hidden_project_from_a_missing_one(ids, people, client_for):
    client = client_for(people["outsider"])
    for path in ("/projects/{p}/", "/projects/{p}/documents/", "/projects/{p}/labels/{l}/",
                 "/projects/{p}/documents/{d}/tokens/", "/documents/{d}/annotation/", "/jobs/{j}/"):
        hidden = client.get("/api/v1" + path.format(**ids))
        missing = client.get("/api/v1" + path.format(p=999999, d=999999, l=999999, s=999999, j=999999))
        assert hidden.status_code == missing.status_code == 404, path
        assert hidden.json() == missing.json(), path


def test_member_of_one_project_cannot_reach_documents_of_another(project, people, client_for):
    other = do_create_project(acting_user=people["outsider"], name="Other")
    (secret,) = do_create_documents(other, [{"text": "Secret text."}], acting_user=people["outsider"])
    client = client_for(people["admin"])
    for path in (f"/projects/{project.pk}/documents/{secret.pk}/",
                 f"/projects/{project.pk}/documents/{secret.pk}/tokens/",
                 f"/projects/{other.pk}/documents/{secret.pk}/",
                 f"/documents/{secret.pk}/annotation/",
                 f"/documents/{secret.pk}/annotations/"):
        assert client.get("/api/v1" + path).status_code == 404, path
    response = client.put(f"/api/v1/documents/{secret.pk}/annotation/", EMPTY_ANNOTATION, format="json")
    assert response.status_code == 404
    assert not Annotation.objects.filter(document=secret).exists()


def test_project_list_shows_only_the_users_projects_and_staff_see_all(project, people, staff, client_for):
    other = do_create_project(acting_user=people["outsider"], name="Other")

    def listed(user):
        response = client_for(user).get("/api/v1/projects/")
        assert response.status_code == 200
        return {(p["id"], p["role"]) for p in response.json()["results"]}

    assert listed(people["admin"]) == {(project.pk, "admin")}
    assert listed(people["reviewer"]) == {(project.pk, "reviewer")}
    assert listed(people["annotator"]) == {(project.pk, "annotator")}
    assert listed(people["outsider"]) == {(other.pk, "admin")}
    assert listed(staff) == {(project.pk, "admin"), (other.pk, "admin")}


def test_job_starter_can_see_and_cancel_their_job_without_reviewer_role(ids, people, client_for):
    client = client_for(people["annotator2"])
    assert client.get(f"/api/v1/jobs/{ids['j']}/").status_code == 200
    response = client.post(f"/api/v1/jobs/{ids['j']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_job_of_no_project_is_visible_only_to_its_starter_and_staff(people, staff, client_for):
    job = do_create_job(None, Job.Kind.TRAIN, acting_user=people["annotator"])
    assert client_for(people["annotator"]).get(f"/api/v1/jobs/{job.pk}/").status_code == 200
    assert client_for(staff).get(f"/api/v1/jobs/{job.pk}/").status_code == 200
    assert client_for(people["admin"]).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert client_for(people["admin"]).post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 404


def test_removed_member_loses_access_at_once(project, people, client_for, doc):
    client = client_for(people["annotator2"])
    assert client.get(f"/api/v1/projects/{project.pk}/").status_code == 200
    response = client_for(people["admin"]).delete(f"/api/v1/projects/{project.pk}/members/annotator2/")
    assert response.status_code == 204
    assert client.get(f"/api/v1/projects/{project.pk}/").status_code == 404
    assert client.get(f"/api/v1/documents/{doc(1).pk}/annotation/").status_code == 404
