"""The annotation workspace in a real browser: mouse, keyboard, relations, suggestions, undo, saving, conflicts.

What the page stored is checked through the API and the database, in code
points, on a document with a ZWJ emoji family, a flag and CJK.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from exports.formats.prodigy import read_prodigy
from exports.imports import import_records
from projects.actions.annotations import do_save_annotation
from projects.actions.members import do_add_member
from projects.actions.projects import do_update_project
from projects.models import Annotation, Document, Label, Suggestion, SuggestionRejection
from projects.shortcuts import COMMAND_KEYS
from tests.annotator.conftest import FAMILY_TEXT, SECOND_TEXT, THIRD_TEXT, log_in, wait_for_document

pytestmark = pytest.mark.postgres

FAMILY_UNITS = ["👩\u200d👩\u200d👧", "Maria", "Petrova", "met", "叙利亚", "officials", "in", "🇷🇺", "Moscow", "and",
                "Beijing", "北京", "today", "."]


def cp(text: str, word: str) -> tuple[int, int]:
    """Code point offsets of ``word`` in ``text`` (what the API must store)."""
    start = text.index(word)
    return start, start + len(word)


def unit(page, k: int):
    return page.locator(".doc .u").nth(k)


def drag(page, first: int, last: int) -> None:
    a = unit(page, first).bounding_box()
    b = unit(page, last).bounding_box()
    page.mouse.move(a["x"] + 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=4)
    page.mouse.move(b["x"] + b["width"] - 3, b["y"] + b["height"] / 2, steps=2)
    page.mouse.up()


def chip(page, label: str, nth: int = 0):
    return page.locator(".doc .chip[data-span]", has_text=label).nth(nth)


# Where the arc's arrowhead points, and where the tail span's anchor is now (rounded to whole pixels).
ARC_START = """() => {
    const ws = window.annotator;
    const d = document.querySelector(".arcs .arc .head").getAttribute("d");  // "M x-4 y-6 L x y L ..."
    const [x, y] = d.split("L")[1].trim().split(" ").map(Number);
    const tail = ws.state.relations[0].tail;
    const anchor = ws.arcs.anchor(String(tail), ws.el.wrap.getBoundingClientRect());
    return { drawn: `${Math.round(x)},${Math.round(y)}`, anchor: `${Math.round(anchor.x)},${Math.round(anchor.y)}` };
}"""


def wait_saved(page) -> None:
    expect(page.locator('[data-ws="save"]')).to_have_attribute("data-status", "saved")


def stored(document, user) -> Annotation:
    return Annotation.objects.get(document=document, annotator=user, is_gold=False)


def spans_of(annotation: Annotation) -> list[tuple[int, int, str]]:
    return sorted((s.start, s.end, s.label.name) for s in annotation.spans.select_related("label"))


def test_annotator_labels_a_document_with_mouse_keys_relations_and_suggestions(
        live_server, open_context, workspace_project):
    project = workspace_project["project"]
    annotator = workspace_project["annotator"]
    first, second, _ = workspace_project["documents"]
    gpe = Label.objects.get(project=project, name="GPE")
    date = Label.objects.get(project=project, name="DATE")
    accept_me = Suggestion.objects.create(document=first, start=24, end=27, label=gpe, model="en_core_web_sm",
                                          model_version="3.8.0", score=0.91)
    reject_me = Suggestion.objects.create(document=first, start=66, end=71, label=date, model="en_core_web_sm",
                                          model_version="3.8.0", score=0.55)
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in(page, live_server.url, "ann", "pw-ann")
    page.get_by_role("link", name="Start annotating Workspace test").click()
    wait_for_document(page)
    # Token by token, with the emoji family and the flag kept whole.
    assert page.locator(".doc .u").all_text_contents()[:2] == ["👩\u200d👩\u200d👧", "Maria"]
    assert page.evaluate("window.annotator.doc.units.map(u => u.text)") == FAMILY_UNITS
    assert page.evaluate("""() => {
        const copy = document.querySelector(".doc").cloneNode(true);
        copy.querySelectorAll(".chip").forEach((chip) => chip.remove());
        return copy.textContent;
    }""") == FAMILY_TEXT
    # The suggestions are there, dashed, with the model on hover.
    expect(page.locator(".chip.sgc")).to_have_count(2)
    assert "en_core_web_sm 3.8.0" in unit(page, 4).get_attribute("title")

    # Two spans by mouse: a drag then the shortcut, a double-click then the label bar.
    drag(page, 1, 2)
    page.keyboard.press("p")
    unit(page, 8).dblclick()
    page.get_by_role("button", name=re.compile(r"^GPE")).click()
    # One by keyboard: the cursor to "Beijing", shift+arrow over "北京", the shortcut.
    page.keyboard.press("Escape")
    page.keyboard.press("Home")
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("g")
    expect(page.locator(".doc .chip[data-span]")).to_have_count(3)

    # Change a label with one key: click the span, press the new label's key.
    unit(page, 10).click()
    page.keyboard.press("l")
    expect(chip(page, "LOC")).to_be_visible()
    # Delete a span: make one on 叙利亚, then Delete.
    unit(page, 4).click()
    page.keyboard.press("d")
    expect(page.locator(".doc .chip[data-span]")).to_have_count(4)
    page.keyboard.press("Delete")
    expect(page.locator(".doc .chip[data-span]")).to_have_count(3)

    # A relation: select the head, r, click the tail, choose the label by its number.
    chip(page, "PERSON").click()
    page.keyboard.press("r")
    unit(page, 8).click()
    expect(page.locator('[data-ws="chooser"]')).to_be_visible()
    page.keyboard.press("1")
    expect(page.locator(".arcs .arc")).to_have_count(1)
    expect(page.locator(".arcs .arc text").first).to_have_text("located_in")

    # Undo and redo.
    page.keyboard.press("Control+z")
    expect(page.locator(".arcs .arc")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(page.locator(".arcs .arc")).to_have_count(1)

    # The arc follows its spans when a narrower window wraps the text differently.
    before = page.evaluate(ARC_START)
    assert before["drawn"] == before["anchor"]
    page.set_viewport_size({"width": 430, "height": 800})
    page.wait_for_function(f"(() => {{ const a = ({ARC_START})(); return a.drawn === a.anchor; }})()")
    after = page.evaluate(ARC_START)
    assert after["anchor"] != before["anchor"]
    page.set_viewport_size({"width": 1100, "height": 800})
    # An arc is selected by a click on its label and deleted with Delete (and undone).
    page.locator(".arcs .arc rect.tag").first.click()
    expect(page.locator(".arcs .arc.picked")).to_have_count(1)
    page.keyboard.press("Delete")
    expect(page.locator(".arcs .arc")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(page.locator(".arcs .arc")).to_have_count(1)

    # Accept one suggestion by its button, reject the other with its key.
    page.locator(f'[data-accept="{accept_me.pk}"]').click()
    page.locator(f'.chip[data-sug="{reject_me.pk}"]').click(position={"x": 5, "y": 5})  # its label, not ✓
    page.keyboard.press("x")
    expect(page.locator(".chip.sgc")).to_have_count(0)
    expect(page.locator(".doc .chip[data-span]")).to_have_count(4)
    wait_saved(page)
    assert errors == []

    # Stored exactly, in code points.
    annotation = stored(first, annotator)
    expected = sorted([(*cp(FAMILY_TEXT, "Maria Petrova"), "PERSON"), (*cp(FAMILY_TEXT, "Moscow"), "GPE"),
                       (*cp(FAMILY_TEXT, "Beijing 北京"), "LOC"), (*cp(FAMILY_TEXT, "叙利亚"), "GPE")])
    assert expected == [(6, 19, "PERSON"), (24, 27, "GPE"), (44, 50, "GPE"), (55, 65, "LOC")]
    assert spans_of(annotation) == expected
    relation = annotation.relations.select_related("head", "tail", "label").get()
    assert ((relation.head.start, relation.head.end), (relation.tail.start, relation.tail.end), relation.label.name) \
        == ((6, 19), (44, 50), "located_in")
    assert annotation.status == "in_progress"
    assert SuggestionRejection.objects.filter(document=first, user=annotator, start=66, end=71, label=date).exists()

    # Submit with Enter: the next document comes.
    unit(page, 0).click()
    page.keyboard.press("Enter")
    expect(page.locator('[data-ws="title"]')).to_have_attribute("data-document", str(second.pk))
    assert page.locator(".doc").text_content() == SECOND_TEXT
    assert stored(first, annotator).status == "submitted"

    # Reload the first document: everything is as it was stored.
    page.goto(f"{live_server.url}/")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={first.pk}")
    wait_for_document(page)
    assert sorted(page.locator(".doc .chip[data-span]").all_text_contents()) == ["GPE", "GPE", "LOC", "PERSON"]
    expect(page.locator(".arcs .arc")).to_have_count(1)
    expect(page.locator(".chip.sgc")).to_have_count(0)  # accepted is a span now; rejected stays rejected
    body = APIClient()
    body.force_authenticate(annotator)
    api = body.get(f"/api/v1/documents/{first.pk}/annotation/").json()
    assert sorted((s["start"], s["end"], s["label"]) for s in api["spans"]) == expected
    assert api["status"] == "submitted"
    by_id = {s["id"]: (s["start"], s["end"]) for s in api["spans"]}
    assert [(by_id[r["head"]], by_id[r["tail"]], r["label"]) for r in api["relations"]] \
        == [((6, 19), (44, 50), "located_in")]
    assert errors == []


def test_a_second_tab_saving_the_same_annotation_gets_a_conflict_and_loses_nothing(
        live_server, open_context, workspace_project):
    first = workspace_project["documents"][0]
    annotator = workspace_project["annotator"]
    url = f"{live_server.url}/projects/{workspace_project['project'].pk}/annotate/#document={first.pk}"
    pages = []
    for _ in range(2):
        page = open_context().new_page()
        log_in(page, live_server.url, "ann", "pw-ann")
        page.goto(url)
        wait_for_document(page)
        pages.append(page)
    one, two = pages

    unit(one, 1).click()
    one.keyboard.press("p")  # "Maria" in the first tab
    wait_saved(one)
    unit(two, 8).click()
    two.keyboard.press("g")  # "Moscow" in the second, based on the version before
    banner = two.locator('[data-ws="banner"]')
    expect(banner).to_contain_text("saved somewhere else")
    expect(two.locator('[data-ws="save"]')).to_have_attribute("data-status", "conflict")
    assert spans_of(stored(first, annotator)) == [(6, 11, "PERSON")]  # nothing overwritten

    # Load the stored version; the second tab's own edit is one undo away and saves on top.
    two.get_by_role("button", name="Load the stored version").click()
    expect(banner).to_be_hidden()
    assert two.locator(".doc .chip[data-span]").all_text_contents() == ["PERSON"]
    two.keyboard.press("Control+z")
    expect(two.locator(".doc .chip[data-span]")).to_have_count(1)
    assert two.locator(".doc .chip[data-span]").all_text_contents() == ["GPE"]
    wait_saved(two)
    assert spans_of(stored(first, annotator)) == [(44, 50, "GPE")]


def test_skip_leaves_a_document_for_later_and_back_returns(live_server, open_context, workspace_project):
    project = workspace_project["project"]
    first, second, third = workspace_project["documents"]
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/")
    wait_for_document(page)
    title = page.locator('[data-ws="title"]')
    expect(title).to_have_attribute("data-document", str(first.pk))
    page.keyboard.press("s")
    expect(title).to_have_attribute("data-document", str(second.pk))
    page.get_by_role("button", name="Skip").click()
    expect(title).to_have_attribute("data-document", str(third.pk))
    assert page.locator(".doc").text_content() == THIRD_TEXT
    page.keyboard.press("b")
    expect(title).to_have_attribute("data-document", str(second.pk))
    assert page.url.endswith(f"#document={second.pk}")
    # The help overlay lists the keys; the guidelines are rendered with raw HTML escaped.
    page.keyboard.press("?")
    expect(page.locator('[data-ws="help"]')).to_be_visible()
    expect(page.locator('[data-ws="help"]')).to_contain_text("Shift + A")
    # ... from the one table the server refuses label shortcuts by.
    shown = page.locator('[data-ws="help"] dl.keys dt kbd').all_text_contents()
    assert [entry["show"] for entry in COMMAND_KEYS] == shown[:len(COMMAND_KEYS)]
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Guidelines").click()
    guidelines = page.locator('[data-ws="guidelines"]')
    expect(guidelines.locator("h1")).to_have_text("Rules")
    expect(guidelines).to_contain_text("<script>alert(1)</script>")
    assert guidelines.locator("script").count() == 0


def test_overlapping_spans_stack_where_the_project_allows_them(live_server, open_context, workspace_project):
    project = workspace_project["project"]
    do_update_project(project, acting_user=workspace_project["admin"], allow_overlapping_spans=True)
    first = workspace_project["documents"][0]
    gpe = Label.objects.get(project=project, name="GPE")
    for word in ("Moscow", "北京"):
        start, end = cp(FAMILY_TEXT, word)
        Suggestion.objects.create(document=first, start=start, end=end, label=gpe, model="ruler")
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={first.pk}")
    wait_for_document(page)
    drag(page, 1, 2)
    page.keyboard.press("p")
    unit(page, 2).dblclick()
    page.keyboard.press("o")
    # Both spans stay; the inner one is drawn as an underline lane, both labels show.
    expect(page.locator(".doc .chip[data-span]")).to_have_count(2)
    assert "inset" in unit(page, 2).evaluate("el => el.style.boxShadow")
    # Accept all suggestions at once.
    page.keyboard.press("Shift+A")
    expect(page.locator(".chip.sgc")).to_have_count(0)
    wait_saved(page)
    assert spans_of(stored(first, workspace_project["annotator"])) == [
        (6, 19, "PERSON"), (12, 19, "ORG"), (44, 50, "GPE"), (63, 65, "GPE")]


def test_a_document_with_a_files_own_tokens_is_annotated_on_them(live_server, open_context, workspace_project):
    """Prodigy gave 叙利亚|霍姆斯 as two tokens (spaCy keeps one) and Paris-based as one (spaCy splits three):
    the page draws and selects the file's tokens, and what it stores sits on them."""
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    text = "叙利亚霍姆斯 fell. Paris-based AFP said so."
    words = ["叙利亚", "霍姆斯", "fell", ".", "Paris-based", "AFP", "said", "so", "."]
    tokens, at = [], 0
    for word in words:
        start = text.index(word, at)
        at = start + len(word)
        tokens.append({"text": word, "start": start, "end": at})
    lines = [json.dumps({"text": text, "tokens": tokens, "meta": {"n": 0}}) + "\n"]  # a task to annotate
    import_records(project, read_prodigy(lines), importer=workspace_project["admin"])
    document = Document.objects.get(project=project, text=text)
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={document.pk}")
    wait_for_document(page)
    assert page.evaluate("window.annotator.doc.units.map(u => u.text)") == words
    unit(page, 1).dblclick()
    page.keyboard.press("g")
    unit(page, 4).dblclick()
    page.keyboard.press("o")
    wait_saved(page)
    assert spans_of(stored(document, annotator)) == [(3, 6, "GPE"), (*cp(text, "Paris-based"), "ORG")]


