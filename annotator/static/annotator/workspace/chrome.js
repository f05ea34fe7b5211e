// The parts of the page around the text: the label bars, the save indicator,
// the banner, the relation-label chooser and the dialogs. Plain DOM, no state
// of its own beyond what it shows.

import { palette } from "./colors.js";
import { escapeHtml } from "./render.js";

const SAVE_TEXT = {
  saved: "All changes saved",
  pending: "Unsaved changes…",
  saving: "Saving…",
  failed: "Not saved",
  conflict: "Not saved: conflict",
  locked: "Read-only: reviewed",
  new: "No gold yet", // the review page: a document without gold, shown as proposed and not edited
};

const SAVE_TITLE = {
  new: "Nothing is stored for this document yet, and you changed nothing: Save gold (Enter) stores what is shown.",
  pending: "You changed something that is not stored yet.",
};

export function renderLabelBar(container, labels, { numbered = false } = {}) {
  container.innerHTML = labels.map((label, i) => {
    const colors = palette(label.color);
    const key = label.shortcut || (numbered && i < 9 ? String(i + 1) : "");
    const kbd = key ? ` <kbd>${escapeHtml(key)}</kbd>` : "";
    const shortcut = key ? ` aria-keyshortcuts="${escapeHtml(key === " " ? "Space" : key)}"` : "";
    return `<button type="button" class="label-button" data-label="${escapeHtml(label.name)}"${shortcut}`
      + ` style="--c:${colors.color};--t:${colors.text};--ink:${colors.ink}">`
      + `<span class="swatch" aria-hidden="true"></span>${escapeHtml(label.name)}${kbd}</button>`;
  }).join("");
}

/**
 * Show the sticky label (an entity label, or null when off): on its toggle in the label row, as its label's
 * button pressed, and as the pointer over the text (a click there labels).
 */
export function showSticky(toggle, labelBar, wrap, label) {
  if (toggle) {
    toggle.setAttribute("aria-pressed", label ? "true" : "false");
    const colors = label ? palette(label.color) : null;
    toggle.innerHTML = "Sticky" + (label
      ? `: <span class="sticky-name" style="--c:${colors.color};--t:${colors.text}">${escapeHtml(label.name)}</span>`
        + ` <kbd>Esc</kbd>` : "");
    toggle.title = label
      ? `Sticky label ${label.name}: each click, double-click or drag on the text labels it; a label's key or`
        + ` button switches it. Click here or press Esc to turn it off.`
      : "Sticky label: then each click, double-click or drag on the text labels at once (Shift + click a label"
        + " makes that one sticky)";
  }
  for (const button of labelBar.querySelectorAll("button[data-label]")) {
    const stuck = Boolean(label) && button.dataset.label === label.name;
    button.classList.toggle("stuck", stuck);
    if (stuck) button.setAttribute("aria-pressed", "true"); else button.removeAttribute("aria-pressed");
    button.title = stuck ? "The sticky label (Shift + click or Esc turns it off)"
      : label ? "Make this the sticky label" : "Label the selection (Shift + click: make it the sticky label)";
  }
  wrap.classList.toggle("sticky", Boolean(label));
}

export function renderSaveIndicator(element, saver) {
  const status = saver ? saver.status : "saved";
  element.dataset.status = status;
  let text = SAVE_TEXT[status];
  if (status === "failed" && saver.error) text += `: ${saver.error.message}`;
  if (status === "locked" && saver.lockReason === "document_full") text = "Read-only: others hold it";
  element.textContent = text;
  element.title = SAVE_TITLE[status] || "";
}

export function showBanner(banner, html) {
  banner.innerHTML = html;
  banner.hidden = !html;
}

export function conflictBanner(stored) {
  const when = stored && stored.updated_at ? ` at ${new Date(stored.updated_at).toLocaleTimeString()}` : "";
  return `<strong>This annotation was saved somewhere else</strong> (another tab, window or person${when};`
    + ` stored version ${escapeHtml(stored ? stored.version : "?")}). Your latest changes are <strong>not saved</strong>.`
    + `<div class="banner-actions">`
    + `<button type="button" data-command="loadStored">Load the stored version</button>`
    + `<button type="button" class="secondary" data-command="keepMine">Keep mine (overwrite the stored version)</button>`
    + `</div><p class="muted">Loading the stored version keeps yours in the history: Ctrl + Z brings it back.</p>`;
}

/** The read-only notice: a reviewed document, or (`code` "document_full") one whose places all went to
 * others; `unsaved`: the page shows changes the server refused. */
export function lockedBanner({ unsaved, code = "document_reviewed" }) {
  const changes = unsaved
    ? ` Your latest changes, still shown here, were <strong>not saved</strong>.`
      + ` <button type="button" data-command="showStored">Show the stored version</button>`
    : "";
  const why = code === "document_full"
    ? `<strong>This document already has all its annotators: your changes are not saved.</strong>`
      + ` It went to others while it was not yours; an admin can assign it to you.`
    : `<strong>This document has been reviewed: your annotation is read-only.</strong>`
      + ` A reviewer made its gold annotation, so changes are no longer saved; if something should change,`
      + ` ask a reviewer to reopen it.`;
  return `${why}${changes}`
    + `<p class="muted">Enter, Skip (s) and Back (b) move on; nothing is submitted.</p>`;
}

export function failureBanner(error) {
  const reason = error ? error.message : "unknown error";
  return `<strong>Your latest changes are not saved yet.</strong> ${escapeHtml(reason)}`
    + ` They are kept in this page and saving is retried; undo what the server refuses, or`
    + ` <button type="button" data-command="retry">Retry now</button>`;
}

/** Show the relation-label chooser near `anchor` (an element); resolves through the buttons' data-label. */
export function openChooser(chooser, labels, anchor) {
  chooser.innerHTML = `<p class="chooser-title">Relation label</p>` + labels.slice(0, 9).map((label, i) => {
    const colors = palette(label.color);
    const key = label.shortcut ? `${escapeHtml(label.shortcut)} / ${i + 1}` : String(i + 1);
    return `<button type="button" role="menuitem" data-relation-label="${escapeHtml(label.name)}"`
      + ` style="--ink:${colors.ink}"><kbd>${key}</kbd> ${escapeHtml(label.name)}</button>`;
  }).join("") + `<button type="button" role="menuitem" class="secondary" data-command="escape">Cancel <kbd>Esc</kbd></button>`;
  chooser.hidden = false;
  const box = anchor ? anchor.getBoundingClientRect() : null;
  const parent = chooser.offsetParent ? chooser.offsetParent.getBoundingClientRect() : { left: 0, top: 0 };
  if (box) {
    chooser.style.left = `${Math.max(0, box.left - parent.left)}px`;
    chooser.style.top = `${box.bottom - parent.top + 6}px`;
  }
  const first = chooser.querySelector("button");
  if (first) first.focus({ preventScroll: true });
}

export function closeChooser(chooser) {
  chooser.hidden = true;
  chooser.innerHTML = "";
}
