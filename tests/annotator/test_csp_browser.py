"""The pages work under their Content-Security-Policy in a real browser: no violation reported, no script error,
and the guidelines' hostile links run nothing when clicked (annotator/settings: "Security")."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from projects.actions.projects import do_update_project
from tests.annotator.conftest import log_in
from tests.projects.test_guidelines import PAYLOADS

pytestmark = pytest.mark.postgres

# Records what the browser reports; Playwright's init scripts run whatever the page's policy says.
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def watched_page(context):
    page = context.new_page()
    problems = {"console": [], "errors": [], "dialogs": []}
    page.add_init_script(WATCH)
    page.on("console", lambda m: problems["console"].append(m.text)
            if m.type == "error" or "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems["errors"].append(str(error)))
    page.on("dialog", lambda dialog: (problems["dialogs"].append(dialog.message), dialog.dismiss()))
    return page, problems


def assert_clean(page, problems, where: str):
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], (where, violations)
    assert [m for m in problems["console"] if "Content Security Policy" in m] == [], (where, problems["console"])
    assert problems["errors"] == [], (where, problems["errors"])
    assert problems["dialogs"] == [], (where, problems["dialogs"])


def test_pages_report_no_csp_violation_and_guideline_links_run_nothing(live_server, open_context, workspace_project):
    project, admin = workspace_project["project"], workspace_project["admin"]
    document = workspace_project["documents"][0]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    do_update_project(project, acting_user=admin, guidelines="# Rules\n\n" + "\n\n".join(PAYLOADS))
    page, problems = watched_page(open_context(enforce_csp=True))

    page.goto(f"{live_server.url}/accounts/login/")
    assert_clean(page, problems, "login")
    log_in(page, live_server.url, "boss", "pw-boss")
    assert_clean(page, problems, "home")

    for where, url in (("workspace", f"/projects/{project.pk}/annotate/"),
                       ("review", f"/projects/{project.pk}/review/#document={document.pk}")):
        page.goto(live_server.url + url)
        page.wait_for_selector(".doc .u")  # the page's ES modules ran under the policy and drew the document
        page.locator('[data-command="guidelines"]').click()
        links = page.locator(".guidelines .markdown a")
        assert links.count() >= 20
        # What the browser made of each link: no href, or a URL it resolved to http(s) or mailto.
        protocols = links.evaluate_all("links => links.map(a => a.hasAttribute('href') ? a.protocol : null)")
        assert set(protocols) <= {None, "http:", "https:"}, protocols
        for k, protocol in enumerate(protocols):
            if protocol is None:  # a hostile link, defused: clicking it runs nothing
                links.nth(k).click()
        page.wait_for_timeout(300)
        assert urlsplit(page.url).path == urlsplit(url).path  # no link went anywhere
        assert_clean(page, problems, where)

    for where, url in (("dashboard", f"/projects/{project.pk}/dashboard/"), ("admin", "/admin/"),
                       ("admin change form", f"/admin/projects/project/{project.pk}/change/"),
                       ("admin list", "/admin/projects/document/")):
        page.goto(live_server.url + url)
        assert_clean(page, problems, where)