def test_submitting_a_document_with_no_entity_is_an_annotation(live_server, open_context, workspace_project):
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    first = workspace_project["documents"][0]
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={first.pk}")
    wait_for_document(page)
    page.keyboard.press("Enter")  # nothing to label here: submit as it is
    expect(page.locator('[data-ws="title"]')).not_to_have_attribute("data-document", str(first.pk))
    annotation = stored(first, annotator)
    assert (annotation.status, spans_of(annotation)) == ("submitted", [])
    first.refresh_from_db()
    assert first.status == "submitted"


def test_a_reviewed_document_is_read_only_with_a_notice_and_nothing_is_saved(
        live_server, open_context, workspace_project):
    """Opened by a #document= link once it has gold, and reviewed while open (the save gets 409 document_reviewed)."""
    from projects.actions.annotations import do_save_annotation
    from projects.actions.gold import do_save_gold
    from projects.spans import SpanIn

    project, annotator, admin = workspace_project["project"], workspace_project["annotator"], workspace_project["admin"]
    first, second, _ = (Document.objects.select_related("project").get(pk=d.pk)
                        for d in workspace_project["documents"])
    do_save_annotation(first, annotator, spans=[SpanIn("1", *cp(FAMILY_TEXT, "Maria Petrova"), "PERSON")],
                       relations=[], status="submitted", version=0)
    do_save_gold(first, acting_user=admin, spans=[SpanIn("1", *cp(FAMILY_TEXT, "Moscow"), "GPE")], relations=[],
                 status="submitted", version=0)
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={first.pk}")
    wait_for_document(page)
    banner, save = page.locator('[data-ws="banner"]'), page.locator('[data-ws="save"]')
    expect(banner).to_contain_text("This document has been reviewed: your annotation is read-only")
    expect(save).to_have_attribute("data-status", "locked")
    assert page.locator(".doc .chip[data-span]").all_text_contents() == ["PERSON"]  # their annotation, as stored
    expect(page.get_by_role("button", name="GPE")).to_be_disabled()
    # A label key changes nothing and says why; Enter moves on without submitting.
    unit(page, 8).click()
    page.keyboard.press("g")
    expect(page.locator('[data-ws="live"]')).to_contain_text("read-only")
    expect(page.locator(".doc .chip[data-span]")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator('[data-ws="title"]')).not_to_have_attribute("data-document", str(first.pk))
    mine = stored(first, annotator)
    assert (mine.version, mine.status, spans_of(mine)) == (1, "submitted", [(6, 19, "PERSON")])

    # Reviewed while open: the next save is refused, the page says so and keeps showing the user's work.
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={second.pk}")
    expect(page.locator('[data-ws="title"]')).to_have_attribute("data-document", str(second.pk))
    page.locator(".doc .u", has_text="Russia").click()
    page.keyboard.press("g")
    wait_saved(page)
    do_save_gold(second, acting_user=admin, spans=[], relations=[], status="submitted", version=0)
    page.locator(".doc .u", has_text="Iran").click()
    page.keyboard.press("g")
    expect(banner).to_contain_text("read-only")
    expect(banner).to_contain_text("not saved")
    expect(save).to_have_attribute("data-status", "locked")
    expect(page.locator(".doc .chip[data-span]")).to_have_count(2)
    assert spans_of(stored(second, annotator)) == [(*cp(SECOND_TEXT, "Russia"), "GPE")]
    page.get_by_role("button", name="Show the stored version").click()
    expect(page.locator(".doc .chip[data-span]")).to_have_count(1)
    expect(banner).not_to_contain_text("not saved")
    assert stored(second, annotator).version == 1
    assert errors == []


