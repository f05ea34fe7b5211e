"""The workspace page: who may open it, the Start link, and guidelines rendered safely."""

from __future__ import annotations

import json
import re

import pytest

from projects.guidelines import render_guidelines
from projects.actions.projects import do_update_project


@pytest.fixture
def web(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


@pytest.mark.django_db
def test_home_lists_a_start_link_per_project(project, people, web):
    body = web(people["annotator"]).get("/").content.decode()
    assert f'href="/projects/{project.pk}/annotate/"' in body
    assert "Start annotating News" in body


@pytest.mark.django_db
def test_member_gets_the_workspace_with_its_config_and_guidelines(project, people, web):
    do_update_project(project, acting_user=people["admin"], guidelines="## Persons\n\nLabel *people*.")
    response = web(people["annotator"]).get(f"/projects/{project.pk}/annotate/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="workspace-config"' in body and f'"project": {project.pk}' in body
    assert "annotator/workspace/main.js" in body
    assert "<h2>Persons</h2>" in body and "<em>people</em>" in body


@pytest.mark.django_db
@pytest.mark.parametrize("user, page", [("annotator", "annotate"), ("reviewer", "review")])
def test_the_pages_carry_the_project_and_its_labels_as_the_api_gives_them(project, people, web, user, page):
    """So the first text waits for one request (the document's), not three: the same JSON as the API's."""
    client = web(people[user])
    body = client.get(f"/projects/{project.pk}/{page}/").content.decode()
    config = json.loads(re.search(r'<script id="workspace-config" type="application/json">(.*?)</script>', body,
                                  re.S).group(1))
    assert config["initial"] == {"project": client.get(f"/api/v1/projects/{project.pk}/").json(),
                                 "labels": client.get(f"/api/v1/projects/{project.pk}/labels/").json()}
    assert config["initial"]["project"]["role"] == user and len(config["initial"]["labels"]) == 4
    # In the head, before the scripts that read it (prefetch.js runs before the body is parsed).
    assert body.index('id="workspace-config"') < body.index('<script type="module"') < body.index("<body")


@pytest.mark.django_db
def test_outsider_gets_404_for_the_workspace(project, people, web):
    assert web(people["outsider"]).get(f"/projects/{project.pk}/annotate/").status_code == 404
    assert web(people["outsider"]).get("/projects/999999/annotate/").status_code == 404


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_log_in(project, client):
    response = client.get(f"/projects/{project.pk}/annotate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_guidelines_escape_raw_html_and_unsafe_links():
    html = render_guidelines('# Hi\n\n<script>alert(1)</script> <b onclick="x()">b</b>\n\n'
                             "[ok](https://example.org) [bad](javascript:alert(1)) [rel](docs/a.html)")
    assert "<h1>Hi</h1>" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<b " not in html and "&lt;b onclick" in html
    assert 'href="https://example.org"' in html and 'href="docs/a.html"' in html
    assert "javascript:" not in html


def test_empty_guidelines_render_empty():
    assert render_guidelines("") == ""
