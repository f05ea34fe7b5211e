"""Error pages: a path no URL matches is a JSON 404 under /api/ (as the schema says), an HTML page elsewhere."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_an_unmatched_api_path_gets_a_json_404(client):
    response = client.get("/api/v1/projects/-1/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unmatched_page_gets_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
