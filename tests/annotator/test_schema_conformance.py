"""The API answers as its OpenAPI schema says: schemathesis against the live ``/api/v1/schema/``.

Every operation of the schema gets requests that schemathesis generates from it (valid ones, and invalid ones
that a client could send), sent in-process to the WSGI application, as a project admin and as an annotator
(``Authorization: Token``), on a project with documents, labels, annotations, gold, a suggestion, a job and a
snapshot. Path parameters are either the ids of those objects or generated ones. A response fails the test when
it is a 5xx, when its status is not declared for the operation, or when its Content-Type or its body does not
match what the schema declares for that status.

Each example runs in a savepoint that is rolled back, so every request meets the same data. Hypothesis runs
``SCHEMATHESIS_EXAMPLES`` examples (default 30) of each operation, mode and role with the fixed seed
``SCHEMATHESIS_SEED`` (default 12345): ``SCHEMATHESIS_EXAMPLES=200 SCHEMATHESIS_SEED=7 pytest -k conformance``
looks further.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from annotator.wsgi import application
from exports.actions import do_create_snapshot
from projects.actions.accounts import do_issue_token
from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.gold import do_save_gold
from projects.actions.jobs import do_create_job
from projects.models import Document, Job, Label, Suggestion
from projects.spans import SpanIn

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "12345"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def world(project, people):
    """The conftest project (3 documents, entity and relation labels, every role) with more in it.

    ``ids``: the path parameters that name its objects; ``bodies``: for some operations a body that succeeds,
    so their 2xx answers are checked too (generated bodies rarely pass the product's own rules).
    """
    admin, reviewer, annotator = people["admin"], people["reviewer"], people["annotator"]
    docs = {d.meta["n"]: d for d in Document.objects.filter(project=project)}
    (fourth,) = do_create_documents(project, [{"text": "Maria Petrova met officials in Moscow.", "meta": {"n": 4}}],
                                    acting_user=admin)
    text = docs[1].text
    aleppo = SpanIn("a", text.index("Aleppo"), text.index("Aleppo") + len("Aleppo"), "GPE")
    do_save_annotation(docs[1], annotator, spans=[aleppo], relations=[], status="submitted", version=0)
    do_save_gold(docs[1], acting_user=reviewer, spans=[aleppo], relations=[], status="submitted", version=0)
    moscow = {"id": "m", "start": 31, "end": 37, "label": "GPE"}
    do_save_annotation(fourth, annotator, spans=[SpanIn("m", 31, 37, "GPE")], relations=[], status="in_progress",
                       version=0)
    gpe = Label.objects.get(project=project, name="GPE")
    suggestion = Suggestion.objects.create(document=fourth, start=31, end=37, label=gpe, model="m", score=0.5)
    job = do_create_job(project, Job.Kind.EXPORT, acting_user=admin, params={"format": "jsonl"})
    snapshot = do_create_snapshot(project, note="first", acting_user=admin)
    saved = {"spans": [moscow], "relations": [], "status": "submitted", "version": 1}
    return {
        "ids": {"project_id": project.pk, "document_id": fourth.pk, "label_id": gpe.pk,
                "username": annotator.username, "job_id": job.pk, "snapshot_id": snapshot.pk,
                "suggestion_id": suggestion.pk},
        "bodies": {
            "POST /api/v1/auth/token/": {"username": annotator.username, "password": "pw-annotator"},
            "POST /api/v1/projects/": {"name": "Another", "language": "de"},
            "PUT /api/v1/projects/{project_id}/": {"name": "Renamed", "description": "", "guidelines": "",
                                                   "language": "en", "annotators_per_document": 2},
            "PATCH /api/v1/projects/{project_id}/": {"annotators_per_document": 2},
            "POST /api/v1/projects/{project_id}/members/": {"username": "outsider", "role": "reviewer"},
            "PATCH /api/v1/projects/{project_id}/members/{username}/": {"role": "reviewer"},
            "POST /api/v1/projects/{project_id}/labels/": {"name": "DATE", "kind": "entity", "shortcut": "d"},
            "PUT /api/v1/projects/{project_id}/labels/{label_id}/": {"name": "PLACE", "kind": "entity"},
            "PATCH /api/v1/projects/{project_id}/labels/{label_id}/": {"color": "#aabbcc"},
            "POST /api/v1/projects/{project_id}/documents/": [{"text": "Anna flew to Oslo.", "meta": {"n": 5}}],
            "PUT /api/v1/documents/{document_id}/annotation/": saved,
            "PUT /api/v1/documents/{document_id}/gold/": {**saved, "version": 0},
            "POST /api/v1/documents/{document_id}/gold/": {"from_user": annotator.username},
            "POST /api/v1/projects/{project_id}/assignments/": {"documents": [docs[2].pk], "annotator": "annotator2"},
            "POST /api/v1/projects/{project_id}/prelabel/": {"model": "rules"},
            "POST /api/v1/projects/{project_id}/models/": {"name": "ner"},
        },
    }


@pytest.fixture
def in_process_requests(db):
    """Requests in the test's transaction: Django's test client also keeps connections open across requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(in_process_requests):
    """The schema the running application serves, as a client reads it."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    return schema


def strategy(operation, world: dict):
    """Generated cases: mostly on the world's objects (ids that exist), some on generated ids; valid (by the
    schema) and invalid; and, where the world has one, with a body that succeeds."""
    names = [p.name for p in operation.path_parameters]
    real = {name: world["ids"][name] for name in names if name in world["ids"]}
    parts = [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real),
             operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real)]
    if real:
        parts.append(operation.as_strategy(GenerationMode.POSITIVE))
    if operation.label in world["bodies"]:
        parts.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real,
                                           body=world["bodies"][operation.label], media_type="application/json"))
    return st.one_of(parts)


def check_operations(api_schema, world: dict, token: str) -> list[str]:
    failures = []
    # Schemathesis' in-process (WSGI) transport asks for gzip as an HTTP client does but does not decode it:
    # bodies are checked uncompressed (tests/annotator/test_compression.py checks the compression).
    headers = {"Authorization": f"Token {token}", "Accept-Encoding": "identity"}
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @seed(SEED)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        @given(case=strategy(operation, world))
        def run(case):
            with transaction.atomic():
                try:
                    case.call_and_validate(headers=headers, checks=CHECKS)
                finally:
                    transaction.set_rollback(True)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures are reported
            failures.append(f"{operation.label}: {exc}")
    return failures


@pytest.mark.parametrize("role", ["admin", "annotator"])
def test_api_conforms_to_its_schema(api_schema, world, people, role):
    failures = check_operations(api_schema, world, do_issue_token(people[role]))
    assert not failures, "\n\n".join(failures)
