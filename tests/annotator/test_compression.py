"""The API's JSON is gzipped when the client accepts gzip, and only then; the token endpoint's answer (a
credential), pages and file downloads never are (annotator/compression.py says why: BREACH)."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest
from django.test import Client

from projects.actions.annotations import do_save_annotation
from projects.models import Document
from projects.spans import SpanIn

pytestmark = pytest.mark.django_db

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


@pytest.fixture
def doc(project):
    """The fixture project's documents by their ``meta.n`` (1, 2, 3)."""
    return {d.meta["n"]: d for d in Document.objects.filter(project=project)}.__getitem__


def test_api_json_is_gzipped_when_the_client_accepts_gzip(project, people, client_for, doc):
    client = client_for(people["annotator"])
    url = f"/api/v1/projects/{project.pk}/documents/{doc(2).pk}/tokens/"  # emoji: UTF-8 survives the round trip
    plain = client.get(url)
    packed = client.get(url, **GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain and plain["Content-Type"] == "application/json"
    assert packed["Content-Encoding"] == "gzip" and packed["Content-Type"] == "application/json"
    assert "Accept-Encoding" in packed["Vary"] and "Accept-Encoding" in plain["Vary"]
    assert gzip.decompress(packed.content) == plain.content and len(packed.content) < len(plain.content)
    assert json.loads(plain.content)["tokens"][0]["text"] == "Assad"
    # Other API JSON as well (of 200 bytes or more: below that gzip saves nothing): a bundle, lists.
    for path in (f"/api/v1/projects/{project.pk}/next/", f"/api/v1/projects/{project.pk}/documents/",
                 f"/api/v1/projects/{project.pk}/labels/"):
        response = client.get(path, **GZIP)
        assert response["Content-Encoding"] == "gzip", (path, response.status_code)
        json.loads(gzip.decompress(response.content))


def test_the_api_token_answer_is_never_compressed(people):
    response = Client().post("/api/v1/auth/token/", {"username": "annotator", "password": "pw-annotator"}, **GZIP)
    assert response.status_code == 200 and "Content-Encoding" not in response
    assert len(response.json()["token"]) >= 20


def test_pages_are_not_compressed_here(project, people):
    client = Client()
    client.force_login(people["annotator"])
    response = client.get(f"/projects/{project.pk}/annotate/", **GZIP)
    assert response.status_code == 200 and "Content-Encoding" not in response
    assert b'rel="modulepreload"' in response.content


def test_exports_stream_uncompressed_with_their_digest_even_when_gzip_is_accepted(project, people, client_for, doc):
    do_save_annotation(doc(1), people["annotator"], spans=[SpanIn("1", 25, 31, "GPE")], relations=[],
                       status="submitted", version=0)
    response = client_for(people["admin"]).get(f"/api/v1/projects/{project.pk}/export/",
                                                {"format": "jsonl", "source": "submitted"}, **GZIP)
    assert response.status_code == 200 and response.streaming and "Content-Encoding" not in response
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == response["X-Content-SHA256"]
    assert json.loads(body.decode().splitlines()[0])["spans"] == [{"start": 25, "end": 31, "label": "GPE"}]


def test_the_session_cookie_is_same_site_lax_so_other_sites_cannot_drive_the_api(people):
    """What the reasoning above rests on: a cross-site request carries no session."""
    client = Client()
    page = client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "annotator", "password": "pw-annotator",
                                                "csrfmiddlewaretoken": page.context["csrf_token"]})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["samesite"] == "Lax"
