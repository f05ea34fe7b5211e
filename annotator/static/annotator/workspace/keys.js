// Every key the workspace understands, in one table (projects/static/projects/workspace_keys.json):
// the help overlay is drawn from it, so what `?` shows is what the keys do, and the server refuses
// a label shortcut that any entry uses (projects/shortcuts.py), so a label never hides a command.

import COMMANDS from "../../projects/workspace_keys.json" with { type: "json" };

export { COMMANDS };

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
  const groups = new Map();
  for (const entry of COMMANDS) {
    if (!groups.has(entry.group)) groups.set(entry.group, []);
    groups.get(entry.group).push(entry);
  }
  let html = "";
  for (const [group, entries] of groups) {
    html += `<h3>${escape(group)}</h3><dl class="keys">`;
    for (const entry of entries) html += `<dt><kbd>${escape(entry.show)}</kbd></dt><dd>${escape(entry.help)}</dd>`;
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
