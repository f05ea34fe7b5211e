// The document, drawn unit by unit (see document.js), with spans, suggestions,
// the token cursor and the selection painted onto the unit elements.
//
// render() draws everything once; update() and setUi() repaint only the units
// whose look changed (an edit touches the units of the spans it adds or
// removes, never the whole document).

import { unitRange } from "./document.js";
import { assignLanes, spanKey } from "./state/annotation.js";
import { palette } from "./colors.js";

const SELECTION = "#424a53"; // dark, with white text: never mistaken for a label's tint
const NONE = Object.freeze([]);
const escapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => escapes[c]);

export class DocumentView {
  /** root: the element holding the text; labels: Map name -> {name, color}. */
  constructor(root, labels) {
    this.root = root;
    this.labels = labels;
    this.els = [];
    this.htmlCache = [];
    // Blocks the browser is drawing (content-visibility: auto tells when one comes near the screen).
    this.shown = new WeakSet();
    this.onBlockShown = null;
    this.tracksBlocks = typeof window.ContentVisibilityAutoStateChangeEvent === "function";
    root.addEventListener("contentvisibilityautostatechange", (event) => {
      if (event.skipped) this.shown.delete(event.target);
      else this.shown.add(event.target);
      if (!event.skipped && this.onBlockShown) this.onBlockShown();
    }, true);
  }

  /** Is unit k in a block the browser draws (near the screen)? Always, without content-visibility. */
  isShown(k) {
    return !this.tracksBlocks || this.shown.has(this.els[k].parentElement);
  }

  colorsOf(label) {
    const known = this.labels.get(label);
    return palette(known ? known.color : "#8c959f");
  }

  // Indices ----------------------------------------------------------------------------------

  indexSpans(spans) {
    this.spans = new Map();
    this.spanRanges = new Map();
    this.cover = new Array(this.doc.units.length);
    for (const span of spans) this.addToIndex(span);
    this.lanes = assignLanes(spans);
  }

  addToIndex(span) {
    const key = spanKey(span.id);
    const range = unitRange(this.doc, span.start, span.end);
    this.spans.set(key, span);
    if (!range) return;
    this.spanRanges.set(key, range);
    for (let k = range[0]; k <= range[1]; k++) (this.cover[k] ||= []).push(key);
  }

  removeFromIndex(key) {
    const range = this.spanRanges.get(key);
    this.spans.delete(key);
    this.spanRanges.delete(key);
    if (!range) return;
    for (let k = range[0]; k <= range[1]; k++) {
      const list = this.cover[k];
      const i = list ? list.indexOf(key) : -1;
      if (i >= 0) list.splice(i, 1);
    }
  }

  indexSuggestions(suggestions) {
    this.suggestions = new Map();
    this.sugRanges = new Map();
    this.sugCover = new Array(this.doc.units.length);
    for (const suggestion of suggestions) this.addSuggestion(suggestion);
  }

  addSuggestion(suggestion) {
    const range = unitRange(this.doc, suggestion.start, suggestion.end);
    this.suggestions.set(suggestion.id, suggestion);
    if (!range) return;
    this.sugRanges.set(suggestion.id, range);
    for (let k = range[0]; k <= range[1]; k++) (this.sugCover[k] ||= []).push(suggestion.id);
  }

  removeSuggestion(id) {
    const range = this.sugRanges.get(id);
    this.suggestions.delete(id);
    this.sugRanges.delete(id);
    if (!range) return;
    for (let k = range[0]; k <= range[1]; k++) {
      const list = this.sugCover[k];
      const i = list ? list.indexOf(id) : -1;
      if (i >= 0) list.splice(i, 1);
    }
  }

  // Queries ----------------------------------------------------------------------------------

  /** Keys of the spans covering unit k, innermost (shortest) first. */
  spansAt(k) {
    const keys = this.cover[k] || NONE;
    return [...keys].sort((a, b) => this.width(a) - this.width(b));
  }

  suggestionsAt(k) { return [...(this.sugCover[k] || NONE)]; }

  width(key) {
    const r = this.spanRanges.get(key);
    return r ? r[1] - r[0] : 0;
  }

  spanRange(key) { return this.spanRanges.get(spanKey(key)) || null; }
  suggestionRange(id) { return this.sugRanges.get(id) || null; }

