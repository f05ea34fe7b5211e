"""Make docs/workspace.png: the workspace on the annotated seed document.

    .venv/bin/python docs/workspace_png.py [--out docs/workspace.png]

In a throwaway SQLite database it runs ``manage.py setup_demo`` (the demo
project from seeds/), stores an annotation of the seed article's fifth
paragraph (spans and relations, through the action the API uses) and two
model suggestions, serves it with ``manage.py runserver``, logs in as
demo-annotator in headless Chromium and saves a screenshot of the page.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from workspace import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for  # noqa: E402  (bench/workspace.py)

# (text, label); the last "Assad" is the one on its own.
SPANS = [("Abu Mohammed Al-Golani", "PERSON"), ("Syrian", "NORP"), ("Bashar al-Assad", "PERSON"),
         ("November 27", "DATE"), ("two", "CARDINAL"), ("Homs", "GPE"), ("Assad", "PERSON")]
RELATIONS = [(2, 1, "leader_of")]
SUGGESTIONS = [("Damascus", "GPE", 0.97), ("Rebels", "NORP", 0.41)]


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
    password = json.loads((var_dir / "demo-credentials.json").read_text())["demo-annotator"]
    return {"project": project.pk, "document": document.pk, "password": password}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(BASE_DIR / "docs" / "workspace.png"))
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
                page.goto(f"{base}/accounts/login/")
                page.fill("#id_username", "demo-annotator")
                page.fill("#id_password", facts["password"])
                page.click("form button[type=submit]")
                page.wait_for_url(f"{base}/")
                page.goto(f"{base}/projects/{facts['project']}/annotate/#document={facts['document']}")
                page.wait_for_selector(".arcs .arc")
                page.locator(".doc .chip[data-span]", has_text="CARDINAL").click()  # a selected span
                page.wait_for_timeout(300)
                page.evaluate("document.querySelector('[data-ws=message]').textContent = ''")  # no toast
                page.screenshot(path=args.out)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
