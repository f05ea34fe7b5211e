"""Input the database cannot store or Python cannot walk: NUL, lone surrogates and deep nesting are a 400
naming the field on every JSON endpoint (the anonymous token endpoint included), never a 500, and nothing
is stored; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a JSON 413 naming the limit."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from projects.inputs import MAX_JSON_DEPTH, problem_in
from projects.models import Annotation, Document, Span

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000  # a RecursionError in Python's json before the parser caught it
DEEP_OBJECT = '{"a": ' * 1000 + "1" + "}" * 1000


# The pure check ---------------------------------------------------------------------------------

def test_problem_in_names_the_path_of_the_first_problem():
    assert problem_in({"text": "ok", "meta": {"k": ["fine", "a\x00b"]}}) == (
        "meta.k[1]", "contains a NUL character (\\u0000), which cannot be stored")
    assert problem_in([{"text": "ok"}, {"text": "x\ud800"}])[0] == "[1].text"
    assert problem_in({"bad\udfffkey": 1}) == ("body", "has a key that contains a lone surrogate (\\udfff), "
                                                      "which is not a character")
    assert problem_in({"text": "Emoji 🇷🇺 and 叙利亚 are characters"}) is None


def test_a_flat_object_is_scanned_at_once_and_its_problem_still_named():
    assert problem_in({"n": 1, "source": "bench", "ok": True, "none": None, "x": 1.5}, path="meta") is None
    assert problem_in({"n": 1, "note": "a\x00b"}, path="meta") == (
        "meta.note", "contains a NUL character (\\u0000), which cannot be stored")
    assert problem_in({"n": 1, "k\ud800": "v"}, path="meta") == (
        "meta", "has a key that contains a lone surrogate (\\ud800), which is not a character")
    assert problem_in({}, path="meta", max_depth=0) == ("meta", "is nested deeper than 0 levels")


def test_problem_in_walks_any_depth_without_recursion():
    value: list = []
    for _ in range(100_000):
        value = [value]
    where, problem = problem_in(value)
    assert problem == f"is nested deeper than {MAX_JSON_DEPTH} levels" and where.startswith("[0][0]")
    assert problem_in(json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)) is None


# Over HTTP -------------------------------------------------------------------------------------

def post_raw(client, url, body: str, method: str = "post"):
    return getattr(client, method)(url, data=body.encode("utf-8"), content_type="application/json")


def assert_invalid(response, field: str, what: str):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "invalid_input" and body["field"] == field, body
    assert body["detail"].startswith(field) and what in body["detail"], body


@pytest.mark.parametrize("escape, what", [("\\u0000", "NUL character"), ("\\ud800", "lone surrogate")])
def test_a_document_with_nul_or_a_lone_surrogate_in_meta_is_refused_naming_the_field(
        project, people, client_for, escape, what):
    before = Document.objects.count()
    client = client_for(people["admin"])
    url = f"/api/v1/projects/{project.pk}/documents/"
    assert_invalid(post_raw(client, url, '{"text": "Fine.", "meta": {"note": "a%sb"}}' % escape), "meta.note", what)
    assert_invalid(post_raw(client, url, '[{"text": "Fine."}, {"text": "Fine too.", "meta": {"k": ["%s"]}}]'
                            % escape), "[1].meta.k[0]", what)
    assert_invalid(post_raw(client, url, '{"text": "Fi%sne."}' % escape), "text", what)
    assert Document.objects.count() == before


@pytest.mark.parametrize("escape, what", [("\\u0000", "NUL character"), ("\\ud800", "lone surrogate")])
def test_a_span_id_with_nul_or_a_lone_surrogate_is_refused_and_nothing_is_saved(
        project, people, client_for, doc, escape, what):
    body = ('{"spans": [{"id": "s%s", "start": 0, "end": 6, "label": "ORG"}], "relations": [], "version": 0}'
            % escape)
    response = post_raw(client_for(people["annotator"]), f"/api/v1/documents/{doc(1).pk}/annotation/", body, "put")
    assert_invalid(response, "spans[0].id", what)
    assert not Annotation.objects.filter(document=doc(1)).exists() and not Span.objects.exists()


def test_a_span_id_with_nul_is_refused_by_the_serializer_too():
    from projects.serializers import SpanKeyField

    with pytest.raises(Exception, match="NUL character"):
        SpanKeyField().to_internal_value("a\x00b")


def test_a_search_with_nul_is_a_400_naming_q(project, people, client_for):
    response = client_for(people["annotator"]).get(f"/api/v1/projects/{project.pk}/documents/", {"q": "Aleppo\x00"})
    assert_invalid(response, "q", "NUL character")
    ok = client_for(people["annotator"]).get(f"/api/v1/projects/{project.pk}/documents/", {"q": "Aleppo"})
    assert ok.status_code == 200 and ok.json()["count"] == 1


def test_nul_in_an_assignments_filter_or_a_members_name_is_a_400(project, people, client_for):
    client = client_for(people["admin"])
    assert_invalid(client.get(f"/api/v1/projects/{project.pk}/assignments/", {"annotator": "ann\x00"}),
                   "annotator", "NUL character")
    assert_invalid(client.get(f"/api/v1/projects/{project.pk}/members/ann%00/"), "username", "NUL character")


ENDPOINTS = [  # (method, path, user): JSON endpoints, the anonymous token endpoint first
    ("post", "/api/v1/auth/token/", None),
    ("post", "/api/v1/projects/", "admin"),
    ("patch", "/api/v1/projects/{p}/", "admin"),
    ("post", "/api/v1/projects/{p}/documents/", "admin"),
    ("post", "/api/v1/projects/{p}/labels/", "admin"),
    ("post", "/api/v1/projects/{p}/members/", "admin"),
    ("put", "/api/v1/documents/{d}/annotation/", "annotator"),
    ("put", "/api/v1/documents/{d}/gold/", "reviewer"),
    ("post", "/api/v1/projects/{p}/assignments/", "admin"),
    ("post", "/api/v1/projects/{p}/snapshots/", "admin"),
    ("post", "/api/v1/projects/{p}/prelabel/", "admin"),
]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, "[" * 100 + "]" * 100], ids=["list-1000", "object-1000",
                                                                                   "list-100"])
@pytest.mark.parametrize("method, path, user", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_json_nested_deeply_is_a_400_on_every_json_endpoint(project, people, doc, method, path, user, body):
    client = APIClient()
    if user:
        client.force_authenticate(people[user])
    before = (Document.objects.count(), Annotation.objects.count())
    response = post_raw(client, path.format(p=project.pk, d=doc(1).pk), body, method)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_input" and "nested deeper than" in response.json()["detail"]
    assert (Document.objects.count(), Annotation.objects.count()) == before


def test_the_token_endpoint_refuses_nul_in_a_username_with_a_400():
    response = post_raw(APIClient(), "/api/v1/auth/token/", '{"username": "a\\u0000", "password": "x"}')
    assert_invalid(response, "username", "NUL character")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize("user", [None, "admin"])
def test_a_body_over_the_limit_is_a_json_413_naming_it(project, people, user):
    client = APIClient()
    if user:
        client.force_authenticate(people[user])
    before = Document.objects.count()
    body = json.dumps({"text": "x" * 2000})
    paths = ["/api/v1/auth/token/"] + ([f"/api/v1/projects/{project.pk}/documents/"] if user else [])
    for path in paths:
        response = post_raw(client, path, body)
        assert response.status_code == 413, response.content
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "the request body is too large (bytes): the limit is 1,000 "
                                             "(DATA_UPLOAD_MAX_MEMORY_SIZE)", "code": "body_too_large",
                                   "limit": "DATA_UPLOAD_MAX_MEMORY_SIZE", "max": 1000}
    assert Document.objects.count() == before
