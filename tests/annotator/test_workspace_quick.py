"""Fewer actions per entity, in a real browser: a sticky label (each click, double-click or drag labels at once),
an entity made with the keyboard alone in three keys, and label chips that stay on their word's line. What is
stored is checked through the API in code points, with a ZWJ emoji family, a flag and CJK before the words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.spans import SpanIn
from tests.annotator.conftest import FAMILY_TEXT, log_in, wait_for_document
from tests.annotator.test_workspace import FAMILY_UNITS, cp, drag, spans_of, stored, unit, wait_saved

pytestmark = pytest.mark.postgres

MARIA, PETROVA, SYRIA, MOSCOW, BEIJING, BEIJING_ZH = 1, 2, 4, 8, 10, 11


def open_document(page, live_server, project, document) -> list[str]:
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={document.pk}")
    wait_for_document(page)
    return errors


def api_spans(document, user) -> list[tuple[int, int, str]]:
    client = APIClient()
    client.force_authenticate(user)
    body = client.get(f"/api/v1/documents/{document.pk}/annotation/").json()
    return sorted((s["start"], s["end"], s["label"]) for s in body["spans"])


def chips(page):
    return page.locator(".doc .chip[data-span]")


def test_a_sticky_label_labels_each_click_double_click_and_drag_until_it_is_turned_off(
        live_server, open_context, workspace_project):
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    first = workspace_project["documents"][0]
    page = open_context().new_page()
    errors = open_document(page, live_server, project, first)
    assert page.evaluate("window.annotator.doc.units.map(u => u.text)") == FAMILY_UNITS
    toggle = page.locator('[data-ws="sticky"]')
    person = page.locator('[data-ws="labels"] button[data-label="PERSON"]')
    expect(toggle).to_have_attribute("aria-pressed", "false")

    # Shift + click on a label makes it sticky: the toolbar says which, and how to end it.
    person.click(modifiers=["Shift"])
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_contain_text("Sticky: PERSON")
    expect(toggle.locator("kbd")).to_have_text("Esc")
    expect(person).to_have_attribute("aria-pressed", "true")
    expect(chips(page)).to_have_count(0)  # making it sticky labels nothing

    # A click labels the token at once.
    unit(page, MARIA).click()
    expect(chips(page)).to_have_count(1)
    expect(chips(page).first).to_have_text("PERSON")
    # A label's key switches the sticky label, and labels nothing itself.
    page.keyboard.press("g")
    expect(toggle).to_contain_text("Sticky: GPE")
    expect(person).not_to_have_attribute("aria-pressed", "true")
    expect(chips(page)).to_have_count(1)
    # A double-click labels its token once (not twice, not the browser's word).
    unit(page, MOSCOW).dblclick()
    expect(chips(page)).to_have_count(2)
    assert page.evaluate("window.getSelection().isCollapsed")
    # A drag labels the tokens it covers, as one span.
    drag(page, BEIJING, BEIJING_ZH)
    expect(chips(page)).to_have_count(3)
    assert page.evaluate("window.getSelection().isCollapsed")
    # A click on a labelled token selects its span (so Delete still works) and adds nothing.
    unit(page, MARIA).click()
    expect(chips(page)).to_have_count(3)
    expect(page.locator(".doc .chip.pk")).to_have_text("PERSON")

    # Undo and redo take the sticky edits like any other.
    page.keyboard.press("Control+z")
    expect(chips(page)).to_have_count(2)
    page.keyboard.press("Control+Shift+z")
    expect(chips(page)).to_have_count(3)

    # Esc turns it off: a click selects again, labelling nothing.
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator('[data-ws="labels"] button[aria-pressed="true"]')).to_have_count(0)
    unit(page, SYRIA).click()
    expect(chips(page)).to_have_count(3)
    assert page.evaluate("window.annotator.ui.selection") == [SYRIA, SYRIA]

    # The Sticky button turns it on with the label last used, and off again.
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_contain_text("Sticky: GPE")
    unit(page, SYRIA).click()
    expect(chips(page)).to_have_count(4)
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    unit(page, PETROVA).dblclick()
    expect(chips(page)).to_have_count(4)

    # Autosaved, in code points.
    wait_saved(page)
    expected = sorted([(*cp(FAMILY_TEXT, "Maria"), "PERSON"), (*cp(FAMILY_TEXT, "叙利亚"), "GPE"),
                       (*cp(FAMILY_TEXT, "Moscow"), "GPE"), (*cp(FAMILY_TEXT, "Beijing 北京"), "GPE")])
    assert expected == [(6, 11, "PERSON"), (24, 27, "GPE"), (44, 50, "GPE"), (55, 65, "GPE")]
    assert api_spans(first, annotator) == expected
    assert spans_of(stored(first, annotator)) == expected
    assert errors == []


def test_an_entity_takes_three_keys_with_the_keyboard_alone(live_server, open_context, workspace_project):
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    first = workspace_project["documents"][0]
    page = open_context().new_page()
    errors = open_document(page, live_server, project, first)
    assert page.evaluate("window.annotator.ui.cursor") == 0  # on the emoji family

    def entity(keys: list[str]) -> int:
        for key in keys:
            page.keyboard.press(key)
        return len(keys)

    # "Maria Petrova": jump to the next name, take the next word too, label it.
    page.keyboard.press("Control+ArrowRight")
    assert page.evaluate("window.annotator.ui.selection") == [MARIA, MARIA]
    page.keyboard.press("Shift+ArrowRight")
    assert page.evaluate("window.annotator.ui.selection") == [MARIA, PETROVA]
    page.keyboard.press("p")
    presses = 3
    # "叙利亚" (a script without capitals) and then "Moscow" (past "officials", "in" and the flag): two keys each.
    presses_syria = entity(["Control+ArrowRight", "g"])
    presses_moscow = entity(["Control+ArrowRight", "g"])
    assert max(presses, presses_syria, presses_moscow) <= 3
    expect(chips(page)).to_have_count(3)

    # Labelled words are passed over, both ways: from the start the first name not labelled is "Beijing", and
    # before it there is none.
    page.keyboard.press("Home")
    page.keyboard.press("Control+ArrowRight")
    assert page.evaluate("window.annotator.ui.cursor") == BEIJING
    page.keyboard.press("Control+ArrowRight")
    assert page.evaluate("window.annotator.ui.cursor") == BEIJING_ZH
    page.keyboard.press("Control+ArrowLeft")
    assert page.evaluate("window.annotator.ui.cursor") == BEIJING
    page.keyboard.press("Control+ArrowLeft")  # nothing unlabelled before: the cursor stays, the page says so
    assert page.evaluate("window.annotator.ui.cursor") == BEIJING
    expect(page.locator('[data-ws="live"]')).to_have_text("No unlabelled name before the cursor.")

    wait_saved(page)
    expected = sorted([(*cp(FAMILY_TEXT, "Maria Petrova"), "PERSON"), (*cp(FAMILY_TEXT, "叙利亚"), "GPE"),
                       (*cp(FAMILY_TEXT, "Moscow"), "GPE")])
    assert expected == [(6, 19, "PERSON"), (24, 27, "GPE"), (44, 50, "GPE")]  # code points, not UTF-16
    assert api_spans(first, annotator) == expected

    # The keys are in the help, from the one key table.
    page.keyboard.press("?")
    help_dialog = page.locator('[data-ws="help"]')
    expect(help_dialog).to_contain_text("Ctrl + → ←")
    expect(help_dialog).to_contain_text("Shift + click a label")
    assert errors == []


WORDS = ["Al", "Bo", "Cy", "Di", "Ed", "Fa", "Gu", "Hu", "Io", "Jo", "Ka", "Li", "Mo", "Nu", "Ox", "Pi"]
CHIP_TEXT = "👩\u200d👩\u200d👧 北京 " + " ".join(f"{word} said {word}xy" for word in WORDS) + "."

# Chips whose middle is not within the last line box of their word's text.
CHIPS_OFF_THEIR_LINE = """() => [...document.querySelectorAll(".doc .chip")].filter((chip) => {
    const text = chip.closest(".u").firstChild;
    const range = document.createRange();
    range.selectNodeContents(text);
    const lines = range.getClientRects();
    const line = lines[lines.length - 1];
    const box = chip.getBoundingClientRect();
    const middle = (box.top + box.bottom) / 2;
    return middle < line.top || middle > line.bottom;
}).length"""


def test_a_label_chip_stays_on_its_words_line_in_a_narrow_window(live_server, open_context, workspace_project):
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    [document] = do_create_documents(project, [{"text": CHIP_TEXT}], acting_user=workspace_project["admin"])
    spans = [SpanIn(str(i), *cp(CHIP_TEXT, f"{word}xy"), "PERSON") for i, word in enumerate(WORDS)]
    spans += [SpanIn("zh", *cp(CHIP_TEXT, "北京"), "GPE")]
    do_save_annotation(document, annotator, spans=spans, relations=[], status="in_progress", version=0)
    page = open_context().new_page()
    errors = open_document(page, live_server, project, document)
    expect(chips(page)).to_have_count(len(spans))
    # Across widths, every chip sits on its word's last line (the text wraps at a different word each time).
    for width in range(320, 480, 6):
        page.set_viewport_size({"width": width, "height": 800})
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        assert page.evaluate(CHIPS_OFF_THEIR_LINE) == 0, f"a chip wrapped away from its word at {width} px"
    lines = page.evaluate("""() => new Set([...document.querySelectorAll(".doc .u")]
        .map((u) => Math.round(u.getBoundingClientRect().top))).size""")
    assert lines > 5  # the text does wrap in these widths
    assert errors == []