  /** Spans and suggestions in document order, as [{type, id, range}]. */
  items() {
    const items = [];
    for (const [id, range] of this.spanRanges) items.push({ type: "span", id, range });
    for (const [id, range] of this.sugRanges) items.push({ type: "suggestion", id, range });
    return items.sort((a, b) => a.range[0] - b.range[0] || a.range[1] - b.range[1]
      || (a.type === b.type ? 0 : a.type === "span" ? -1 : 1));
  }

  unitFromElement(element) {
    const unit = element && element.closest ? element.closest(".u") : null;
    return unit && this.root.contains(unit) ? Number(unit.dataset.k) : -1;
  }

  // Painting ---------------------------------------------------------------------------------

  hasGapAfter(k) {
    const units = this.doc.units;
    return k + 1 < units.length && units[k].end < units[k + 1].start;
  }

  selected(k) {
    const sel = this.ui.selection;
    return sel !== null && sel[0] !== sel[1] && k >= sel[0] && k <= sel[1];
  }

  picked(type, id) {
    const p = this.ui.picked;
    return p !== null && p.type === type && p.id === id;
  }

  /** Class, inline style, tooltip and inner HTML of unit k. */
  paintSpec(k) {
    const unit = this.doc.units[k];
    const keys = this.cover[k] || NONE;
    let cls = "u";
    let background = "";
    let ink = "";
    const shadows = [];
    const titles = [];
    const chips = [];
    let lane0 = null;
    const under = [];
    for (const key of keys) {
      const span = this.spans.get(key);
      const lane = this.lanes.get(key) || 0;
      titles.push(span.label);
      if (lane === 0) lane0 = key; else under.push([lane, key]);
      if (this.spanRanges.get(key)[1] === k) chips.push([lane, key]);
      if (this.picked("span", key)) cls += " pk";
    }
    // "j" (join) stretches the unit over the whitespace after it, so a span reads as one piece.
    let join = false;
    if (this.selected(k)) {
      [background, ink] = [SELECTION, "#fff"];
      join = this.selected(k + 1);
    } else if (lane0 !== null) {
      const colors = this.colorsOf(this.spans.get(lane0).label);
      // A picked span shows the label's own colour, with the text colour that reads on it.
      if (this.picked("span", lane0)) [background, ink] = [colors.color, colors.text];
      else background = colors.tint;
      join = this.spanRanges.get(lane0)[1] > k;
    }
    under.sort((a, b) => a[0] - b[0]);
    for (const [lane, key] of under) {
      shadows.push(`inset 0 -${3 * lane}px 0 0 ${this.colorsOf(this.spans.get(key).label).ink}`);
      if (this.spanRanges.get(key)[1] > k) join = true;
    }
    let style = "";
    if (background) style += `background-color:${background};`;
    if (ink) style += `color:${ink};`;
    if (shadows.length) style += `box-shadow:${shadows.join(",")};`;

    const sids = this.sugCover[k] || NONE;
    const sugChips = [];
    if (sids.length) {
      const first = this.suggestions.get(sids[0]);
      const range = this.sugRanges.get(sids[0]);
      cls += " sg";
      if (range[0] === k) cls += " sgs";
      if (range[1] === k) cls += " sge";
      if (range[1] > k) join = true;
      if (sids.some((id) => this.picked("suggestion", id))) cls += " sgp";
      if (sids.every((id) => isLowScore(this.suggestions.get(id)))) cls += " sgl";
      style += `--sg:${this.colorsOf(first.label).ink};`;
      for (const id of sids) {
        const s = this.suggestions.get(id);
        titles.push(suggestionTitle(s));
        if (this.sugRanges.get(id)[1] === k) sugChips.push(s);
      }
    }
    if (k === this.ui.cursor && this.ui.picked === null) cls += " cur";
    if (join && this.hasGapAfter(k)) cls += " j";
    if (chips.length || sugChips.length) cls += " hc"; // its chips stay on its line (workspace.css)

    let html = escapeHtml(unit.text);
    if (chips.length) {
      chips.sort((a, b) => a[0] - b[0]);
      for (const [, key] of chips) {
        const span = this.spans.get(key);
        const colors = this.colorsOf(span.label);
        const picked = this.picked("span", key) ? " pk" : "";
        // The chip names the span for assistive technology: "PERSON: Maria Petrova". A click on it picks the span.
        const name = `${span.label}: ${this.doc.text.slice(span.start, span.end)}`;
        html += `<span class="chip${picked}" data-span="${escapeHtml(key)}" role="button" aria-label="${escapeHtml(name)}"`
          + ` style="--c:${colors.color};--t:${colors.text}">${escapeHtml(span.label)}</span>`;
      }
    }
    for (const s of sugChips) html += suggestionChip(s, this.doc.text.slice(s.start, s.end), this.picked("suggestion", s.id));
    return { cls, style, title: titles.join("\n"), html };
  }

