"""Browser fixtures: Debian's Chromium driven by Playwright's sync API, against the live server.

Loaded for every test package (tests/conftest.py lists it in ``pytest_plugins``).
The live server runs in a thread of this process and must see committed rows,
so these tests use the transactional database (``live_server`` asks for it).
Playwright's sync API runs an event loop in this thread, which Django would
take for async code touching the database: while the browser is up,
DJANGO_ALLOW_ASYNC_UNSAFE says it is not. One browser per test module, closed
at its end: a browser left open would keep its event loop running in this
thread, and the next module's browser could not start its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
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
def open_context(browser):
    """new_context() -> a fresh browser context (own cookies), closed after the test.

    Playwright's ``wait_for_function`` evaluates its predicate with ``eval``, which the pages'
    Content-Security-Policy forbids, so contexts bypass the policy unless ``enforce_csp=True``
    (tests/annotator/test_csp_browser.py checks the pages under it).
    """
    contexts = []

    def make(*, enforce_csp: bool = False):
        context = browser.new_context(viewport={"width": 1100, "height": 800}, bypass_csp=not enforce_csp)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
