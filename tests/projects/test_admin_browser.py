"""The admin's document list in a real browser: readable at 1400 px beside the sidebar and the filters."""

from __future__ import annotations

import pytest

from projects.actions.documents import do_create_documents
from tests.annotator.conftest import log_in

pytestmark = pytest.mark.postgres

LONG_TEXT = " ".join(["Rebels led by Hayat Tahrir al-Sham seized the northern city of Aleppo on Friday."] * 8)

# The list's width against its box, the headers' right edges, and the text cells' widths.
LAYOUT = """() => {
    const results = document.querySelector("#changelist-form .results");
    const headers = [...document.querySelectorAll("#result_list thead th")];
    const texts = [...document.querySelectorAll("#result_list td.field-short_text")];
    return {
        overflow: results.scrollWidth - results.clientWidth,
        headers: headers.map((th) => th.textContent.trim()).filter(Boolean),
        right: Math.max(...headers.map((th) => th.getBoundingClientRect().right)),
        textWidths: texts.map((td) => td.getBoundingClientRect().width),
        cut: texts.map((td) => td.scrollWidth > td.clientWidth),
    };
}"""


def test_the_document_list_fits_a_1400_px_window(live_server, open_context, pg, project, people, django_user_model):
    django_user_model.objects.create_superuser(username="root", password="pw-root")
    do_create_documents(project, [{"text": LONG_TEXT, "meta": {"n": 4}}, {"text": "A" * 400, "meta": {"n": 5}}],
                        acting_user=people["admin"])
    page = open_context().new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, live_server.url, "root", "pw-root")
    page.goto(f"{live_server.url}/admin/projects/document/")
    layout = page.evaluate(LAYOUT)
    assert layout["headers"] == ["ID", "Text", "Project", "Status", "Annotators", "Disagreement"]
    assert layout["overflow"] <= 0  # no sideways scrolling: every column is in view
    assert layout["right"] <= 1400
    # The text column is the widest, and long texts (a sentence, or one unbroken word) end in "…".
    assert min(layout["textWidths"]) >= 200
    assert layout["cut"].count(True) == 2
