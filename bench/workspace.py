"""Workspace benchmark: first text from navigation, then rendering and editing a 5,000-token document with 500 spans.

    .venv/bin/python bench/workspace.py [--tokens 5000] [--spans 500] [--relations 50] [--runs 9] [--edits 30]
                                        [--first-runs 15] [--workers 2] [--threads 2] [--timeline]

It makes a throwaway database (with DATABASE_URL: ``annotator_bench_workspace_<pid>`` on
that PostgreSQL server, dropped afterwards; without: SQLite in a temporary folder),
migrates it, loads the demo project as ``make run`` does (``manage.py setup_demo``: the
seed article, one document per paragraph) and creates through the actions a second
project with one generated document of exactly ``--tokens`` spaCy tokens (sentences of
14 words and a full stop, a few accented and emoji words) with a stored annotation of
``--spans`` one-or-two-token spans and ``--relations`` relations between them; one
annotator belongs to both. It serves them as the README deploys the product: DEBUG
off, ``collectstatic`` (hashed, compressed static files served by WhiteNoise) and
gunicorn (``--workers`` x ``--threads``), logs in through the login form in Debian's
Chromium (Playwright, headless) and opens the workspace.

Figures, each the median over the runs (after warm-up runs):

- first text: from navigation start (``performance.timeOrigin``) until the first token
  of the document is in the DOM (a MutationObserver installed before the page's own
  scripts), and until the next frame after it has been painted; and the page's own
  ``annotator:first-text`` mark when it sets one. For (a) the seed article's longest
  paragraph and (b) the generated document, each opened by ``#document=<id>`` in a
  new tab with the browser's HTTP cache emptied (cold: a first visit), then opened
  again in that tab (warm: static files from the cache), then from the projects page
  in that tab with the cache emptied again (listed: a first visit as a person makes
  it, the tab's renderer already running). Also when the last module
  script finished loading and the first API request started (Resource Timing), and
  the bytes the page transferred.
- render: the page's DocumentView.render() of the whole document plus the
  layout it causes (``window.annotator.timings.render``: building the HTML,
  setting it, reading ``offsetHeight``).
- show to painted: from the start of Workspace.show() (state, render, arcs,
  autosave set-up) until the next frame has been painted.
- add span: one edit as the label key does it (select a free token, apply a
  label: state, history, repaint of the affected units, autosave scheduled),
  plus the layout it causes; then the same with the next frame painted
  (arcs are redrawn on that frame).
- units touched per edit: unit elements whose attributes or content changed
  (a MutationObserver on the document), out of all of them: an edit must not
  re-render the whole document.

The machine's load average is printed with the figures: the browser, gunicorn and
the database share its cores with whatever else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
# bench/queue.py would shadow the standard library's queue (psycopg uses it): keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(BASE_DIR))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WORDS = ("the rebels advanced towards the city while residents fled south and officials said that talks "
         "would resume next week in Geneva after a pause of several days because the road was closed "
         "Zürich São Paulo Kraków Reykjavík café naïve 😀 🎉 叙利亚 北京").split()  # one spaCy token each
LABELS = [("PERSON", "p"), ("ORG", "o"), ("GPE", "g"), ("DATE", "d")]


def generate_text(tokens: int, seed: int = 7) -> str:
    """Sentences of 14 words and a full stop, then single words, to exactly ``tokens`` English spaCy tokens."""
    import spacy

    count = spacy.blank("en").tokenizer
    rng = random.Random(seed)
    sentences = []
    while True:
        sentence = " ".join(rng.choice(WORDS) for _ in range(14)) + " ."
        if len(count(" ".join(sentences + [sentence]))) > tokens:
            break
        sentences.append(sentence)
    text = " ".join(sentences)
    while len(count(text)) < tokens:
        text += " " + rng.choice(WORDS)
    return text


def database_url(var_dir: Path) -> tuple[str, str | None]:
    """(DATABASE_URL for the bench, the PostgreSQL database to drop afterwards or None for SQLite)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return f"sqlite:///{var_dir / 'bench.sqlite3'}", None
    name = f"annotator_bench_workspace_{os.getpid()}"
    run_sql(base, f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(base)._replace(path="/" + name)), name


