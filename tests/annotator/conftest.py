"""Browser fixtures: Debian's Chromium driven by Playwright's sync API, against the live server.

The live server runs in a thread of this process and must see committed rows,
so these tests use the transactional database (``live_server`` asks for it).
Playwright's sync API runs an event loop in this thread, which Django would
take for async code touching the database: while the browser is up (this
package's tests), DJANGO_ALLOW_ASYNC_UNSAFE says it is not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import connection

from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

# Emoji made of several code points (a ZWJ family, a flag) and CJK before the labelled words,
# so that a span shifted by a UTF-16/code point mix-up cannot pass.
FAMILY_TEXT = "👩\u200d👩\u200d👧 Maria Petrova met 叙利亚 officials in 🇷🇺 Moscow and Beijing 北京 today."
SECOND_TEXT = "Assad’s allies 🇷🇺 Russia and Iran helped."
THIRD_TEXT = "叙利亚 Homs is a city in Syria."


@pytest.fixture(scope="package")
def browser():
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def pg(transactional_db):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")


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


@pytest.fixture
def open_context(browser):
    """new_context() -> a fresh browser context (own cookies), closed after the test."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Log in through the login form, as a person does."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def wait_for_document(page):
    page.wait_for_function("window.annotator && window.annotator.doc && document.querySelector('.doc .u')")
