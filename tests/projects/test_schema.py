"""The OpenAPI schema declares the errors each operation can give, in the product's error shape (projects/schema.py).

Whether the answers match is tests/annotator/test_schema_conformance.py's (schemathesis); this checks the rules.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

METHODS = {"get", "put", "patch", "post", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_every_authenticated_operation_declares_401_and_403(schema):
    for label, operation in operations(schema):
        if {} not in operation["security"]:
            assert {"401", "403"} <= set(operation["responses"]), label


def test_operations_naming_an_object_declare_404(schema):
    for label, operation in operations(schema):
        if "{" in label:
            assert "404" in operation["responses"], label


def test_operations_with_a_body_declare_400_413_and_415(schema):
    for label, operation in operations(schema):
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(operation["responses"]), label


def test_conflicts_are_declared_with_their_codes(schema):
    declared = {label: operation["responses"]["409"]["description"] for label, operation in operations(schema)
                if "409" in operation["responses"]}
    assert "`label_in_use`" in declared["DELETE /api/v1/projects/{project_id}/labels/{label_id}/"]
    assert "`not_exportable`" in declared["GET /api/v1/projects/{project_id}/export/"]
    assert "`document_full`" in declared["POST /api/v1/projects/{project_id}/assignments/"]
    assert "`job_finished`" in declared["POST /api/v1/jobs/{job_id}/cancel/"]
    annotation_conflict = schema["paths"]["/api/v1/documents/{document_id}/annotation/"]["put"]["responses"]["409"]
    assert annotation_conflict["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AnnotationConflict"}


def test_operations_that_start_jobs_declare_503(schema):
    for label, operation in operations(schema):
        if "202" in operation["responses"]:
            assert "503" in operation["responses"], label


def test_errors_have_the_products_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    assert set(error["properties"]) == {"detail", "code"}
    for label, operation in operations(schema):
        for status in ("401", "403", "404", "409"):
            if status in operation["responses"]:
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/json"], (label, status)


def test_an_annotation_before_the_first_save_has_no_annotator(schema):
    annotation = schema["components"]["schemas"]["Annotation"]
    assert "annotator" in annotation["properties"]
    assert "annotator" not in annotation["required"]


def test_downloads_declare_their_media_types(schema):
    content = schema["paths"]["/api/v1/projects/{project_id}/export/"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/jsonl; charset=utf-8", "text/plain; charset=utf-8",
                            "application/octet-stream"}
