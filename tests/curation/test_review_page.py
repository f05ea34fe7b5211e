"""The review page in a real browser: agreed spans pre-accepted, conflicts with who said what, gold saved.

Same browser fixtures as the workspace tests (tests/annotator/conftest.py);
what the page stored is checked in the database, in code points, on a text
with a ZWJ emoji family, a flag and CJK.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from projects.models import Annotation, Document, GoldRevision
from projects.spans import SpanIn
from tests.annotator.conftest import FAMILY_TEXT, SECOND_TEXT, log_in, wait_for_document

pytestmark = pytest.mark.postgres


def cp(text: str, word: str) -> tuple[int, int]:
    start = text.index(word)
    return start, start + len(word)


def submit(document, user, spans):
    document.project.refresh_from_db()
    do_save_annotation(document, user, spans=[SpanIn(str(i + 1), *cp(document.text, w), label)
                                              for i, (w, label) in enumerate(spans)],
                       relations=[], status="submitted", version=0)


@pytest.fixture
def review_project(pg, django_user_model):
    admin = django_user_model.objects.create_user(username="boss", password="pw-boss")
    reviewer = django_user_model.objects.create_user(username="rev", password="pw-rev")
    ann = django_user_model.objects.create_user(username="ann", password="pw-ann")
    bob = django_user_model.objects.create_user(username="bob", password="pw-bob")
    project = do_create_project(acting_user=admin, name="Review test", annotators_per_document=2)
    do_add_member(project, "rev", "reviewer", acting_user=admin)
    for name in ("ann", "bob"):
        do_add_member(project, name, "annotator", acting_user=admin)
    for name, shortcut in (("PERSON", "p"), ("GPE", "g"), ("LOC", "l")):
        do_create_label(project, acting_user=admin, name=name, kind="entity", shortcut=shortcut)
    do_create_label(project, acting_user=admin, name="located_in", kind="relation")
    first, second = do_create_documents(project, [{"text": FAMILY_TEXT}, {"text": SECOND_TEXT}], acting_user=admin)
    first, second = (Document.objects.select_related("project").get(pk=d.pk) for d in (first, second))
    submit(first, ann, [("Maria Petrova", "PERSON"), ("Moscow", "GPE")])
    submit(first, bob, [("Maria Petrova", "PERSON"), ("Moscow", "LOC"), ("北京", "GPE")])
    submit(second, ann, [("Russia", "GPE")])
    submit(second, bob, [("Russia", "GPE"), ("Iran", "GPE")])
    return {"project": project, "reviewer": reviewer, "bob": bob, "first": first, "second": second}


def gold_of(document):
    gold = Annotation.objects.get(document=document, is_gold=True)
    return sorted((s.start, s.end, s.label.name) for s in gold.spans.select_related("label"))


def test_reviewer_resolves_conflicts_and_adopts_a_version(live_server, open_context, review_project):
    project, first, second = review_project["project"], review_project["first"], review_project["second"]
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "rev", "pw-rev")
    page.get_by_role("link", name="Review Review test").click()
    wait_for_document(page)

    # The most disagreed document first; what both said is accepted, the rest shown with who said it.
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {first.pk}")
    expect(page.locator(".doc .chip[data-span]")).to_have_text(["PERSON"])
    conflicts = page.locator(".chip.sgc")
    expect(conflicts).to_have_count(3)
    expect(conflicts.filter(has_text="LOC")).to_contain_text("bob")
    assert "by ann" in conflicts.filter(has_text=re.compile("GPE ann")).get_attribute("title")
    panel = page.locator('[data-rv="panel"]')
    expect(panel.locator("[data-region]")).to_have_count(2)
    expect(panel.locator("[data-region]").first).to_contain_text("“Moscow”: ann GPE · bob LOC")
    expect(panel.locator("[data-region]").nth(1)).to_contain_text("ann nothing · bob GPE")
    expect(page.locator('[data-ws="save"]')).to_have_attribute("data-status", "pending")  # nothing stored yet
    # Skipping and coming back save nothing: only Save gold does.
    page.keyboard.press("s")
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {second.pk}")
    page.keyboard.press("b")
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {first.pk}")
    assert not Annotation.objects.filter(is_gold=True).exists()

    # Accept ann's GPE on Moscow, reject bob's LOC, accept 北京 with the keyboard, save with Enter.
    conflicts.filter(has_text=re.compile("GPE ann")).locator("[data-accept]").click()
    # Skipping with unsaved gold edits asks first; staying keeps them.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Skip").click()
    expect(page.locator('[data-ws="live"]')).to_have_text("Still on this document, with your edits.")
    assert asked and "not saved" in asked[0]
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {first.pk}")
    expect(page.locator(".doc .chip[data-span]")).to_have_count(2)
    page.locator(".chip.sgc", has_text="LOC").locator("[data-reject]").click()
    page.locator(".chip.sgc", has_text="GPE").click()
    page.keyboard.press("a")
    expect(page.locator(".chip.sgc")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {second.pk}")
    assert gold_of(first) == sorted([(*cp(FAMILY_TEXT, "Maria Petrova"), "PERSON"),
                                     (*cp(FAMILY_TEXT, "Moscow"), "GPE"), (*cp(FAMILY_TEXT, "北京"), "GPE")])
    revision = GoldRevision.objects.get(document=first)
    assert (revision.version, revision.editor.username, revision.action) == (1, "rev", "edit")

    # Take bob's version whole and save: the gold is adopted from bob.
    panel.locator('[data-rv-take="bob"]').click()
    expect(page.locator(".doc .chip[data-span]")).to_have_count(2)
    page.get_by_role("button", name=re.compile("Save gold")).click()
    expect(page.locator('[data-ws="done"]')).to_contain_text("Nothing waits for review")
    assert gold_of(second) == sorted([(*cp(SECOND_TEXT, "Russia"), "GPE"), (*cp(SECOND_TEXT, "Iran"), "GPE")])
    adopted = GoldRevision.objects.get(document=second)
    assert (adopted.action, adopted.from_user.username) == ("adopt", "bob")
    assert set(Document.objects.filter(project=project).values_list("status", flat=True)) == {"reviewed"}
    assert errors == []


def test_annotator_cannot_open_the_review_page_or_the_dashboard(client, review_project):
    client.force_login(review_project["bob"])
    project = review_project["project"]
    assert client.get(f"/projects/{project.pk}/review/").status_code == 403
    assert client.get(f"/projects/{project.pk}/dashboard/").status_code == 403


def test_reviewer_reopens_a_reviewed_document_for_its_annotators(live_server, open_context, review_project):
    from projects.actions.gold import do_adopt_gold
    from projects.models import Reopening

    first, reviewer = review_project["first"], review_project["reviewer"]
    do_adopt_gold(first, acting_user=reviewer, from_user="ann")
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "rev", "pw-rev")
    page.goto(f"{live_server.url}/projects/{review_project['project'].pk}/review/#document={first.pk}")
    wait_for_document(page)
    state = page.locator('[data-rv="lock-state"]')
    expect(state).to_contain_text("Locked")
    page.get_by_role("button", name="Reopen").click()
    expect(state).to_contain_text("Reopened by rev")
    expect(state).to_contain_text("annotators can change their annotations")
    expect(page.get_by_role("button", name="Reopen")).to_have_count(0)
    expect(page.locator('[data-ws="meta"]')).to_contain_text("reopened")
    reopening = Reopening.objects.get(document=first)
    assert (reopening.reopened_by.username, reopening.closed_at) == ("rev", None)
    # The gold is untouched, and ann may change their annotation again.
    assert gold_of(first) == sorted([(*cp(FAMILY_TEXT, "Maria Petrova"), "PERSON"), (*cp(FAMILY_TEXT, "Moscow"), "GPE")])
    ann = Annotation.objects.get(document=first, annotator__username="ann")
    do_save_annotation(first, ann.annotator, spans=[], relations=[], status="submitted", version=ann.version)
    assert errors == []