def test_a_document_whose_places_went_to_others_is_read_only_with_a_notice(
        live_server, open_context, workspace_project, django_user_model):
    project, first = workspace_project["project"], workspace_project["documents"][0]
    other = django_user_model.objects.create_user(username="late", password="pw-late")
    do_add_member(project, "late", "annotator", acting_user=workspace_project["admin"])
    do_save_annotation(first, workspace_project["annotator"], spans=[], relations=[], status="submitted",
                       version=0)  # k = 1: its one place is taken
    page = open_context().new_page()
    log_in(page, live_server.url, "late", "pw-late")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={first.pk}")
    wait_for_document(page)
    unit(page, 1).dblclick()
    page.keyboard.press("p")
    expect(page.locator('[data-ws="save"]')).to_have_attribute("data-status", "locked")
    expect(page.locator('[data-ws="banner"]')).to_contain_text("This document already has all its annotators")
    assert not Annotation.objects.filter(document=first, annotator=other).exists()


def test_an_annotator_sees_where_they_are_and_goes_back_to_their_documents(
        live_server, open_context, workspace_project):
    project = workspace_project["project"]
    first, second, third = workspace_project["documents"]
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/")
    wait_for_document(page)
    title, progress = page.locator('[data-ws="title"]'), page.locator('[data-ws="progress"]')
    expect(title).to_have_text("Your document 1")
    expect(progress).to_have_text("0 done · 3 left")
    page.keyboard.press("Enter")  # submit the first: nothing to label
    expect(title).to_have_text("Your document 2")
    expect(progress).to_have_text("1 done · 2 left")
    page.keyboard.press("s")  # skip the second
    expect(title).to_have_text("Your document 3")
    expect(progress).to_have_text("1 done · 2 left · 1 skipped")
    page.get_by_role("button", name="My documents").click()
    rows = page.locator('[data-ws="mine-list"] .mine-row')
    expect(rows).to_have_count(3)
    assert [r.split()[:2] for r in rows.all_inner_texts()] == [["1", "submitted"], ["2", "skipped"],
                                                               ["3", "in"]]
    rows.nth(0).click()  # back to the submitted one
    expect(title).to_have_text("Your document 1")
    assert page.url.endswith(f"#document={first.pk}")
    assert page.locator(".doc").text_content() == FAMILY_TEXT


