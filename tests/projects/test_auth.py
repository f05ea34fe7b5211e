"""Authentication: tokens for scripts, sessions (with CSRF) for pages, and the schema."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def test_user_gets_a_token_that_authenticates_api_calls(project, people):
    response = APIClient().post(TOKEN_URL, {"username": "annotator", "password": "pw-annotator"}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get("/api/v1/projects/")
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["results"]] == [project.pk]


def test_asking_twice_gives_the_same_token(people):
    body = {"username": "annotator", "password": "pw-annotator"}
    first = APIClient().post(TOKEN_URL, body, format="json").json()["token"]
    assert APIClient().post(TOKEN_URL, body, format="json").json()["token"] == first


def test_token_endpoint_accepts_a_form_post(people):
    response = APIClient().post(TOKEN_URL, {"username": "annotator", "password": "pw-annotator"})
    assert response.status_code == 200
    assert response.json()["token"]


@pytest.mark.parametrize("username, password", [
    ("annotator", "wrong"),
    ("nobody", "pw-nobody"),
    ("annotator", "PW-ANNOTATOR"),
])
def test_wrong_credentials_get_401(people, username, password):
    response = APIClient().post(TOKEN_URL, {"username": username, "password": password}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."


def test_inactive_user_gets_no_token(make_user):
    make_user("gone", is_active=False)
    response = APIClient().post(TOKEN_URL, {"username": "gone", "password": "pw-gone"}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("body, missing", [
    ({"username": "annotator"}, {"password"}),
    ({"password": "pw-annotator"}, {"username"}),
    ({}, {"username", "password"}),
])
def test_missing_fields_get_400_naming_them(people, body, missing):
    response = APIClient().post(TOKEN_URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == missing
    assert all("required" in response.json()[field][0] for field in missing)


def test_anonymous_api_call_gets_401_with_a_token_challenge(project):
    response = APIClient().get("/api/v1/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "credentials were not provided" in response.json()["detail"]


def test_invalid_token_gets_401(people):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_token_of_a_deactivated_user_gets_401_and_a_deleted_token_too(project, people):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=people["annotator"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(f"/api/v1/projects/{project.pk}/").json()["role"] == "annotator"
    people["annotator"].is_active = False
    people["annotator"].save()
    response = client.get(f"/api/v1/projects/{project.pk}/")
    assert response.status_code == 401 and response.json()["detail"] == "User inactive or deleted."
    people["annotator"].is_active = True
    people["annotator"].save()
    token.delete()
    assert client.get(f"/api/v1/projects/{project.pk}/").status_code == 401


def test_session_user_can_read_the_api(project, people):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(people["annotator"])  # client.login() has no request, which the login lockout needs
    assert client.get(f"/api/v1/projects/{project.pk}/").status_code == 200


def test_session_writes_need_the_csrf_token(project, people, doc):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(people["annotator"])  # client.login() has no request, which the login lockout needs
    url = f"/api/v1/documents/{doc(1).pk}/annotation/"
    body = {"spans": [], "version": 0}
    refused = client.put(url, body, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    page = client.get("/accounts/login/")  # any page with a form sets the CSRF cookie
    token = page.cookies["csrftoken"].value
    accepted = client.put(url, body, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200, accepted.json()


# The schema ---------------------------------------------------------------------------------------

def test_schema_is_an_openapi_3_document(db):
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3")
    for path in ("/api/v1/auth/token/", "/api/v1/projects/", "/api/v1/projects/{project_id}/documents/",
                 "/api/v1/projects/{project_id}/next/", "/api/v1/documents/{document_id}/annotation/",
                 "/api/v1/jobs/{job_id}/", "/api/v1/projects/{project_id}/imports/"):
        assert path in schema["paths"], path


def test_api_docs_page_renders(db):
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"/api/v1/schema/" in response.content


def test_schema_generates_without_warnings(db, tmp_path):
    # Raises SchemaGenerationError on any warning or error, and validates against the OpenAPI spec.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")
