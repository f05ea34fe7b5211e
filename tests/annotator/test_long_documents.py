"""Long documents in the pages: their tokens come in pages (TOKENS_PAGE_SIZE) and the workspace and the
review page fetch them all, through /next/, a document opened by id and the review bundle. The text
has a ZWJ emoji family, a flag and CJK, so a token lost or shifted between pages shows."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.annotator.conftest import FAMILY_TEXT, log_in, wait_for_document
from tests.annotator.test_workspace import FAMILY_UNITS
from tests.curation.test_review_page import review_project  # noqa: F401 - the review page's fixture

pytestmark = pytest.mark.postgres

UNITS = "window.annotator.doc.units.map(u => u.text)"
TEXT = "window.annotator.doc.text"


@override_settings(TOKENS_PAGE_SIZE=4)
def test_the_workspace_fetches_every_page_of_a_documents_tokens(live_server, open_context, workspace_project):
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "ann", "pw-ann")
    first, second, _ = workspace_project["documents"]
    project = workspace_project["project"]
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/")  # /next/: the first page, then the rest
    wait_for_document(page)
    assert page.evaluate(UNITS) == FAMILY_UNITS
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={first.pk}")  # by id: tokens pages
    page.reload()
    wait_for_document(page)
    assert page.evaluate("window.annotator.doc.id") == first.pk and page.evaluate(UNITS) == FAMILY_UNITS
    assert errors == []


@override_settings(TOKENS_PAGE_SIZE=4)
def test_the_review_page_fetches_every_page_of_a_documents_tokens(live_server, open_context, review_project):  # noqa: F811
    page = open_context().new_page()
    log_in(page, live_server.url, "rev", "pw-rev")
    page.goto(f"{live_server.url}/projects/{review_project['project'].pk}/review/")
    wait_for_document(page)
    assert page.evaluate("window.annotator.doc.id") == review_project["first"].pk
    assert page.evaluate(UNITS) == FAMILY_UNITS
    assert FAMILY_TEXT
