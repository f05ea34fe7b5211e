// Keys and clicks, turned into the workspace's actions. Every key is looked up
// in keys.js (the table the help overlay shows); a label shortcut never uses a key there.

import { commandFor, keyName } from "./keys.js";
import { selectedUnits } from "./selection.js";

/** Wire the page's events to `ws` (a Workspace). */
export function bindInput(ws) {
  document.addEventListener("keydown", (event) => onKey(ws, event));
  ws.el.doc.addEventListener("mouseup", (event) => onMouseUp(ws, event));
  document.addEventListener("mousedown", (event) => onMouseDown(ws, event));
  ws.root.addEventListener("click", (event) => onClick(ws, event));
  document.addEventListener("copy", (event) => onCopy(ws, event));
}

/**
 * Remember the unit a press starts on: a drag selects from it to the unit it ends on. A chip, or a
 * second press of a double-click, must not start the browser's selection (its words are not tokens:
 * "Assad’s" is "Assad" and "’s", "Al-Qaeda" is "Al", "-" and "Qaeda").
 */
export function onMouseDown(ws, event) {
  const onChip = Boolean(event.target.closest && event.target.closest(".chip"));
  ws.pressed = ws.view && !onChip ? ws.view.unitFromElement(event.target) : -1;
  if (!ws.el.doc.contains(event.target)) return;
  if (onChip || (event.detail >= 2 && ws.pressed >= 0)) event.preventDefault();
}

export function onMouseUp(ws, event) {
  if (event.button !== 0 || ws.busy || !ws.doc) return;
  if (event.target.closest("button")) return;
  const pressed = ws.pressed;
  const k = ws.view.unitFromElement(event.target);
  // With a sticky label (and no relation being drawn) a click on an unlabelled unit labels it at once.
  const stickOn = (unit) => Boolean(ws.sticky) && !ws.mode && ws.view.spansAt(unit).length === 0;
  if (event.detail >= 2 && k >= 0 && k === pressed) {
    // A double-click: exactly the unit under the pointer (its first click already did a click's work:
    // with a sticky label, labelled it, and the span stays selected).
    window.getSelection().removeAllRanges();
    if (stickOn(k)) ws.stick(k, k);
    else if (!ws.mode && !ws.sticky) ws.select(k, k);
    ws.el.doc.focus({ preventScroll: true });
    return;
  }
  const native = window.getSelection();
  const dragged = pressed !== k || event.detail >= 2 || (native && !native.isCollapsed);
  // A drag from one unit to another takes the units in between, whatever the browser calls a word;
  // one that starts or ends between units snaps inwards from the browser's selection (selection.js).
  const range = dragged && pressed >= 0 && k >= 0 ? [Math.min(pressed, k), Math.max(pressed, k)]
    : selectedUnits(ws.el.doc, ws.doc.units.length);
  if (range) {
    window.getSelection().removeAllRanges();
    if (ws.mode) ws.cancelMode();
    if (ws.sticky) ws.stick(range[0], range[1]);
    else ws.select(range[0], range[1]);
    ws.el.doc.focus({ preventScroll: true });
    return;
  }
  const chip = event.target.closest(".chip");
  if (chip && chip.dataset.span) { ws.clickSpan(chip.dataset.span); return; }
  if (chip && chip.dataset.sug) { ws.pickItem({ type: "suggestion", id: chip.dataset.sug }); return; }
  if (k < 0) return;
  if (stickOn(k)) { ws.stick(k, k); ws.el.doc.focus({ preventScroll: true }); return; }
  const items = ws.itemsAt(k);
  if (ws.mode && ws.mode.kind === "tail") {
    const span = items.find((item) => item.type === "span" && item.id !== ws.mode.head);
    if (span) ws.chooseTail(span.id); else ws.announce("Click a span to make it the tail.");
    return;
  }
  if (items.length) {
    const picked = ws.ui.picked;
    const i = picked ? items.findIndex((item) => item.type === picked.type && item.id === picked.id) : -1;
    ws.pickItem(items[(i + 1) % items.length]);
  } else {
    ws.moveTo(k, event.shiftKey);
  }
  ws.el.doc.focus({ preventScroll: true });
}

/** Ctrl + C copies the selected tokens' text (the page draws its own selection, so the browser has none). */
export function onCopy(ws, event) {
  if (!ws.doc || !ws.doc.units.length) return;
  const native = window.getSelection();
  if (native && !native.isCollapsed) return;
  const picked = ws.ui.picked;
  const range = picked && picked.type === "span" ? ws.view.spanRange(picked.id) : ws.ui.selection;
  if (!range) return;
  event.clipboardData.setData("text/plain", ws.doc.text.slice(ws.doc.units[range[0]].start, ws.doc.units[range[1]].end));
  event.preventDefault();
}

