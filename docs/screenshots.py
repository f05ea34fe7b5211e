"""Make the README's screenshots: docs/workspace.png, docs/review.png and docs/dashboard.png.

    .venv/bin/python docs/screenshots.py [--out-dir docs]

In a throwaway SQLite database it runs ``manage.py setup_demo`` (the demo
project from seeds/), stores through the actions the API uses an annotation
of the seed article's fifth paragraph (spans and relations) and two model
suggestions, then has two annotators per document (demo-annotator and a
second one, demo-annotator-2) submit a few other paragraphs, disagreeing on
some spans. It serves that with ``manage.py runserver`` and, in headless
Chromium, saves the workspace as demo-annotator, then the review page on the
fourth paragraph and the project's dashboard as demo-admin.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

# As a package, not with bench/ on sys.path: bench/queue.py would hide the standard library's queue.
from bench.workspace import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for  # noqa: E402

# (text, label); the last "Assad" is the one on its own.
SPANS = [("Abu Mohammed Al-Golani", "PERSON"), ("Syrian", "NORP"), ("Bashar al-Assad", "PERSON"),
         ("November 27", "DATE"), ("two", "CARDINAL"), ("Homs", "GPE"), ("Assad", "PERSON")]
RELATIONS = [(2, 1, "leader_of")]
SUGGESTIONS = [("Damascus", "GPE", 0.97), ("Rebels", "NORP", 0.41)]
# paragraph: (demo-annotator's spans, demo-annotator-2's spans), both submitted; (text, label), its first occurrence as whole words.
SUBMITTED = {
    1: ([("Syrian", "NORP"), ("Homs", "GPE")], [("Syrian", "NORP"), ("Homs", "GPE")]),
    3: ([("Syrian", "NORP"), ("Homs", "GPE"), ("overnight", "TIME"), ("Friday", "DATE")],
        [("Syrian", "NORP"), ("Homs", "GPE"), ("Friday morning", "TIME")]),
    4: ([("Syrian", "NORP"), ("CNN", "ORG"), ("Al-Qaeda", "ORG"), ("Hayat Tahrir al-Sham", "ORG"), ("HTS", "ORG"),
         ("Syria", "GPE"), ("Lebanon", "GPE"), ("Europe", "LOC")],
        [("Syrian", "NORP"), ("CNN", "ORG"), ("Al-Qaeda", "ORG"), ("Hayat Tahrir al-Sham (HTS)", "ORG"),
         ("Syria", "GPE"), ("Lebanon", "GPE"), ("Europe", "GPE")]),
    6: ([("Idlib", "GPE"), ("Assad", "PERSON"), ("13 years ago", "DATE")],
        [("Idlib", "GPE"), ("Assad", "PERSON"), ("13 years", "DATE")]),
}
REVIEWED_PARAGRAPH = 4


def set_up(var_dir: Path) -> dict:
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
    from projects.actions.members import do_add_member
    from projects.actions.projects import do_update_project
    from projects.models import Document, Label, Project, Suggestion
    from projects.spans import RelationIn, SpanIn

    call_command("migrate", verbosity=0)
    call_command("setup_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    project = Project.objects.get()
    document = Document.objects.get(project=project, meta__paragraph=5)
    text = document.text
    spans = []
    for i, (word, label) in enumerate(SPANS):
        start = text.rindex(word) if word == "Assad" else text.index(word)
        spans.append(SpanIn(str(i + 1), start, start + len(word), label))
    relations = [RelationIn(str(h + 1), str(t + 1), label) for h, t, label in RELATIONS]
    annotator = get_user_model().objects.get(username="demo-annotator")
    do_save_annotation(document, annotator, spans=spans, relations=relations, status="in_progress", version=0)
    for word, label, score in SUGGESTIONS:
        start = text.index(word)
        Suggestion.objects.create(document=document, start=start, end=start + len(word), score=score,
                                  label=Label.objects.get(project=project, name=label, kind="entity"),
                                  model="en_core_web_sm", model_version="3.8.0")

    # Two annotators per document, so the submitted paragraphs wait for review and have an agreement score.
    admin = get_user_model().objects.get(username="demo-admin")
    do_update_project(project, acting_user=admin, annotators_per_document=2)
    second = get_user_model().objects.create_user(username="demo-annotator-2", password=None)
    do_add_member(project, second.username, "annotator", acting_user=admin)
    for paragraph, versions in SUBMITTED.items():
        submitted = Document.objects.get(project=project, meta__paragraph=paragraph)
        for user, words in zip((annotator, second), versions):
            found = [re.search(rf"(?<!\w){re.escape(w)}(?!\w)", submitted.text) for w, _ in words]  # whole words
            spans = [SpanIn(str(i + 1), m.start(), m.end(), label) for i, (m, (_, label)) in enumerate(zip(found, words))]
            do_save_annotation(submitted, user, spans=spans, relations=[], status="submitted", version=0)
    passwords = json.loads((var_dir / "demo-credentials.json").read_text())
    return {"project": project.pk, "document": document.pk, "passwords": passwords,
            "reviewed": Document.objects.get(project=project, meta__paragraph=REVIEWED_PARAGRAPH).pk}


def log_in(page, base: str, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=str(BASE_DIR / "docs"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="annotator-shot-") as folder:
        facts = set_up(Path(folder))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=BASE_DIR, env={**os.environ, "ANNOTATOR_VAR_DIR": folder, "DJANGO_DEBUG": "true"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/accounts/login/")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1180, "height": 640}, device_scale_factor=1,
                                        bypass_csp=True)  # page.evaluate below; the CSP forbids eval
                out = Path(args.out_dir)
                log_in(page, base, "demo-annotator", facts["passwords"]["demo-annotator"])
                page.goto(f"{base}/projects/{facts['project']}/annotate/#document={facts['document']}")
                page.wait_for_selector(".arcs .arc")
                page.locator(".doc .chip[data-span]", has_text="CARDINAL").click()  # a selected span
                page.wait_for_timeout(300)
                page.evaluate("document.querySelector('[data-ws=message]').textContent = ''")  # no toast
                page.screenshot(path=out / "workspace.png")

                log_in(page, base, "demo-admin", facts["passwords"]["demo-admin"])
                page.set_viewport_size({"width": 1180, "height": 820})  # the panel, then the text
                page.goto(f"{base}/projects/{facts['project']}/review/#document={facts['reviewed']}")
                page.wait_for_selector(".doc .chip[data-span]")
                page.wait_for_timeout(500)
                page.evaluate("document.querySelector('[data-ws=message]').textContent = ''")  # no toast
                page.screenshot(path=out / "review.png")

                page.goto(f"{base}/projects/{facts['project']}/dashboard/")
                page.wait_for_selector(".dashboard")
                page.screenshot(path=out / "dashboard.png", full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"wrote workspace.png, review.png and dashboard.png in {args.out_dir}")


if __name__ == "__main__":
    main()
