// Every key the workspace understands, in one table: the help overlay is drawn
// from it, so what `?` shows is what the keys do.
//
// Label shortcuts come first: a label whose shortcut is also a command key
// below (say a label on "r") wins, and the help overlay says so.

export const COMMANDS = [
  { group: "Move and select", keys: ["ArrowLeft", "ArrowRight"], show: "← →", command: "move", help: "Move the token cursor" },
  { group: "Move and select", keys: ["ArrowUp", "ArrowDown"], show: "↑ ↓", command: "moveLine", help: "Move the cursor a line up or down" },
  { group: "Move and select", keys: ["Home", "End"], show: "Home End", command: "moveEdge", help: "First or last token" },
  { group: "Move and select", keys: ["Shift+ArrowLeft", "Shift+ArrowRight", "Shift+ArrowUp", "Shift+ArrowDown", "Shift+Home", "Shift+End"], show: "Shift + arrows", command: "extend", help: "Extend the selection token by token (the mouse works too: drag, or double-click a word)" },
  { group: "Move and select", keys: [" "], show: "Space", command: "pickAtCursor", help: "Select the span or suggestion under the cursor (again: the next one there)" },
  { group: "Move and select", keys: ["]", "["], show: "] [", command: "pickNext", help: "Select the next / previous span or suggestion" },
  { group: "Move and select", keys: ["Escape"], show: "Esc", command: "escape", help: "Cancel: close a dialog, leave relation mode, clear the selection" },
  { group: "Spans", keys: [], show: "label key", command: null, help: "Label the selection (or the token under the cursor); with a span selected, change its label" },
  { group: "Spans", keys: ["Delete", "Backspace"], show: "Delete ⌫", command: "delete", help: "Delete the selected span or relation; reject the selected suggestion" },
  { group: "Relations", keys: ["r"], show: "r", command: "relation", help: "From the selected span, start a relation: then click the tail span (or ] [ and Enter), then pick the relation label (its number or key)" },
  { group: "Relations", keys: [], show: "1–9", command: null, help: "With a relation selected (click its arc or label, or Tab to it): change its label; Delete removes it" },
  { group: "Suggestions", keys: ["a"], show: "a", command: "accept", help: "Accept the selected suggestion (or the next one after the cursor)" },
  { group: "Suggestions", keys: ["x"], show: "x", command: "reject", help: "Reject the selected suggestion (or the next one after the cursor)" },
  { group: "Suggestions", keys: ["A"], show: "Shift + A", command: "acceptAll", help: "Accept all suggestions (those overlapping a span are left)" },
  { group: "History", keys: ["Ctrl+z", "Meta+z"], show: "Ctrl + Z", command: "undo", help: "Undo" },
  { group: "History", keys: ["Ctrl+Shift+z", "Ctrl+Shift+Z", "Meta+Shift+z", "Meta+Shift+Z", "Ctrl+y"], show: "Ctrl + Shift + Z", command: "redo", help: "Redo (Ctrl + Y too)" },
  { group: "Documents", keys: ["Enter"], show: "Enter", command: "submit", help: "Submit and go to the next document" },
  { group: "Documents", keys: ["s"], show: "s", command: "skip", help: "Skip: leave this document for later" },
  { group: "Documents", keys: ["b"], show: "b", command: "back", help: "Back to the previous document" },
  { group: "Help", keys: ["?"], show: "?", command: "help", help: "Show or hide this list" },
];

/** The key of a keyboard event as the table writes it: "Ctrl+Shift+z", "ArrowLeft", "a", "?". */
export function keyName(event) {
  const named = event.key.length > 1;
  const parts = [];
  if (event.ctrlKey) parts.push("Ctrl");
  if (event.metaKey) parts.push("Meta");
  if (event.altKey) parts.push("Alt");
  // Shift is part of a printable key already ("A", "?"); say it only for named keys and with Ctrl/Meta.
  if (event.shiftKey && (named || event.ctrlKey || event.metaKey)) parts.push("Shift");
  parts.push(named || event.ctrlKey || event.metaKey ? (named ? event.key : event.key.toLowerCase()) : event.key);
  return parts.join("+");
}

const byKey = new Map();
for (const entry of COMMANDS) for (const key of entry.keys) byKey.set(key, entry.command);

export function commandFor(name) {
  return byKey.get(name) || null;
}

/** The help overlay's content: commands by group, and the project's labels. */
export function helpHtml(entityLabels, relationLabels, escape) {
  const shortcuts = new Set([...entityLabels, ...relationLabels].map((l) => l.shortcut).filter(Boolean));
  const groups = new Map();
  for (const entry of COMMANDS) {
    if (!groups.has(entry.group)) groups.set(entry.group, []);
    groups.get(entry.group).push(entry);
  }
  let html = "";
  for (const [group, entries] of groups) {
    html += `<h3>${escape(group)}</h3><dl class="keys">`;
    for (const entry of entries) {
      const shadowed = entry.keys.filter((k) => shortcuts.has(k));
      const note = shadowed.length ? ` <em>(taken by a label's shortcut here: use the button)</em>` : "";
      html += `<dt><kbd>${escape(entry.show)}</kbd></dt><dd>${escape(entry.help)}${note}</dd>`;
    }
    html += "</dl>";
  }
  const labelRows = (labels, numbered) => labels.map((l, i) => {
    const keys = [l.shortcut, numbered ? String(i + 1) : ""].filter(Boolean).map((k) => `<kbd>${escape(k)}</kbd>`);
    return `<dt>${keys.join(" ") || "—"}</dt><dd>${escape(l.name)}</dd>`;
  }).join("");
  if (entityLabels.length) html += `<h3>Entity labels</h3><dl class="keys">${labelRows(entityLabels, false)}</dl>`;
  if (relationLabels.length) {
    html += `<h3>Relation labels (while choosing one)</h3><dl class="keys">${labelRows(relationLabels.slice(0, 9), true)}</dl>`;
  }
  return html;
}
