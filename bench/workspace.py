"""Workspace benchmark: render a 5,000-token document with 500 spans in headless Chromium, then add spans.

    .venv/bin/python bench/workspace.py [--tokens 5000] [--spans 500] [--relations 50] [--runs 9] [--edits 30]

It makes a throwaway SQLite database in a temporary folder (no DATABASE_URL,
tasks in-process), migrates it, and creates through the actions a project, an
annotator and one generated document of exactly ``--tokens`` spaCy tokens
(sentences of 14 words and a full stop, a few accented and emoji words) with
a stored annotation of ``--spans`` one-or-two-token spans and ``--relations``
relations between them. It serves that with ``manage.py runserver``, logs in
through the login form in Debian's Chromium (Playwright, headless) and opens
the workspace on the document.

Figures, each the median over the runs (after one warm-up):

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

BASE_DIR = Path(__file__).resolve().parent.parent
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


def set_up(args, var_dir: Path) -> dict:
    os.environ["ANNOTATOR_VAR_DIR"] = str(var_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")  # the demo's settings (make run), as its server below
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from projects.actions.annotations import do_save_annotation
    from projects.actions.documents import do_create_documents
    from projects.actions.labels import do_create_label
    from projects.actions.members import do_add_member
    from projects.actions.projects import do_create_project
    from projects.spans import RelationIn, SpanIn
    from projects.tokens import tokens_for_document

    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    admin = users.create_user(username="bench-admin", password="bench-admin-pw")
    annotator = users.create_user(username="bench", password="bench-pw")
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
    return {"project": project.pk, "document": document.pk, "tokens": len(tokens.starts), "words": len(words),
            "spans": len(spans), "relations": len(relations)}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--spans", type=int, default=500)
    parser.add_argument("--relations", type=int, default=50)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--edits", type=int, default=30)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Chromium at {CHROMIUM}: apt-get install -y chromium")

    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        var_dir = Path(folder)
        facts = set_up(args, var_dir)
        port = free_port()
        env = {**os.environ, "ANNOTATOR_VAR_DIR": str(var_dir), "DJANGO_DEBUG": "true"}
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
            cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/accounts/login/")
            figures = measure(base, facts, args)
        finally:
            server.terminate()
            server.wait(timeout=10)

    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"document: {facts['tokens']} spaCy tokens ({figures['units']} selectable units), "
          f"{facts['spans']} spans, {facts['relations']} relations; {chromium}, headless")
    print(f"render (DOM + layout), median of {args.runs}:       {figures['render']:7.1f} ms   (target < 200 ms)")
    print(f"show() to next painted frame, median of {args.runs}: {figures['painted']:7.1f} ms")
    print(f"add span (state + repaint + layout), median of {args.edits}: {figures['edit']:6.2f} ms")
    print(f"add span to next painted frame, median of {args.edits}:     {figures['edit_painted']:6.2f} ms")
    print(f"units touched per edit: median {figures['touched']:.0f}, max {figures['touched_max']} "
          f"of {figures['units']}")
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}))


def measure(base: str, facts: dict, args) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # wait_for_function evals
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "bench")
        page.fill("#id_password", "bench-pw")
        page.click("form button[type=submit]")
        page.wait_for_url(f"{base}/")
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
