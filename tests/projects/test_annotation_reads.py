"""Reading an annotation back gives exactly what the PUT answered."""

from __future__ import annotations

import pytest

from projects.actions.annotations import do_save_annotation
from projects.spans import SpanIn

pytestmark = pytest.mark.django_db


def test_get_after_put_answers_what_the_put_answered(project, people, client_for, doc):
    client = client_for(people["annotator"])
    url = f"/api/v1/documents/{doc(1).pk}/annotation/"
    saved = client.put(url, {"spans": [{"id": "a", "start": 14, "end": 17, "label": "ORG"}], "version": 0},
                       format="json")
    assert saved.status_code == 200
    assert saved.json()["annotator"] == "annotator"
    assert client.get(url).json() == saved.json()


def test_next_shows_the_resumed_annotation_as_get_does(project, people, client_for, doc):
    document = doc(1)
    document.project = project
    do_save_annotation(document, people["annotator"], spans=[SpanIn("1", 14, 17, "ORG")], relations=[],
                       status="in_progress", version=0)
    client = client_for(people["annotator"])
    annotation = client.get(f"/api/v1/documents/{document.pk}/annotation/").json()
    assert annotation["annotator"] == "annotator"
    assert client.get(f"/api/v1/projects/{project.pk}/next/").json()["annotation"] == annotation


def test_stale_put_answers_the_stored_annotation_as_get_does(project, people, client_for, doc):
    client = client_for(people["annotator"])
    url = f"/api/v1/documents/{doc(1).pk}/annotation/"
    client.put(url, {"spans": [{"id": 1, "start": 14, "end": 17, "label": "ORG"}], "version": 0}, format="json")
    stale = client.put(url, {"spans": [], "version": 0}, format="json")
    assert stale.status_code == 409
    body = stale.json()
    assert body.pop("code") == "version_conflict"
    assert "stale" in body.pop("detail")
    assert body == client.get(url).json()
