"""The workspace's browser tests: their project, texts and page helpers (the browser itself: tests/browser.py)."""

from __future__ import annotations

import re

import pytest

from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project

# Emoji made of several code points (a ZWJ family, a flag) and CJK before the labelled words,
# so that a span shifted by a UTF-16/code point mix-up cannot pass.
FAMILY_TEXT = "👩\u200d👩\u200d👧 Maria Petrova met 叙利亚 officials in 🇷🇺 Moscow and Beijing 北京 today."
SECOND_TEXT = "Assad’s allies 🇷🇺 Russia and Iran helped."
THIRD_TEXT = "叙利亚 Homs is a city in Syria."


@pytest.fixture
def workspace_project(pg, django_user_model):
    """A project with entity and relation labels, an annotator and three documents with emoji and CJK."""
    admin = django_user_model.objects.create_user(username="boss", password="pw-boss")
    annotator = django_user_model.objects.create_user(username="ann", password="pw-ann")
    project = do_create_project(acting_user=admin, name="Workspace test", description="browser tests",
                                guidelines="# Rules\n\nLabel **people**.\n\n<script>alert(1)</script>")
    do_add_member(project, annotator.username, "annotator", acting_user=admin)
    for name, shortcut in (("PERSON", "p"), ("ORG", "o"), ("GPE", "g"), ("LOC", "l"), ("DATE", "d")):
        do_create_label(project, acting_user=admin, name=name, kind="entity", shortcut=shortcut)
    do_create_label(project, acting_user=admin, name="located_in", kind="relation")
    do_create_label(project, acting_user=admin, name="member_of", kind="relation")
    documents = do_create_documents(project, [
        {"text": FAMILY_TEXT, "meta": {"n": 1}},
        {"text": SECOND_TEXT, "meta": {"n": 2}},
        {"text": THIRD_TEXT, "meta": {"n": 3}},
    ], acting_user=admin)
    return {"project": project, "annotator": annotator, "admin": admin, "documents": documents}


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Log in through the login form, as a person does."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def wait_for_document(page):
    page.wait_for_function("window.annotator && window.annotator.doc && document.querySelector('.doc .u')")
