"""Mouse selection in a real browser: a double-click takes the token under the pointer, a drag the tokens it
touches, never the browser's word ("Assad’s", "Al-Qaeda"). What is stored is checked in the database, in code
points, with a flag and CJK before the words."""

from __future__ import annotations

import pytest

from projects.actions.documents import do_create_documents
from projects.tokens import tokenize
from tests.annotator.conftest import SECOND_TEXT, log_in, wait_for_document
from tests.annotator.test_workspace import cp, spans_of, stored, unit, wait_saved

pytestmark = pytest.mark.postgres

HYPHEN_TEXT = "北京 🇷🇺 Al-Qaeda claimed it."
HYPHEN_UNITS = ["北京", "🇷🇺", "Al", "-", "Qaeda", "claimed", "it", "."]


def point(page, k: int, fraction: float) -> tuple[float, float]:
    """A point inside unit k, `fraction` of the way across it."""
    box = unit(page, k).bounding_box()
    return box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2


def drag_between(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=5)
    page.mouse.up()


def open_document(page, live_server, project, document) -> None:
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={document.pk}")
    wait_for_document(page)


def test_spacy_splits_the_hyphenated_name_and_the_possessive():
    """What the browser tests below rely on: spaCy's tokens, not the browser's words."""
    def words(text):
        tokens = tokenize(text, "en")
        return [text[start:end] for start, end in zip(tokens.starts, tokens.ends)]
    assert words(SECOND_TEXT)[:2] == ["Assad", "’s"]
    assert words(HYPHEN_TEXT)[3:6] == ["Al", "-", "Qaeda"]


def test_a_double_click_on_a_possessive_name_takes_the_name_alone(live_server, open_context, workspace_project):
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    second = workspace_project["documents"][1]
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_document(page, live_server, project, second)
    assert page.evaluate("window.annotator.doc.units.map(u => u.text)")[:2] == ["Assad", "’s"]
    unit(page, 0).dblclick(position={"x": 3, "y": 5})
    assert page.evaluate("window.getSelection().isCollapsed")
    assert page.evaluate("window.annotator.ui.selection") == [0, 0]
    page.keyboard.press("p")
    wait_saved(page)
    assert spans_of(stored(second, annotator)) == [(*cp(SECOND_TEXT, "Assad"), "PERSON")]
    # Russia, after the flag: a double-click near its end takes it and nothing after.
    russia = page.evaluate("window.annotator.doc.units.map(u => u.text)").index("Russia")
    box = unit(page, russia).bounding_box()
    unit(page, russia).dblclick(position={"x": box["width"] - 2, "y": box["height"] / 2})
    page.keyboard.press("g")
    wait_saved(page)
    assert spans_of(stored(second, annotator)) == [(*cp(SECOND_TEXT, "Assad"), "PERSON"),
                                                   (*cp(SECOND_TEXT, "Russia"), "GPE")]
    assert errors == []


def test_a_double_click_in_a_hyphenated_name_takes_one_token_and_a_drag_the_tokens_it_touches(
        live_server, open_context, workspace_project):
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    [document] = do_create_documents(project, [{"text": HYPHEN_TEXT}], acting_user=workspace_project["admin"])
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_document(page, live_server, project, document)
    assert page.evaluate("window.annotator.doc.units.map(u => u.text)") == HYPHEN_UNITS
    al, hyphen, qaeda = 2, 3, 4

    # A double-click on the "l" of "Al" takes "Al", not the hyphen.
    box = unit(page, al).bounding_box()
    unit(page, al).dblclick(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    assert page.evaluate("window.annotator.ui.selection") == [al, al]
    page.keyboard.press("o")
    wait_saved(page)
    assert spans_of(stored(document, annotator)) == [(*cp(HYPHEN_TEXT, "Al"), "ORG")]
    page.keyboard.press("Delete")

    # One on the hyphen takes the hyphen, not "Qaeda".
    unit(page, hyphen).dblclick()
    assert page.evaluate("window.annotator.ui.selection") == [hyphen, hyphen]
    page.keyboard.press("d")
    wait_saved(page)
    assert spans_of(stored(document, annotator)) == [(*cp(HYPHEN_TEXT, "-"), "DATE")]
    page.keyboard.press("Delete")

    # A drag from inside "Al" to inside "Qaeda" takes the three tokens, and so does one the other way.
    drag_between(page, point(page, al, 0.6), point(page, qaeda, 0.4))
    assert page.evaluate("window.annotator.ui.selection") == [al, qaeda]
    assert page.evaluate("window.getSelection().isCollapsed")
    page.keyboard.press("Escape")
    drag_between(page, point(page, qaeda, 0.3), point(page, al, 0.9))
    assert page.evaluate("window.annotator.ui.selection") == [al, qaeda]
    page.keyboard.press("o")
    wait_saved(page)
    assert spans_of(stored(document, annotator)) == [(*cp(HYPHEN_TEXT, "Al-Qaeda"), "ORG")]
    assert cp(HYPHEN_TEXT, "Al-Qaeda") == (6, 14)  # code points: the flag is two, not four
    # A drag from near the end of "Al" onto the hyphen takes those two, not "Al-Qaeda" as the browser's word.
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    drag_between(page, point(page, al, 0.8), point(page, hyphen, 0.5))
    assert page.evaluate("window.annotator.ui.selection") == [al, hyphen]
    assert errors == []
