"""The API docs page works with no internet: with every request to another host refused, Chromium under the
page's Content-Security-Policy draws the API's operations, and the page asked for nothing from elsewhere."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.annotator.test_csp_browser import assert_clean, watched_page

pytestmark = pytest.mark.postgres


def test_api_docs_page_draws_the_operations_with_no_request_leaving_the_server(live_server, open_context, pg):
    context = open_context(enforce_csp=True)
    server = urlsplit(live_server.url).netloc
    elsewhere = []

    def only_this_server(route):
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == server:
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    context.route("**/*", only_this_server)
    page, problems = watched_page(context)
    page.goto(f"{live_server.url}/api/v1/docs/")

    page.get_by_text("Annotator API", exact=False).first.wait_for()
    body = page.locator("body")
    for text in ("/api/v1/projects/", "/api/v1/documents/{document_id}/annotation/", "/api/v1/jobs/{job_id}/"):
        assert body.get_by_text(text, exact=True).count() >= 1, text
    menu = page.locator("[role=menu], .menu-content").first
    assert "projects" in menu.inner_text().lower()
    assert_clean(page, problems, "api docs")
    assert elsewhere == []