def run_sql(url: str, sql: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres")).replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql)


def server_env(var_dir: Path, url: str) -> dict:
    """The production-like environment of the bench's server and of this process: DEBUG off, tasks in-process."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DJANGO_", "DATABASE_", "CELERY_", "REDIS_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "annotator.settings", "ANNOTATOR_VAR_DIR": str(var_dir),
                "DATABASE_URL": url, "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING",
                "DJANGO_SECRET_KEY": "bench-only-not-secret-" + "k" * 40,
                "DJANGO_STATIC_ROOT": str(var_dir / "static"), "DJANGO_MEDIA_ROOT": str(var_dir / "media")})
    return env


def set_up(args, env: dict) -> dict:
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from projects.actions.annotations import do_save_annotation
    from projects.actions.documents import do_create_documents
    from projects.actions.labels import do_create_label
    from projects.actions.members import do_add_member
    from projects.actions.projects import do_create_project
    from projects.models import Project
    from projects.spans import RelationIn, SpanIn
    from projects.tokens import tokens_for_document

    call_command("migrate", verbosity=0)
    # The demo as `make run` loads it: the seed article, a document per paragraph.
    call_command("setup_demo", credentials=str(Path(env["ANNOTATOR_VAR_DIR"]) / "demo-credentials.json"),
                 stdout=open(os.devnull, "w"))
    demo = Project.objects.get(name="Syria news (demo)")
    demo_admin = get_user_model().objects.get(username="demo-admin")
    sizes = {document.pk: len(tokens_for_document(document).starts)
             for document in demo.documents.select_related("project")}
    longest = max(sizes, key=lambda pk: (sizes[pk], -pk))

    users = get_user_model().objects
    admin = users.create_user(username="bench-admin", password="bench-admin-pw")
    annotator = users.create_user(username="bench", password="bench-pw")
    do_add_member(demo, annotator.username, "annotator", acting_user=demo_admin)
    project = do_create_project(acting_user=admin, name="Workspace bench")
    do_add_member(project, annotator.username, "annotator", acting_user=admin)
    for name, key in LABELS:
        do_create_label(project, acting_user=admin, name=name, kind="entity", shortcut=key)
    do_create_label(project, acting_user=admin, name="related_to", kind="relation")
    [document] = do_create_documents(project, [{"text": generate_text(args.tokens)}], acting_user=admin)
    document.project = project
    tokens = tokens_for_document(document)
    words = [(s, e) for s, e in zip(tokens.starts, tokens.ends) if document.text[s:e].strip()]
    rng = random.Random(11)
    step = len(words) // args.spans
    spans = []
    for i in range(args.spans):
        first = i * step
        last = first + (1 if rng.random() < .3 and step > 2 else 0)
        spans.append(SpanIn(str(i + 1), words[first][0], words[last][1], rng.choice(LABELS)[0]))
    relations = [RelationIn(str(2 * i + 1), str(2 * i + 2), "related_to") for i in range(min(args.relations, args.spans // 2))]
    do_save_annotation(document, annotator, spans=spans, relations=relations, status="in_progress", version=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    return {"project": project.pk, "document": document.pk, "tokens": len(tokens.starts), "words": len(words),
            "spans": len(spans), "relations": len(relations),
            "seed": {"project": demo.pk, "document": longest, "tokens": sizes[longest]}}


def serve(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    """gunicorn as the README runs it (gthread workers), on 127.0.0.1:port."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "annotator.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own dev server
            return
        except OSError:
            time.sleep(.2)
    raise SystemExit(f"the server at {url} did not come up")


RENDER_JS = """async (bundle) => {
    const ws = window.annotator;
    const started = performance.now();
    ws.show(bundle);
    const shown = performance.now();
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    return { render: ws.timings.render, show: shown - started, painted: performance.now() - started,
             units: ws.view.els.length };
}"""

EDIT_JS = """async (k) => {
    const ws = window.annotator;
    const touched = new Set();
    const observer = new MutationObserver((records) => {
        for (const record of records) {
            const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
            const unit = node && node.closest(".u");
            if (unit) touched.add(unit);
        }
    });
    observer.observe(ws.el.doc, { subtree: true, attributes: true, childList: true, characterData: true });
    const started = performance.now();
    ws.select(k, k);
    ws.applyLabel(ws.entityLabels[k % ws.entityLabels.length]);
    void ws.el.doc.offsetHeight;
    const edited = performance.now();
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const painted = performance.now();
    observer.takeRecords();
    observer.disconnect();
    return { edit: edited - started, painted: painted - started, touched: touched.size };
}"""


FIRST_TEXT_INIT = """(() => {
    // Installed before the page's scripts: when the first token of the document enters the DOM, and the frame after.
    const seen = { dom: null, painted: null };
    window.__benchFirstText = seen;
    const observer = new MutationObserver(() => {
        if (seen.dom !== null || !document.querySelector('[data-ws="doc"] .u')) return;
        seen.dom = performance.now();
        observer.disconnect();
        requestAnimationFrame(() => setTimeout(() => { seen.painted = performance.now(); }, 0));
    });
    observer.observe(document, { subtree: true, childList: true });
})();"""

FIRST_TEXT_READ = """() => {
    const seen = window.__benchFirstText;
    const mark = performance.getEntriesByName("annotator:first-text")[0];
    const navigation = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const modules = resources.filter((r) => /\\/static\\/.*\\.(js|json)$/.test(new URL(r.name).pathname));
    const api = resources.filter((r) => new URL(r.name).pathname.startsWith("/api/"));
    // The document's own requests: its bundle (/next/, .../bundle/) and tokens, and before the bundle existed,
    // its annotation, suggestions and text.
    const documents = api.filter((r) => /\\/(tokens|bundle|next|annotation|suggestions|documents\\/\\d+)\\//.test(
        new URL(r.name).pathname));
    return {
        dom: seen.dom, painted: seen.painted, mark: mark ? mark.startTime : null,
        html: navigation.responseEnd,
        modules: modules.length, modules_loaded: Math.max(0, ...modules.map((r) => r.responseEnd)),
        first_api: api.length ? Math.min(...api.map((r) => r.startTime)) : null,
        // The last answer the first text waited for (API calls started before it was shown).
        api_done: Math.max(0, ...api.filter((r) => r.startTime < seen.dom).map((r) => r.responseEnd)),
        api_calls: api.filter((r) => r.startTime < seen.dom).length,
        transferred: navigation.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
        document_bytes: documents.reduce((sum, r) => sum + r.encodedBodySize, 0),
        document_decoded: documents.reduce((sum, r) => sum + r.decodedBodySize, 0),
        marks: performance.getEntriesByType("mark").map((m) => `${m.name}@${Math.round(m.startTime)}`).join(" "),
        timeline: resources.map((r) => [new URL(r.name).pathname.split("/").pop() || r.name, Math.round(r.startTime),
                                        Math.round(r.responseStart), Math.round(r.responseEnd)]),
    };
}"""


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--spans", type=int, default=500)
    parser.add_argument("--relations", type=int, default=50)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--first-runs", type=int, default=15, help="navigations per document for first text")
    parser.add_argument("--timeline", action="store_true",
                        help="print the last cold run's requests (start, first byte, end) and performance marks")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Chromium at {CHROMIUM}: apt-get install -y chromium")

    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        var_dir = Path(folder)
        url, database = database_url(var_dir)
        server = None
        try:
            env = server_env(var_dir, url)
            facts = set_up(args, env)
            port = free_port()
            server = serve(env, port, args.workers, args.threads)
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/accounts/login/", timeout=120)
            loads = [load_average()]
            first = measure_first_text(base, facts, args)
            loads.append(load_average())
            figures = measure(base, facts, args)
            loads.append(load_average())
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            if database:
                run_sql(url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{chromium}, headless; gunicorn {args.workers} workers x {args.threads} threads, DEBUG off, collectstatic "
          f"(WhiteNoise); {'PostgreSQL' if database else 'SQLite'}; {os.cpu_count()} cores, "
          f"load average (1, 5, 15 min) before / between / after: {' | '.join(loads)}")
    seed = facts["seed"]
    for key, what in (("seed", f"(a) the seed article's longest paragraph, {seed['tokens']} tokens"),
                      ("large", f"(b) the generated document, {facts['tokens']} tokens, {facts['spans']} spans")):
        print(f"first text, {what}; median of {args.first_runs}, from navigation start:")
        for visit in ("cold", "warm", "listed"):
            runs = first[key][visit]
            median = lambda name: statistics.median(r[name] for r in runs)  # noqa: E731
            marks = [r["mark"] for r in runs if r["mark"] is not None]
            print(f"  {visit:6}: in the DOM {median('dom'):6.1f} ms, painted {median('painted'):6.1f} ms"
                  + (f", page mark {statistics.median(marks):6.1f} ms" if marks else "")
                  + f"  (HTML {median('html'):.0f} ms, {runs[0]['modules']} module files loaded by "
                  f"{median('modules_loaded'):.0f} ms, first API request at {median('first_api'):.0f} ms, "
                  f"the last of its {runs[0]['api_calls']} answered at {median('api_done'):.0f} ms; "
                  f"{median('transferred') / 1024:.0f} KB transferred, the document's JSON "
                  f"{median('document_bytes') / 1024:.1f} KB for {median('document_decoded') / 1024:.1f} KB)")
    print(f"document (b): {figures['units']} selectable units, {facts['relations']} relations")
    print(f"render (DOM + layout), median of {args.runs}:       {figures['render']:7.1f} ms   (target < 200 ms)")
    print(f"show() to next painted frame, median of {args.runs}: {figures['painted']:7.1f} ms")
    print(f"add span (state + repaint + layout), median of {args.edits}: {figures['edit']:6.2f} ms")
    print(f"add span to next painted frame, median of {args.edits}:     {figures['edit_painted']:6.2f} ms")
    print(f"units touched per edit: median {figures['touched']:.0f}, max {figures['touched_max']} "
          f"of {figures['units']}")
    summary = {key: {visit: {name: round(statistics.median(r[name] for r in runs), 1)
                             for name in ("dom", "painted", "html", "modules_loaded", "first_api", "api_done")}
                     for visit, runs in first[key].items()} for key in first}
    print(json.dumps({"first_text": summary, "load_average": loads,
                      **{k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}}))


def log_in(browser, base: str) -> dict:
    """The storage state (session cookie) of the bench annotator, logged in through the login form."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "bench")
    page.fill("#id_password", "bench-pw")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")
    state = context.storage_state()
    context.close()
    return state


def measure_first_text(base: str, facts: dict, args, warm_up: int = 3) -> dict:
    """Per document, runs of {dom, painted, mark, ...} (ms from navigation start): cold (a new tab of a browser
    already open, its HTTP cache emptied: a first visit), warm (the same page opened again in that tab) and listed
    (cold again, but reached from the projects page in that tab, as a person goes there: the tab's renderer
    process is already up, which a new tab must start while the page loads)."""
    from playwright.sync_api import sync_playwright

    pages = {"seed": (facts["seed"]["project"], facts["seed"]["document"]),
             "large": (facts["project"], facts["document"])}
    results = {key: {"cold": [], "warm": [], "listed": []} for key in pages}
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        # One window, as a person has: each new context would open a window whose own browser UI (Chromium
        # loads its omnibox popup as a web page) competes with the page for the cores. bypass_csp:
        # wait_for_function evaluates with eval(); the page itself runs as under the policy.
        context = browser.new_context(storage_state=log_in(browser, base), viewport={"width": 1280, "height": 900},
                                      bypass_csp=True)
        context.add_init_script(FIRST_TEXT_INIT)

        def visit(page, url):
            page.goto(url)
            page.wait_for_function("window.__benchFirstText && window.__benchFirstText.painted !== null",
                                   timeout=30_000)
            return page.evaluate(FIRST_TEXT_READ)

        for key, (project, document) in pages.items():
            url = f"{base}/projects/{project}/annotate/#document={document}"
            for run in range(warm_up + args.first_runs):
                page = context.new_page()
                page.on("pageerror", lambda error: errors.append(str(error)))
                context.new_cdp_session(page).send("Network.clearBrowserCache")
                cold = visit(page, url)
                page.goto("about:blank")
                warm = visit(page, url)
                page.goto(f"{base}/")
                context.new_cdp_session(page).send("Network.clearBrowserCache")
                listed = visit(page, url)
                page.close()
                if run >= warm_up:
                    results[key]["cold"].append(cold)
                    if args.timeline and run == warm_up + args.first_runs - 1:
                        print(f"{key}, last cold run: in the DOM at {cold['dom']:.0f} ms; marks {cold['marks']}; "
                              "requests (start/first byte/end ms): "
                              + " ".join(f"{name}:{a}/{b}/{c}" for name, a, b, c in cold["timeline"]))
                    results[key]["warm"].append(warm)
                    results[key]["listed"].append(listed)
        context.close()
        browser.close()
    if errors:
        raise SystemExit(f"the page raised: {errors}")
    return results


def measure(base: str, facts: dict, args) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(storage_state=log_in(browser, base), viewport={"width": 1280, "height": 900},
                                      bypass_csp=True)  # wait_for_function evals
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/projects/{facts['project']}/annotate/#document={facts['document']}")
        page.wait_for_function("window.annotator && window.annotator.doc && window.annotator.saver")
        # The bundle the page got, fetched once more in the page, so runs time the page and not the network.
        bundle = page.evaluate(f"window.annotator.api.bundle({facts['project']}, {facts['document']})")
        renders = [page.evaluate(RENDER_JS, bundle) for _ in range(args.runs + 1)][1:]

        free = page.evaluate("""() => {
            const view = window.annotator.view;
            return view.doc.units.map((_, k) => k).filter((k) => !(view.cover[k] || []).length
                && !(view.cover[k + 1] || []).length && !(view.cover[k - 1] || []).length);
        }""")
        rng = random.Random(3)
        targets = rng.sample(free, args.edits + 1)
        edits = [page.evaluate(EDIT_JS, k) for k in targets][1:]
        page.evaluate("window.annotator.saver.close()")  # the benchmark's edits need not reach the server
        browser.close()
    if errors:
        raise SystemExit(f"the page raised: {errors}")
    return {
        "units": renders[0]["units"],
        "render": statistics.median(r["render"] for r in renders),
        "show": statistics.median(r["show"] for r in renders),
        "painted": statistics.median(r["painted"] for r in renders),
        "edit": statistics.median(e["edit"] for e in edits),
        "edit_painted": statistics.median(e["painted"] for e in edits),
        "touched": statistics.median(e["touched"] for e in edits),
        "touched_max": max(e["touched"] for e in edits),
    }


if __name__ == "__main__":
    main()
