"""No template comment reaches a page: Django's `{# ... #}` ends on its own line (a longer one is printed as text,
as the toolbar's once was above the workspace and the review page), so longer comments use {% comment %}."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(settings.BASE_DIR)


def template_files() -> list[Path]:
    """Every file under every templates folder of the repository (its apps'), the virtualenv aside."""
    folders = [p for p in REPO.glob("*/templates") if p.is_dir() and not p.parent.name.startswith(".")]
    folders += [Path(d) for engine in settings.TEMPLATES for d in engine["DIRS"]]
    return sorted(f for folder in folders for f in folder.rglob("*") if f.is_file())


def unclosed_comments(text: str) -> list[int]:
    """The line numbers (from 1) of each `{#` whose `#}` is not on the same line."""
    return [n for n, line in enumerate(text.splitlines(), 1)
            if any("#}" not in line[m.end():] for m in re.finditer(r"\{#", line))]


def test_unclosed_comments_finds_a_comment_spanning_lines():
    assert unclosed_comments("{# one line #}\n<p>{# starts\nends #}</p>\n{# a #}{# b\n") == [2, 4]


def test_no_template_has_a_comment_spanning_lines():
    files = template_files()
    assert len(files) >= 10 and any(f.name == "_toolbar.html" for f in files)
    found = {str(f.relative_to(REPO)): lines for f in files if (lines := unclosed_comments(f.read_text()))}
    assert found == {}


@pytest.mark.django_db
def test_no_page_shows_a_template_comment(project, people, client):
    people["admin"].is_staff = people["admin"].is_superuser = True
    people["admin"].save()
    client.force_login(people["admin"])
    pages = ["/accounts/login/", "/", f"/projects/{project.pk}/annotate/", f"/projects/{project.pk}/review/",
             f"/projects/{project.pk}/dashboard/", "/admin/projects/project/",
             f"/admin/projects/project/{project.pk}/change/", "/api/v1/docs/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.content.decode()
        assert "{#" not in body and "#}" not in body, (url, body[max(body.find("{#"), body.find("#}")) - 200:][:400])
