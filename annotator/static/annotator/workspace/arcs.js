// Relation arcs, drawn in an SVG layer over the text like brat and displaCy:
// from the top of the head span up, across, and down onto the tail span with an
// arrowhead, the label at the top. An arc whose ends are on different lines is
// drawn in two halves, each running to the edge of the text on its line.
// Relation suggestions (the review page: what one annotator drew) are dashed,
// say who drew them on their tag, and carry ✓ / ✕ buttons.
// Everything is recomputed from the unit elements' positions, so a window
// resize (ResizeObserver in workspace.js) or a reflow after an edit only needs
// draw() again.

import { palette } from "./colors.js";
import { escapeHtml } from "./render.js";

const SVG = "http://www.w3.org/2000/svg";
const LEVEL = 13;      // px between stacked arcs on one line
const BASE = 11;       // px from the text to the lowest arc
const RADIUS = 5;
const BUTTON = 14;     // px: the width of a suggestion's ✓ and ✕ on its tag
const FONT = "600 11px system-ui, -apple-system, 'Segoe UI', sans-serif";

let measure = null;
function textWidth(text) {
  measure ||= document.createElement("canvas").getContext("2d");
  measure.font = FONT;
  return measure.measureText(text).width;
}

export class ArcLayer {
  /**
   * svg: the overlay; wrap: its positioned parent; view: the DocumentView; labels: Map name -> label;
   * on: { pick({type, id}, {fromFocus}) on click or focus, accept(id) and reject(id) on a suggestion's ✓ / ✕ }.
   */
  constructor(svg, wrap, view, labels, on) {
    this.svg = svg;
    this.wrap = wrap;
    this.view = view;
    this.labels = labels;
    this.levels = 0;
    svg.addEventListener("click", (event) => {
      const button = event.target.closest("[data-arc-accept], [data-arc-reject]");
      if (button) {
        event.stopPropagation();
        if (button.dataset.arcAccept) on.accept(button.dataset.arcAccept); else on.reject(button.dataset.arcReject);
        return;
      }
      const arc = event.target.closest("[data-rel]");
      if (arc) { event.stopPropagation(); on.pick(arcOf(arc)); }
    });
    svg.addEventListener("focusin", (event) => {
      const arc = event.target.closest("[data-rel]");
      if (arc) on.pick(arcOf(arc), { fromFocus: true });
    });
  }

  /**
   * Where an arc attaches to `target` (a unit range, or a span's key): the top middle of its first
   * line, relative to the wrap.
   */
  anchor(target, origin) {
    const range = Array.isArray(target) ? target : this.view.spanRange(target);
    if (!range) return null;
    const first = this.view.els[range[0]].getBoundingClientRect();
    const last = this.view.els[range[1]].getBoundingClientRect();
    // The line is told by a unit's middle: a suggestion's dashed border makes its box taller than a span's.
    const middle = (box) => (box.top + box.bottom) / 2;
    const right = Math.abs(middle(last) - middle(first)) < 4 ? last.right : first.right;
    return { x: (first.left + right) / 2 - origin.left, y: first.top - origin.top, middle: middle(first) };
  }

