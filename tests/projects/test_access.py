"""The access_* loaders: what they load (they read SQL of their own) and who gets a 404."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotFound, PermissionDenied

from projects.access import access_document, access_project
from projects.models import Document, Project
from projects.roles import Role

pytestmark = pytest.mark.django_db


def same_fields(model, loaded, expected):
    for field in model._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name


def test_access_document_loads_the_document_and_project_as_the_orm_does(project, people):
    document = Document.objects.filter(project=project).first()
    document.meta = {"source": "wire", "tags": [1, "é"]}
    document.save()
    loaded, role = access_document(people["annotator"], document.pk)
    expected = Document.objects.select_related("project").get(pk=document.pk)
    same_fields(Document, loaded, expected)
    same_fields(Project, loaded.project, expected.project)
    assert loaded.meta == {"source": "wire", "tags": [1, "é"]} and loaded.created_at.tzinfo is not None
    assert role == Role.ANNOTATOR and loaded.project.user_role == "annotator"
    assert not loaded._state.adding and loaded._state.db == "default"


def test_access_project_loads_the_project_with_the_users_role(project, people):
    loaded, role = access_project(people["reviewer"], project.pk)
    same_fields(Project, loaded, Project.objects.get(pk=project.pk))
    assert role == Role.REVIEWER and loaded.user_role == "reviewer"


def test_outsiders_and_missing_or_malformed_ids_get_404_and_members_403_above_their_role(project, people):
    document = Document.objects.filter(project=project).first()
    for call in (lambda: access_document(people["outsider"], document.pk),
                 lambda: access_document(people["annotator"], 10**9),
                 lambda: access_document(people["annotator"], "12abc"),
                 lambda: access_project(people["outsider"], project.pk),
                 lambda: access_project(people["annotator"], None)):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(PermissionDenied):
        access_project(people["annotator"], project.pk, need=Role.ADMIN)
