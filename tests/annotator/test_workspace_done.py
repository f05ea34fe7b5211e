"""When there is no document to annotate the workspace says why, plainly, and no editing button works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from tests.annotator.conftest import log_in, wait_for_document
from tests.annotator.test_workspace import unit, wait_saved

pytestmark = pytest.mark.postgres

COMMANDS = ["undo", "redo", "delete", "relation", "acceptAll", "skip", "submit"]


def expect_nothing_to_edit(page) -> None:
    for command in COMMANDS:
        expect(page.locator(f'.ws-bar [data-command="{command}"]')).to_be_disabled()
    buttons = page.locator('[data-ws="labels"] button, [data-ws="relations"] button')
    assert buttons.count() > 0
    for i in range(buttons.count()):
        expect(buttons.nth(i)).to_be_disabled()
    expect(page.locator('[data-ws="main"]')).to_be_hidden()


def test_a_project_without_documents_says_so_and_disables_every_editing_button(
        live_server, open_context, pg, django_user_model):
    admin = django_user_model.objects.create_user(username="boss", password="pw-boss")
    annotator = django_user_model.objects.create_user(username="ann", password="pw-ann")
    project = do_create_project(acting_user=admin, name="Empty", description="no documents")
    do_add_member(project, annotator.username, "annotator", acting_user=admin)
    do_create_label(project, acting_user=admin, name="PERSON", kind="entity", shortcut="p")
    do_create_label(project, acting_user=admin, name="works_for", kind="relation")
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/")
    done = page.locator('[data-ws="done"]')
    expect(done).to_be_visible()
    expect(done).to_contain_text("This project has no documents yet.")
    expect(done).not_to_contain_text("Thank you")
    expect(page.locator('[data-ws="title"]')).to_have_text("No documents")
    expect_nothing_to_edit(page)


def test_when_every_document_is_done_the_workspace_says_nothing_is_left_and_disables_editing(
        live_server, open_context, workspace_project):
    project = workspace_project["project"]
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/")
    title = page.locator('[data-ws="title"]')
    for document in workspace_project["documents"]:
        wait_for_document(page)
        expect(title).to_have_attribute("data-document", str(document.pk))
        if document == workspace_project["documents"][-1]:
            unit(page, 1).dblclick()  # an edit, so Undo was enabled before the end
            page.keyboard.press("p")
            wait_saved(page)
            expect(page.locator('.ws-bar [data-command="undo"]')).to_be_enabled()
        page.keyboard.press("Enter")
    done = page.locator('[data-ws="done"]')
    expect(done).to_be_visible()
    expect(done).to_contain_text("Nothing left for you: every document is done or held by others.")
    expect(title).to_have_text("Nothing left")
    expect_nothing_to_edit(page)
    # Keys do nothing either, and Back still leads to the last document.
    page.keyboard.press("p")
    expect(done).to_be_visible()
    expect(page.locator('[data-ws="done"] [data-command="back"]')).to_be_enabled()
