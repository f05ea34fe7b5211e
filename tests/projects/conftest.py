"""Fixtures shared by the API tests of projects; data set up through actions."""

from __future__ import annotations

import pytest
from django.test import Client

from projects.models import Document


@pytest.fixture
def staff(make_user):
    """A staff user who is a member of no project (staff act as admins of every project)."""
    return make_user("staff", is_staff=True)


@pytest.fixture
def superuser(make_user):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(superuser):
    """A logged-in Django admin (pytest-django's own would take the username "admin", which the people use)."""
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def doc(project):
    """The fixture project's documents by their ``meta.n`` (1, 2, 3)."""
    by_n = {d.meta["n"]: d for d in Document.objects.filter(project=project)}
    return by_n.__getitem__


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Job progress and cancel flags live in the cache, keyed by job id; ids can repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
