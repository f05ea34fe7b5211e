// Relation arcs, drawn in an SVG layer over the text like brat and displaCy:
// from the top of the head span up, across, and down onto the tail span with an
// arrowhead, the label at the top. An arc whose ends are on different lines is
// drawn in two halves, each running to the edge of the text on its line.
// Everything is recomputed from the unit elements' positions, so a window
// resize (ResizeObserver in workspace.js) or a reflow after an edit only needs
// draw() again.

import { relationKey, spanKey } from "./state/annotation.js";
import { palette } from "./colors.js";
import { escapeHtml } from "./render.js";

const SVG = "http://www.w3.org/2000/svg";
const LEVEL = 13;      // px between stacked arcs on one line
const BASE = 11;       // px from the text to the lowest arc
const RADIUS = 5;
const FONT = "600 11px system-ui, -apple-system, 'Segoe UI', sans-serif";

let measure = null;
function textWidth(text) {
  measure ||= document.createElement("canvas").getContext("2d");
  measure.font = FONT;
  return measure.measureText(text).width;
}

export class ArcLayer {
  /** svg: the overlay; wrap: its positioned parent; view: the DocumentView; onPick(key) on click/focus. */
  constructor(svg, wrap, view, labels, onPick) {
    this.svg = svg;
    this.wrap = wrap;
    this.view = view;
    this.labels = labels;
    this.onPick = onPick;
    this.levels = 0;
    svg.addEventListener("click", (event) => {
      const arc = event.target.closest("[data-rel]");
      if (arc) { event.stopPropagation(); onPick(arc.dataset.rel); }
    });
    svg.addEventListener("focusin", (event) => {
      const arc = event.target.closest("[data-rel]");
      if (arc) onPick(arc.dataset.rel, { fromFocus: true });
    });
  }

  /** Where a span's arcs attach: the top middle of its first line, relative to the wrap. */
  anchor(key, origin) {
    const range = this.view.spanRange(key);
    if (!range) return null;
    const first = this.view.els[range[0]].getBoundingClientRect();
    const last = this.view.els[range[1]].getBoundingClientRect();
    const right = Math.abs(last.top - first.top) < 2 ? last.right : first.right;
    return { x: (first.left + right) / 2 - origin.left, y: first.top - origin.top, line: Math.round(first.top) };
  }

  /** Draw `relations`; `picked` is the key of the selected relation. Returns the deepest level used. */
  draw(relations, picked, names) {
    const origin = this.wrap.getBoundingClientRect();
    const width = this.wrap.clientWidth;
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", this.wrap.scrollHeight);
    const arcs = [];
    for (const relation of relations) {
      // Relations wholly in blocks off screen are drawn when a block comes into view (no layout forced here).
      const ends = [this.view.spanRange(relation.head), this.view.spanRange(relation.tail)];
      if (!ends.every(Boolean) || !ends.some((range) => this.view.isShown(range[0]))) continue;
      const head = this.anchor(spanKey(relation.head), origin);
      const tail = this.anchor(spanKey(relation.tail), origin);
      if (head && tail) arcs.push({ relation, head, tail, key: relationKey(relation) });
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
      const { head, tail, relation } = arc;
      const colors = palette((this.labels.get(relation.label) || {}).color);
      const label = relation.label;
      const labelWidth = textWidth(label) + 8;
      const sameLine = head.line === tail.line;
      const pieces = [];
      if (sameLine) {
        const from = Math.min(head.x, tail.x) - labelWidth / 2;
        const to = Math.max(head.x, tail.x) + labelWidth / 2;
        const level = place(head.line, from, to);
        deepest = Math.max(deepest, level);
        const y = head.y - BASE - (level - 1) * LEVEL;
        pieces.push({ path: bracket(head.x, head.y, tail.x, tail.y, y), lx: (head.x + tail.x) / 2, ly: y });
      } else {
        const forward = tail.line > head.line;
        const edgeOut = forward ? width - 2 : 2;
        const edgeIn = forward ? 2 : width - 2;
        const levelOut = place(head.line, Math.min(head.x, edgeOut), Math.max(head.x, edgeOut));
        const levelIn = place(tail.line, Math.min(tail.x, edgeIn), Math.max(tail.x, edgeIn));
        deepest = Math.max(deepest, levelOut, levelIn);
        const yOut = head.y - BASE - (levelOut - 1) * LEVEL;
        const yIn = tail.y - BASE - (levelIn - 1) * LEVEL;
        pieces.push({ path: halfOut(head.x, head.y, edgeOut, yOut), lx: (head.x + edgeOut) / 2, ly: yOut });
        pieces.push({ path: halfIn(edgeIn, yIn, tail.x, tail.y), lx: (edgeIn + tail.x) / 2, ly: yIn });
      }
      const isPicked = arc.key === picked;
      const headText = names(relation.head);
      const tailText = names(relation.tail);
      let g = `<g class="arc${isPicked ? " picked" : ""}" data-rel="${escapeHtml(arc.key)}" tabindex="0" role="button"`
        + ` aria-label="Relation ${escapeHtml(label)} from ${escapeHtml(headText)} to ${escapeHtml(tailText)}"`
        + ` style="--arc:${colors.ink}">`;
      for (const piece of pieces) {
        g += `<path class="hit" d="${piece.path}"/><path class="line" d="${piece.path}"/>`;
        g += `<rect class="tag" x="${piece.lx - labelWidth / 2}" y="${piece.ly - 7}" width="${labelWidth}" height="14" rx="3"/>`;
        g += `<text x="${piece.lx}" y="${piece.ly + 4}" text-anchor="middle">${escapeHtml(label)}</text>`;
      }
      g += `<path class="head" d="M${tail.x - 4} ${tail.y - 6} L${tail.x} ${tail.y} L${tail.x + 4} ${tail.y - 6} Z"/>`;
      g += "</g>";
      parts.push(g);
    }
    const focused = this.svg.contains(document.activeElement) ? document.activeElement.dataset.rel : null;
    this.svg.innerHTML = parts.join("");
    if (focused) {
      const again = [...this.svg.querySelectorAll("[data-rel]")].find((el) => el.dataset.rel === focused);
      if (again) again.focus({ preventScroll: true });
    }
    this.levels = deepest;
    return deepest;
  }
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