  unitHtml(k) {
    const p = this.paintSpec(k);
    this.htmlCache[k] = p.html;
    const title = p.title ? ` title="${escapeHtml(p.title)}"` : "";
    const style = p.style ? ` style="${p.style}"` : "";
    return `<span class="${p.cls}" data-k="${k}"${style}${title}>${p.html}</span>`;
  }

  paint(k) {
    const el = this.els[k];
    if (!el) return;
    const p = this.paintSpec(k);
    if (el.className !== p.cls) el.className = p.cls;
    el.style.cssText = p.style;
    if (p.title) el.title = p.title; else el.removeAttribute("title");
    if (this.htmlCache[k] !== p.html) {
      el.innerHTML = p.html;
      this.htmlCache[k] = p.html;
    }
  }

  // Drawing ----------------------------------------------------------------------------------

  /**
   * Draw the whole document. ui = {cursor, selection: [a, b] | null, picked: {type, id} | null}.
   *
   * The text goes into blocks: one per paragraph (a newline), and long
   * paragraphs split after a sentence (as brat shows sentences). The browser
   * lays out each block on its own, so an edit re-flows one block, not the
   * whole document.
   */
  render(doc, state, suggestions, ui) {
    this.doc = doc;
    this.ui = ui;
    this.state = state;
    this.visible = suggestions;
    this.htmlCache = new Array(doc.units.length);
    this.indexSpans(state.spans);
    this.indexSuggestions(suggestions);
    const parts = [];
    const text = doc.text;
    const units = doc.units;
    // Until a block is drawn its height is a guess from its length: characters per line from the width.
    const style = getComputedStyle(this.root);
    const fontSize = parseFloat(style.fontSize) || 16;
    const lineHeight = parseFloat(style.lineHeight) || fontSize * 2;
    const perLine = Math.max(20, this.root.clientWidth / (fontSize * 0.5));
    const open = (from) => {
      parts.push("");
      return { slot: parts.length - 1, from };
    };
    const close = (block, to) => {
      const lines = Math.max(1, Math.ceil((to - block.from) / perLine));
      parts[block.slot] = `<div class="blk" style="contain-intrinsic-size:auto ${Math.round(lines * lineHeight)}px">`;
      parts.push("</div>");
    };
    let block = open(0);
    let position = 0;
    let inBlock = 0;
    for (let k = 0; k < units.length; k++) {
      const unit = units[k];
      if (unit.start > position) parts.push(escapeHtml(text.slice(position, unit.start)));
      parts.push(this.unitHtml(k));
      position = unit.end;
      inBlock++;
      const next = k + 1 < units.length ? units[k + 1].start : text.length;
      if (k + 1 < units.length && endsBlock(text, unit, next, inBlock)) {
        parts.push(escapeHtml(text.slice(position, next)));
        close(block, next);
        block = open(next);
        position = next;
        inBlock = 0;
      }
    }
    if (position < text.length) parts.push(escapeHtml(text.slice(position)));
    close(block, text.length);
    this.root.innerHTML = parts.join("");
    this.els = Array.from(this.root.querySelectorAll(".u"));
  }

  /** Repaint what changed between the drawn state and `state`; returns the repainted unit indices. */
  update(state, suggestions) {
    const dirty = new Set();
    const mark = (range) => { if (range) for (let k = range[0]; k <= range[1]; k++) dirty.add(k); };

    const before = new Map(this.state.spans.map((s) => [spanKey(s.id), s]));
    const after = new Map(state.spans.map((s) => [spanKey(s.id), s]));
    for (const [key, span] of before) {
      const now = after.get(key);
      if (!now || now.start !== span.start || now.end !== span.end || now.label !== span.label) {
        mark(this.spanRanges.get(key));
        this.removeFromIndex(key);
      }
    }
    for (const [key, span] of after) {
      if (!this.spans.has(key)) {
        this.addToIndex(span);
        mark(this.spanRanges.get(key));
      } else {
        this.spans.set(key, span);
      }
    }
    const lanes = assignLanes(state.spans);
    for (const [key, lane] of lanes) {
      if ((this.lanes.get(key) ?? -1) !== lane) mark(this.spanRanges.get(key));
    }
    this.lanes = lanes;

    const wasVisible = new Set(this.visible.map((s) => s.id));
    const isVisible = new Set(suggestions.map((s) => s.id));
    for (const id of wasVisible) if (!isVisible.has(id)) { mark(this.sugRanges.get(id)); this.removeSuggestion(id); }
    for (const s of suggestions) if (!wasVisible.has(s.id)) { this.addSuggestion(s); mark(this.sugRanges.get(s.id)); }

    this.state = state;
    this.visible = suggestions;
    for (const k of dirty) this.paint(k);
    return dirty;
  }