def test_scores_show_on_hover_low_ones_are_faint_and_accept_all_takes_those_above_the_threshold(
        live_server, open_context, workspace_project):
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    first = workspace_project["documents"][0]
    gpe = Label.objects.get(project=project, name="GPE")
    person = Label.objects.get(project=project, name="PERSON")
    for word, label, score in (("Moscow", gpe, 0.93), ("北京", gpe, 0.31), ("Maria Petrova", person, 0.8),
                               ("Beijing", gpe, None)):
        start, end = cp(FAMILY_TEXT, word)
        Suggestion.objects.create(document=first, start=start, end=end, label=label, model="news",
                                  model_version="3", score=score)
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={first.pk}")
    wait_for_document(page)
    low = page.locator('.chip.sgc[data-score="0.31"]')
    expect(low).to_have_class(re.compile(r"\bsgl\b"))
    assert "score 0.31" in low.get_attribute("title")
    assert low.evaluate("el => getComputedStyle(el).borderTopStyle") == "dotted"  # faint, and not by colour alone
    high = page.locator('.chip.sgc[data-score="0.93"]')
    expect(high).not_to_have_class(re.compile(r"\bsgl\b"))
    assert "Suggested GPE by news 3 (score 0.93)" in high.get_attribute("title")
    expect(page.locator('[data-ws="suggestion-count"]')).to_have_text("4")
    # Only what the model is at least 0.8 sure of.
    page.locator('[data-ws="accept-threshold"]').fill("0.8")
    page.locator('[data-ws="accept-threshold"]').dispatch_event("change")
    expect(page.locator('[data-ws="suggestion-count"]')).to_have_text("2")
    page.locator(".doc").focus()
    page.keyboard.press("Shift+A")
    expect(page.locator('[data-ws="live"]')).to_contain_text("Accepted 2 suggestions; 2 left: 2 scored below 0.8")
    wait_saved(page)
    assert spans_of(stored(first, annotator)) == [(*cp(FAMILY_TEXT, "Maria Petrova"), "PERSON"),
                                                   (*cp(FAMILY_TEXT, "Moscow"), "GPE")]
    # The threshold is kept for the project across reloads.
    page.reload()
    wait_for_document(page)
    expect(page.locator('[data-ws="accept-threshold"]')).to_have_value("0.8")
