"""Fixtures of the curation tests: the shared project (tests/conftest.py) with three annotators."""

from __future__ import annotations

import pytest

from projects.actions.annotations import do_save_annotation
from projects.actions.members import do_add_member
from projects.models import Document
from projects.spans import RelationIn, SpanIn


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Agreement results and the expiry throttle live in the cache; ids repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def annotator3(project, people, make_user):
    user = make_user("annotator3")
    do_add_member(project, "annotator3", "annotator", acting_user=people["admin"])
    return user


@pytest.fixture
def doc(project):
    """The fixture project's documents by their ``meta.n`` (1, 2, 3)."""
    by_n = {d.meta["n"]: d for d in Document.objects.filter(project=project).select_related("project")}
    return by_n.__getitem__


@pytest.fixture
def annotate():
    """annotate(document, user, [(start, end, label)], relations=[(head i, tail i, label)], status=...)."""

    def save(document, user, spans, relations=(), status="submitted"):
        document.refresh_from_db()
        from projects.selectors import annotation_of

        current = annotation_of(document, user)
        return do_save_annotation(
            document, user, spans=[SpanIn(str(i + 1), s, e, label) for i, (s, e, label) in enumerate(spans)],
            relations=[RelationIn(str(h + 1), str(t + 1), label) for h, t, label in relations],
            status=status, version=current.version if current else 0)

    return save