export function onClick(ws, event) {
  const button = event.target.closest("button, [data-command]");
  if (!button || !ws.root.contains(button)) return;
  const { command, label, accept, reject, relationLabel } = button.dataset;
  if (accept || reject) {
    ws.cancelMode();
    if (accept) ws.acceptSuggestion(accept); else ws.rejectSuggestion(reject);
    ws.el.doc.focus({ preventScroll: true });
    return;
  }
  if (relationLabel) { ws.relationLabelChosen(ws.relationByName.get(relationLabel)); return; }
  if (label) {
    const entity = ws.entityByName.get(label);
    const relation = ws.relationByName.get(label);
    if (button.closest('[data-ws="relations"]')) ws.relationLabelChosen(relation);
    else if (entity && event.shiftKey) ws.toggleSticky(entity);
    else if (entity && ws.doc && !ws.mode) ws.chooseLabel(entity);
    ws.el.doc.focus({ preventScroll: true });
    return;
  }
  if (command) {
    run(ws, command, event);
    if (!["help", "guidelines", "reload", "mine", "mineMore"].includes(command)) ws.el.doc.focus({ preventScroll: true });
  }
}

export function onKey(ws, event) {
  if (event.defaultPrevented || event.isComposing) return;
  const target = event.target;
  const name = keyName(event);
  const dialog = document.querySelector("dialog[open]");
  if (dialog) {
    if (name === "?" && !target.closest("input, textarea, select")) { event.preventDefault(); dialog.close(); }
    return;
  }
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  const onControl = target.closest && target.closest("button, a, [role=button], summary");
  if (onControl && (name === "Enter" || name === " ")) return; // the control's own activation
  if (name === "?") { event.preventDefault(); run(ws, "help"); return; }
  if (!ws.doc || ws.busy) {
    if (commandFor(name) === "back") { event.preventDefault(); ws.back(); }
    return;
  }
  const plain = !event.ctrlKey && !event.metaKey && !event.altKey;

  if (ws.mode && ws.mode.kind === "label") {
    if (name === "Escape") { event.preventDefault(); ws.cancelMode(); return; }
    const label = plain ? relationLabelForKey(ws, event.key) : null;
    if (label) { event.preventDefault(); ws.finishRelation(ws.mode.head, ws.mode.tail, label.name); }
    return;
  }
  if (plain && ws.ui.picked && ws.ui.picked.type === "relation" && !ws.mode) {
    const label = relationLabelForKey(ws, event.key);
    if (label) { event.preventDefault(); ws.relabelPickedRelation(label); return; }
  }
  if (plain && !ws.mode) {
    const label = ws.shortcuts.get(event.key);
    if (label && label.kind === "entity") { event.preventDefault(); ws.chooseLabel(label); return; }
  }
  const command = commandFor(name);
  if (!command) return;
  event.preventDefault();
  run(ws, command, event);
}

function relationLabelForKey(ws, key) {
  const byShortcut = ws.shortcuts.get(key);
  if (byShortcut && byShortcut.kind === "relation") return byShortcut;
  if (/^[1-9]$/.test(key)) return ws.relationLabels[Number(key) - 1] || null;
  return null;
}

export function run(ws, command, event = null) {
  const rtl = ws.doc && getComputedStyle(ws.el.doc).direction === "rtl";
  const key = event && event.key;
  const extend = Boolean(event && event.shiftKey);
  const tail = ws.mode && ws.mode.kind === "tail";
  switch (command) {
    case "move": ws.move((key === "ArrowRight") !== rtl ? 1 : -1, false); break;
    case "extend":
      if (key === "Home" || key === "End") ws.moveTo(key === "Home" ? 0 : ws.doc.units.length - 1, true);
      else if (key === "ArrowUp" || key === "ArrowDown") ws.moveLineBy(key === "ArrowDown" ? 1 : -1, true);
      else ws.move((key === "ArrowRight") !== rtl ? 1 : -1, true);
      break;
    case "moveLine": ws.moveLineBy(key === "ArrowDown" ? 1 : -1, false); break;
    case "moveEdge": ws.moveTo(key === "Home" ? 0 : ws.doc.units.length - 1, extend); break;
    case "jump": ws.jumpToName((key === "ArrowRight") !== rtl ? 1 : -1); break;
    case "pickAtCursor": ws.pickAtCursor(); break;
    case "pickNext": ws.pickNext(key === "[" ? -1 : 1); break;
    case "escape": ws.escape(); break;
    case "delete": if (!ws.mode) ws.deletePicked(); break;
    case "relation": if (!ws.mode) ws.startRelation(); break;
    case "accept": if (!ws.mode) ws.acceptSuggestion(null); break;
    case "reject": if (!ws.mode) ws.rejectSuggestion(null); break;
    case "acceptAll": if (!ws.mode) ws.acceptAll(); break;
    case "undo": ws.cancelMode(); ws.undo(); break;
    case "redo": ws.cancelMode(); ws.redo(); break;
    case "submit": if (tail) ws.pickAtCursor(); else ws.submit(); break;
    case "skip": ws.skip(); break;
    case "back": ws.back(); break;
    case "unskipAll": ws.unskipAll(); break;
    case "help": ws.toggleDialog(ws.el.help); break;
    case "guidelines": ws.toggleDialog(ws.el.guidelines); break;
    case "sticky": ws.toggleSticky(null); break;
    case "mine": ws.showMine(); break;
    case "mineMore": ws.loadMine(ws.minePage + 1); break;
    case "openMine": {
      const row = event && event.target.closest("[data-document]");
      if (row) ws.openMine(Number(row.dataset.document));
      break;
    }
    case "loadStored": ws.loadStored(); break;
    case "keepMine": ws.keepMine(); break;
    case "showStored": ws.showStored(); break;
    case "retry": if (ws.saver) ws.saver.flush(); break;
    case "reload": window.location.reload(); break;
    default: break;
  }
}