  /** Show a new cursor, selection or picked item, repainting only the units involved. */
  setUi(ui) {
    const old = this.ui;
    this.ui = ui;
    const dirty = new Set([old.cursor, ui.cursor]);
    const selectionUnits = (sel) => (sel && sel[0] !== sel[1] ? sel : null);
    const a = selectionUnits(old.selection);
    const b = selectionUnits(ui.selection);
    if (String(a) !== String(b)) {
      const inA = (k) => a !== null && k >= a[0] && k <= a[1];
      const inB = (k) => b !== null && k >= b[0] && k <= b[1];
      const lo = Math.min(a ? a[0] : Infinity, b ? b[0] : Infinity);
      const hi = Math.max(a ? a[1] : -Infinity, b ? b[1] : -Infinity);
      for (let k = lo; k <= hi; k++) {
        if (inA(k) !== inB(k)) { dirty.add(k); dirty.add(k - 1); }
      }
      for (const r of [a, b]) if (r) { dirty.add(r[0]); dirty.add(r[1]); dirty.add(r[0] - 1); }
    }
    const pickedRange = (p) => (p === null ? null
      : p.type === "span" ? this.spanRanges.get(p.id) : p.type === "suggestion" ? this.sugRanges.get(p.id) : null);
    if (JSON.stringify(old.picked) !== JSON.stringify(ui.picked)) {
      for (const r of [pickedRange(old.picked), pickedRange(ui.picked)]) {
        if (r) for (let k = r[0]; k <= r[1]; k++) dirty.add(k);
      }
    }
    for (const k of dirty) if (k >= 0 && k < this.els.length) this.paint(k);
  }
}

const BLOCK_AT_SENTENCE = 120; // units in a block before a sentence end may close it
const BLOCK_MAX = 400;         // units in a block before any whitespace closes it
const SENTENCE_END = /[.!?…。！？]["'”’)\]»]*$/u;

/** Does the block end after `unit`, whose following whitespace runs to `next`? */
function endsBlock(text, unit, next, inBlock) {
  if (next === unit.end) return false;
  const gap = text.slice(unit.end, next);
  if (gap.includes("\n")) return true;
  if (inBlock >= BLOCK_AT_SENTENCE && SENTENCE_END.test(unit.text)) return true;
  return inBlock >= BLOCK_MAX;
}

/** Below this a model's suggestion is drawn faint: more likely wrong than right. */
export const LOW_SCORE = 0.5;

function isLowScore(s) { return s.score !== null && s.score !== undefined && s.score < LOW_SCORE; }

function suggestionTitle(s) {
  const model = [s.model, s.modelVersion].filter(Boolean).join(" ");
  const score = s.score === null || s.score === undefined ? "" : ` (score ${Number(s.score).toFixed(2)})`;
  return `Suggested ${s.label} by ${model || "a model"}${score}. a accepts, x rejects.`;
}

function suggestionChip(s, text, picked) {
  const id = escapeHtml(s.id);
  const label = escapeHtml(s.label);
  const quoted = escapeHtml(text);
  const who = s.who ? ` <span class="sgw">${escapeHtml(s.who)}</span>` : "";
  const score = s.score === null || s.score === undefined ? "" : ` data-score="${Number(s.score).toFixed(2)}"`;
  // A group named like a span ("Suggested PERSON: Maria Petrova"), holding its accept and reject buttons.
  const name = `Suggested ${s.label}: ${text}${s.who ? ` by ${s.who}` : ""}`;
  return `<span class="chip sgc${picked ? " pk" : ""}${isLowScore(s) ? " sgl" : ""}" data-sug="${id}"${score}`
    + ` role="group" aria-label="${escapeHtml(name)}" title="${escapeHtml(suggestionTitle(s))}">`
    + `${label}${who}<button type="button" class="sgb" data-accept="${id}" aria-label="Accept ${label} suggestion “${quoted}”">✓</button>`
    + `<button type="button" class="sgb" data-reject="${id}" aria-label="Reject ${label} suggestion “${quoted}”">✕</button></span>`;
}
