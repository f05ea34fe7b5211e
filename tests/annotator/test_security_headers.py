"""Every page and API answer carries a Content-Security-Policy with no inline script, a Referrer-Policy and a
Permissions-Policy (annotator/settings: "Security")."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.fixture
def staff_client(project, people):
    people["admin"].is_staff = people["admin"].is_superuser = True
    people["admin"].save()
    client = Client()
    client.force_login(people["admin"])
    return client


def urls(project) -> list[str]:
    return ["/", f"/projects/{project.pk}/annotate/", f"/projects/{project.pk}/review/",
            f"/projects/{project.pk}/dashboard/", "/admin/", "/admin/projects/project/",
            f"/admin/projects/project/{project.pk}/change/", "/api/v1/docs/", "/api/v1/schema/",
            "/api/v1/projects/", "/no/such/page/"]


def assert_headers(response):
    csp = policy(response)
    assert csp["default-src"] == ["'self'"], csp
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"], csp
    assert "'self'" in csp["script-src"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "microphone=()" in response.headers["Permissions-Policy"]


def test_every_page_of_a_logged_in_admin_carries_the_security_headers(project, staff_client):
    for url in urls(project):
        response = staff_client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert_headers(response)


def test_anonymous_pages_and_errors_carry_them_too(project):
    client = Client()
    for url in ["/accounts/login/", "/admin/login/", "/", "/api/v1/projects/", "/api/v1/docs/"]:
        response = client.get(url)
        assert response.status_code in (200, 302, 401), (url, response.status_code)
        assert_headers(response)
    assert_headers(client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, content_type="application/json"))


def test_the_api_docs_page_loads_nothing_from_elsewhere_and_alone_may_start_a_blob_worker(project, staff_client):
    response = staff_client.get("/api/v1/docs/")
    docs = policy(response)
    assert docs["script-src"] == ["'self'"] and docs["style-src"] == ["'self'", "'unsafe-inline'"], docs
    assert "font-src" not in docs and docs["worker-src"] == ["'self'", "blob:"], docs
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in page
    assert "https://" not in page  # no CDN, no web fonts
    page = staff_client.get(f"/projects/{project.pk}/annotate/")
    workspace = policy(page)
    # The workspace's one inline script (its early request, _early_fetch.html) runs by a nonce of this response.
    [nonce] = [source for source in workspace["script-src"] if source.startswith("'nonce-")]
    assert workspace["script-src"] == ["'self'", nonce] and "worker-src" not in workspace
    assert page.content.decode().count(f'<script nonce="{nonce[7:-1]}">') == 1
    assert nonce != policy(staff_client.get(f"/projects/{project.pk}/annotate/"))["script-src"][1]  # new each time