  /**
   * Draw `items`: [{type: "relation" | "relationSuggestion", id, label, head, tail, who?}], head and tail
   * being unit ranges; `picked` the selected {type, id} or null; names(item) -> {head, tail} texts for
   * the tooltips. Returns the deepest level used.
   */
  draw(items, picked, names) {
    const origin = this.wrap.getBoundingClientRect();
    const width = this.wrap.clientWidth;
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", this.wrap.scrollHeight);
    const arcs = [];
    const lines = []; // the middles of the lines seen, top to bottom as found; an anchor's line is the one within 4px
    const lineOf = (anchor) => {
      let line = lines.findIndex((m) => Math.abs(m - anchor.middle) < 4);
      if (line < 0) { line = lines.length; lines.push(anchor.middle); }
      anchor.line = line;
      anchor.order = anchor.middle;
      return anchor;
    };
    for (const item of items) {
      // Relations wholly in blocks off screen are drawn when a block comes into view (no layout forced here).
      const ends = [item.head, item.tail];
      if (!ends.every(Boolean) || !ends.some((range) => this.view.isShown(range[0]))) continue;
      const head = this.anchor(item.head, origin);
      const tail = this.anchor(item.tail, origin);
      if (head && tail) arcs.push({ item, head: lineOf(head), tail: lineOf(tail) });
    }
    // Arcs on a line rise from its highest box top (a suggestion's border sits a little above a span's).
    const tops = new Map();
    for (const { head, tail } of arcs) {
      for (const end of [head, tail]) tops.set(end.line, Math.min(tops.get(end.line) ?? Infinity, end.y));
    }
    // Stack arcs on each line: narrower arcs lower, wider ones above those they span.
    const placed = new Map(); // line -> [{from, to, level}]
    const place = (line, from, to) => {
      const list = placed.get(line) || [];
      let level = 1;
      for (const other of list) if (other.from < to && from < other.to) level = Math.max(level, other.level + 1);
      list.push({ from, to, level });
      placed.set(line, list);
      return level;
    };
    arcs.sort((a, b) => Math.abs(a.head.x - a.tail.x) - Math.abs(b.head.x - b.tail.x));
    let deepest = 0;
    const parts = [];
    for (const arc of arcs) {
      const { head, tail, item } = arc;
      const colors = palette((this.labels.get(item.label) || {}).color);
      const label = item.label;
      const suggested = item.type === "relationSuggestion";
      const tagText = suggested && item.who ? `${label} · ${item.who}` : label;
      const textW = textWidth(tagText) + 8;
      const labelWidth = textW + (suggested ? 2 * BUTTON : 0);
      const sameLine = head.line === tail.line;
      const pieces = [];
      if (sameLine) {
        const from = Math.min(head.x, tail.x) - labelWidth / 2;
        const to = Math.max(head.x, tail.x) + labelWidth / 2;
        const level = place(head.line, from, to);
        deepest = Math.max(deepest, level);
        const y = tops.get(head.line) - BASE - (level - 1) * LEVEL;
        pieces.push({ path: bracket(head.x, head.y, tail.x, tail.y, y), lx: (head.x + tail.x) / 2, ly: y });
      } else {
        const forward = tail.order > head.order;
        const edgeOut = forward ? width - 2 : 2;
        const edgeIn = forward ? 2 : width - 2;
        const levelOut = place(head.line, Math.min(head.x, edgeOut), Math.max(head.x, edgeOut));
        const levelIn = place(tail.line, Math.min(tail.x, edgeIn), Math.max(tail.x, edgeIn));
        deepest = Math.max(deepest, levelOut, levelIn);
        const yOut = tops.get(head.line) - BASE - (levelOut - 1) * LEVEL;
        const yIn = tops.get(tail.line) - BASE - (levelIn - 1) * LEVEL;
        pieces.push({ path: halfOut(head.x, head.y, edgeOut, yOut), lx: (head.x + edgeOut) / 2, ly: yOut });
        pieces.push({ path: halfIn(edgeIn, yIn, tail.x, tail.y), lx: (edgeIn + tail.x) / 2, ly: yIn });
      }
      const isPicked = picked !== null && picked.type === item.type && picked.id === item.id;
      const text = names(item);
      // Its accessible name, like a span's chip: "located_in: “aspirin” → “headache”".
      const relation = `${label}: ${text.head} → ${text.tail}`;
      const what = suggested
        ? `Suggested relation ${label} by ${item.who || "someone"}: ${text.head} → ${text.tail}.`
          + " a accepts, x rejects."
        : relation;
      const classes = `${suggested ? " sug" : ""}${isPicked ? " picked" : ""}`;
      let g = `<g class="arc${classes}" data-rel="${escapeHtml(item.id)}"`
        + ` data-type="${item.type}" tabindex="0" role="button" aria-label="${escapeHtml(what)}"`
        + ` style="--arc:${colors.ink}">`;
      if (suggested) g += `<title>${escapeHtml(what)}</title>`;
      // A suggestion's ✓ and ✕ sit on its tag but outside the arc's group: a button holds no other button.
      let buttons = "";
      for (const [n, piece] of pieces.entries()) {
        const left = piece.lx - labelWidth / 2;
        g += `<path class="hit" d="${piece.path}"/><path class="line" d="${piece.path}"/>`;
        g += `<rect class="tag" x="${left}" y="${piece.ly - 7}" width="${labelWidth}" height="14" rx="3"/>`;
        g += `<text x="${left + textW / 2}" y="${piece.ly + 4}" text-anchor="middle">${escapeHtml(tagText)}</text>`;
        if (suggested) {
          const id = escapeHtml(item.id);
          for (const [i, [kind, glyph, verb]] of [["accept", "✓", "Accept"], ["reject", "✕", "Reject"]].entries()) {
            const x = left + textW + i * BUTTON;
            // An arc in two halves has them on both tags: the second pair is the mouse's alone.
            const named = n === 0 ? `role="button" aria-label="${escapeHtml(`${verb} relation ${relation}`)}"`
              : `aria-hidden="true"`;
            buttons += `<g class="arc-button" data-arc-${kind}="${id}" ${named}>`
              + `<rect x="${x}" y="${piece.ly - 7}" width="${BUTTON}" height="14"/>`
              + `<text x="${x + BUTTON / 2}" y="${piece.ly + 4}" text-anchor="middle">${glyph}</text></g>`;
          }
        }
      }
      g += `<path class="head" d="M${tail.x - 4} ${tail.y - 6} L${tail.x} ${tail.y} L${tail.x + 4} ${tail.y - 6} Z"/>`;
      g += "</g>";
      if (buttons) g += `<g class="arc-tools${classes}" style="--arc:${colors.ink}">${buttons}</g>`;
      parts.push({ at: Math.min(item.head[0], item.tail[0]), to: Math.max(item.head[0], item.tail[0]), g });
    }
    const active = this.svg.contains(document.activeElement) ? document.activeElement.closest("[data-rel]") : null;
    const focused = active ? active.dataset.rel : null;
    // In reading order (by the earlier end, then the later), which is the order Tab visits them in.
    parts.sort((a, b) => a.at - b.at || a.to - b.to);
    this.svg.innerHTML = parts.map((part) => part.g).join("");
    if (focused) {
      const again = [...this.svg.querySelectorAll("[data-rel]")].find((el) => el.dataset.rel === focused);
      if (again) again.focus({ preventScroll: true });
    }
    this.levels = deepest;
    return deepest;
  }
}

/** What an arc element stands for: {type, id}. */
function arcOf(arc) {
  return { type: arc.dataset.type, id: arc.dataset.rel };
}

function bracket(x1, y1, x2, y2, top) {
  const r = Math.min(RADIUS, Math.abs(x2 - x1) / 2);
  const dir = x2 >= x1 ? 1 : -1;
  return `M${x1} ${y1} L${x1} ${top + r} Q${x1} ${top} ${x1 + dir * r} ${top}`
    + ` L${x2 - dir * r} ${top} Q${x2} ${top} ${x2} ${top + r} L${x2} ${y2}`;
}

function halfOut(x1, y1, edge, top) {
  const dir = edge >= x1 ? 1 : -1;
  return `M${x1} ${y1} L${x1} ${top + RADIUS} Q${x1} ${top} ${x1 + dir * RADIUS} ${top} L${edge} ${top}`;
}

function halfIn(edge, top, x2, y2) {
  const dir = x2 >= edge ? 1 : -1;
  return `M${edge} ${top} L${x2 - dir * RADIUS} ${top} Q${x2} ${top} ${x2} ${top + RADIUS} L${x2} ${y2}`;
}
