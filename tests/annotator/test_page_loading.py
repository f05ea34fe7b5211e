"""How the workspace and the review page load: every ES module is asked for at once (``<link
rel="modulepreload">`` for the whole import graph, the graph being what the browser itself loads), the page's
API requests ask for compact tokens and get gzipped JSON, and after ``collectstatic`` the preloads are the
hashed files the imports ask for, each fetched once and cacheable for good. Under a real server (gunicorn, DEBUG
off, WhiteNoise), as the README deploys the product."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.annotator.conftest import log_in, wait_for_document
from tests.annotator.test_defaults import BASE_DIR, free_port, product_env, start_server
from tests.curation.test_review_page import review_project  # noqa: F401 - the review page's fixture

pytestmark = pytest.mark.postgres

# What the page loaded, from the browser's own Resource Timing: every static module (JS and JSON) and API call.
LOADED = """() => {
    const entries = performance.getEntriesByType("resource").map((r) => ({
        path: new URL(r.name).pathname, query: new URL(r.name).search, start: r.startTime, end: r.responseEnd,
        transferred: r.transferSize, decoded: r.decodedBodySize, encoded: r.encodedBodySize }));
    return {
        modules: entries.filter((r) => /^\\/static\\/.*\\.(js|json)$/.test(r.path)),
        api: entries.filter((r) => r.path.startsWith("/api/")),
        preloads: [...document.querySelectorAll('link[rel="modulepreload"]')].map((l) => new URL(l.href).pathname),
        entries: [...document.querySelectorAll('script[type="module"]')].map((s) => new URL(s.src).pathname),
    };
}"""


def watch_requests(context, page) -> list[dict]:
    """Every request the page sends from now on, with its initiator (Chromium's DevTools protocol): "parser" and
    the page's URL for what the HTML asked for (its links and scripts), "script" and the importing module's URL
    for an import found only once that module had arrived: a round trip of waterfall."""
    sent = []
    session = context.new_cdp_session(page)

    def script_of(initiator: dict) -> str:
        """The module whose code sent the request: the outermost frame of its JavaScript stack."""
        stack, frames = initiator.get("stack"), []
        while stack:
            frames += stack.get("callFrames", [])
            stack = stack.get("parent")
        return urlsplit(frames[-1]["url"]).path if frames else ""

    session.on("Network.requestWillBeSent", lambda event: sent.append({
        "path": urlsplit(event["request"]["url"]).path, "query": urlsplit(event["request"]["url"]).query,
        "initiator": event["initiator"].get("type"), "by": urlsplit(event["initiator"].get("url", "")).path,
        "script": script_of(event["initiator"])}))
    session.send("Network.enable")
    return sent


def check_modules_loaded_at_once(loaded: dict, sent: list[dict], page_path: str) -> None:
    """The modules the page loaded are exactly its entries and its preloads, each asked for once, by the HTML."""
    paths = [m["path"] for m in loaded["modules"]]
    assert len(paths) == len(set(paths)), paths  # each once: an import never asks for another URL than its preload
    assert set(paths) == {*loaded["entries"], *loaded["preloads"]}, (paths, loaded["entries"], loaded["preloads"])
    assert len(loaded["preloads"]) == len(set(loaded["preloads"])) >= 15
    assert any(path.endswith(".json") for path in loaded["preloads"])  # the key table, a JSON module
    # No waterfall: the HTML asked for every module; no module's import had to be discovered first.
    asked = [r for r in sent if r["path"] in set(paths)]
    assert sorted(r["path"] for r in asked) == sorted(paths), asked
    assert [r for r in asked if (r["initiator"], r["by"]) != ("parser", page_path)] == []


def test_the_workspace_asks_for_all_its_modules_at_once_and_for_compact_gzipped_tokens(
        live_server, open_context, workspace_project):
    context = open_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "ann", "pw-ann")
    project, document = workspace_project["project"], workspace_project["documents"][1]
    page_path = f"/projects/{project.pk}/annotate/"
    skipped = workspace_project["documents"][0].pk
    for address, skip in ((page_path, None), (f"{page_path}#document={document.pk}", None), (page_path, skipped)):
        if skip is not None:  # this tab skipped a document (trail.js): /next/ is asked to pass over it
            page.evaluate("([key, skipped]) => sessionStorage.setItem(key, JSON.stringify({ids: [], pos: -1, skipped}))",
                          [f"annotator:{project.pk}:trail", [skip]])
        page.goto("about:blank")
        sent = watch_requests(context, page)
        page.goto(live_server.url + address)
        wait_for_document(page)
        if skip is not None:
            assert page.evaluate("window.annotator.doc.id") != skip
        loaded = page.evaluate(LOADED)
        check_modules_loaded_at_once(loaded, sent, f"/projects/{project.pk}/annotate/")
        assert page.evaluate("performance.getEntriesByName('annotator:first-text').length") == 1
        # The first document comes in one request (/next/, or the document's bundle), its tokens compact, and
        # JSON of 200 bytes or more gzipped: fewer bytes came than the browser decoded.
        calls = {call["path"] + call["query"]: call for call in loaded["api"]}
        bundles = [a for a in calls if a.split("&")[0].endswith(("/next/?format=compact", "/bundle/?format=compact"))]
        assert len(bundles) == 1, list(calls)
        # The project and its labels came with the page: the first text waited for that one request only.
        assert not [a for a in calls if a.endswith(("/labels/", f"/projects/{project.pk}/"))], list(calls)
        assert not [a for a in calls if a.split("?")[0].endswith(("/tokens/", "/annotation/", "/suggestions/"))]
        sizable = [call for call in loaded["api"] if call["decoded"] >= 200 and call["path"] + call["query"] in bundles]
        assert sizable and [call for call in sizable if not 0 < call["encoded"] < call["decoded"]] == []
        assert [entry.rsplit("/", 1)[-1] for entry in loaded["entries"]] == ["prefetch.js", "main.js"]
        # Asked for once, by the page's inline script (_early_fetch.html) while the HTML was parsed, before any
        # module had arrived; api.js took that answer rather than asking again.
        first = [r for r in sent if r["path"].startswith("/api/") and "format=compact" in r["query"]]
        assert len(first) == 1 and (first[0]["initiator"], first[0]["script"]) == ("script", page_path), sent
        assert first[0]["query"] == ("format=compact" if skip is None else f"format=compact&skip={skip}"), first
    assert page.evaluate("window.annotator.doc.id") == document.pk
    assert errors == []


def test_the_review_page_asks_for_all_its_modules_at_once_and_for_compact_tokens(
        live_server, open_context, review_project):  # noqa: F811
    context = open_context()
    page = context.new_page()
    log_in(page, live_server.url, "rev", "pw-rev")
    sent = watch_requests(context, page)
    page.goto(f"{live_server.url}/projects/{review_project['project'].pk}/review/")
    wait_for_document(page)
    loaded = page.evaluate(LOADED)
    check_modules_loaded_at_once(loaded, sent, f"/projects/{review_project['project'].pk}/review/")
    assert [entry.rsplit("/", 1)[-1] for entry in loaded["entries"]] == ["review.js"]
    asked = {call["path"] + call["query"] for call in loaded["api"]}
    assert f"/api/v1/documents/{review_project['first'].pk}/review/?format=compact" in asked, asked
    assert page.evaluate("window.annotator.doc.id") == review_project["first"].pk


# After collectstatic, served by gunicorn with DEBUG off -----------------------------------------------------------

@pytest.fixture(scope="module")
def production_server():
    """The demo (manage.py setup_demo) on SQLite, collectstatic run, gunicorn serving it with DEBUG off."""
    folder = Path(tempfile.mkdtemp(prefix="annotator-loading-test-"))
    env = product_env(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), ANNOTATOR_VAR_DIR=str(folder),
                      DJANGO_STATIC_ROOT=str(folder / "static"))
    credentials = folder / "demo-credentials.json"
    for command in (["migrate", "--noinput"], ["setup_demo", "--credentials", str(credentials)],
                    ["collectstatic", "--noinput"]):
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    port = free_port()
    process = start_server([str(Path(sys.executable).parent / "gunicorn"), "annotator.wsgi:application",
                            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"], env, port)
    passwords = json.loads(credentials.read_text())
    yield {"url": f"http://127.0.0.1:{port}", "password": passwords["demo-annotator"], "admin": passwords["demo-admin"],
           "manifest": json.loads((folder / "static" / "staticfiles.json").read_text())["paths"]}
    process.terminate()
    process.wait(timeout=30)


def test_after_collectstatic_the_workspace_loads_one_hashed_bundle_cached_for_good(browser, production_server):
    server = production_server
    hashed = {"/static/" + name for name in server["manifest"].values()}
    bundle = "/static/" + server["manifest"]["annotator/workspace/main.bundle.js"]
    context = browser.new_context(bypass_csp=True)  # wait_for_function evaluates with eval()
    try:
        page = context.new_page()
        errors, statuses, cache_control = [], {}, {}
        page.on("pageerror", lambda error: errors.append(str(error)))

        def on_response(response):
            path = urlsplit(response.url).path
            if path.startswith("/static/"):
                statuses.setdefault(path, []).append(response.status)
                cache_control[path] = response.headers.get("cache-control", "")

        page.on("response", on_response)
        log_in(page, server["url"], "demo-annotator", server["password"])
        sent = watch_requests(context, page)
        page.goto(f"{server['url']}/projects/1/annotate/")
        wait_for_document(page)
        loaded = page.evaluate(LOADED)
        # One module: the page's bundle (annotator/modules.py), hashed, asked for by the HTML; no preloads.
        assert [m["path"] for m in loaded["modules"]] == [bundle] == loaded["entries"] and loaded["preloads"] == []
        assert bundle in hashed and statuses[bundle] == [200] and "immutable" in cache_control[bundle]
        assert [(r["initiator"], r["by"]) for r in sent if r["path"] == bundle] == [("parser", "/projects/1/annotate/")]
        # The bundled code is the workspace: the first document shown, the labels' bar, a label applied by key.
        assert page.evaluate("window.annotator.entityLabels.length") >= 1
        spans = page.evaluate("window.annotator.history.current.spans.length")
        page.evaluate("window.annotator.select(0, 0)")
        page.keyboard.press(page.evaluate("window.annotator.entityLabels[0].shortcut"))
        page.wait_for_function(f"window.annotator.history.current.spans.length === {spans + 1}")
        # Opened again: the bundle from the browser's cache (no bytes over the network), not revalidated.
        page.goto("about:blank")
        page.goto(f"{server['url']}/projects/1/annotate/")
        wait_for_document(page)
        again = page.evaluate(LOADED)["modules"]
        assert [(m["path"], m["transferred"]) for m in again] == [(bundle, 0)]
        assert errors == []
    finally:
        context.close()


def test_after_collectstatic_the_review_page_runs_from_its_bundle(browser, production_server):
    server = production_server
    bundle = "/static/" + server["manifest"]["curation/review.bundle.js"]
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server["url"], "demo-admin", server["admin"])
        page.goto(f"{server['url']}/projects/1/review/")
        page.wait_for_function("window.annotator !== undefined && window.annotator.ready !== undefined")
        page.evaluate("window.annotator.ready")
        loaded = page.evaluate(LOADED)
        assert [m["path"] for m in loaded["modules"]] == [bundle] and loaded["preloads"] == []
        assert errors == []
    finally:
        context.close()

