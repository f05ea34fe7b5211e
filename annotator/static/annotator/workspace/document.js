// A document as the page holds it: text, UTF-16 offsets, and "units".
//
// A unit is what the annotator selects: one spaCy token, or several adjacent
// tokens that draw as a single character (spaCy splits "🇷🇺" and
// "👩‍👩‍👧" into pieces; half a flag is not something anyone can select).
// Whitespace tokens are never units: spans cannot start or end on them.
//
// fromApi() converts what the API sends (code points) and toApiAnnotation()
// what it receives; nothing else in the page sees a code point offset.

import { offsetMaps } from "./offsets.js";

// Made on first use: building one loads the browser's break rules, tens of milliseconds that a page of Latin text
// never needs, and that would otherwise delay every page's first text.
let segmenter;
function graphemes() {
  if (segmenter === undefined) {
    segmenter = typeof Intl !== "undefined" && Intl.Segmenter
      ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  }
  return segmenter;
}

/**
 * Build the page's document from /next/'s bundle (or the same pieces fetched one by one).
 * `relation_suggestions` (the review page only: what annotators drew): [{id, head: {start, end, label},
 * tail: {...}, label, who}].
 */
export function fromApi({ document, tokens, annotation, suggestions, relation_suggestions: relationSuggestions }) {
  const text = document.text;
  const maps = offsetMaps(text);
  const u16 = (offset) => maps.toUtf16(offset);
  const toks = tokens.map((t) => ({ start: u16(t.start), end: u16(t.end), ws: t.ws }));
  const units = buildUnits(text, toks);
  return {
    id: document.id,
    text,
    meta: document.meta || {},
    maps,
    units,
    unitStarts: Int32Array.from(units, (u) => u.start),
    annotation: annotationFromApi(annotation, maps),
    suggestions: (suggestions || []).map((s, i) => ({
      id: String(s.id ?? `s${i}`),
      serverId: s.id ?? null,
      start: u16(s.start),
      end: u16(s.end),
      label: s.label,
      model: s.model || "",
      modelVersion: s.model_version || "",
      score: s.score ?? null,
      who: s.who || "", // the review page: the annotators who said it
    })),
    relationSuggestions: (relationSuggestions || []).map((r) => ({
      id: String(r.id),
      head: { start: u16(r.head.start), end: u16(r.head.end), label: r.head.label },
      tail: { start: u16(r.tail.start), end: u16(r.tail.end), label: r.tail.label },
      label: r.label,
      who: r.who || "",
    })),
  };
}

/** The stored annotation (API shape) in page offsets. */
export function annotationFromApi(annotation, maps) {
  return {
    spans: (annotation.spans || []).map((s) => ({
      id: s.id, start: maps.toUtf16(s.start), end: maps.toUtf16(s.end), label: s.label,
    })),
    relations: (annotation.relations || []).map((r) => ({ head: r.head, tail: r.tail, label: r.label })),
    status: annotation.status || "in_progress",
    version: annotation.version || 0,
  };
}

/** The PUT body for the annotation endpoint, in code points. */
export function toApiAnnotation(doc, state, status, version) {
  const cp = (offset) => doc.maps.toCodePoint(offset);
  return {
    spans: state.spans.map((s) => ({ id: s.id, start: cp(s.start), end: cp(s.end), label: s.label })),
    relations: state.relations.map((r) => ({ head: r.head, tail: r.tail, label: r.label })),
    status,
    version,
  };
}

function isSpaceToken(text, token) {
  return text.slice(token.start, token.end).trim() === "";
}

/** Group non-whitespace tokens into units; adjacent tokens join when the boundary splits a grapheme. */
export function buildUnits(text, tokens) {
  const units = [];
  let current = null;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (isSpaceToken(text, token)) { current = null; continue; }
    if (current && current.end === token.start && !isGraphemeBoundary(text, current.start, token.start, token.end)) {
      current.end = token.end;
      current.last = i;
      continue;
    }
    current = { start: token.start, end: token.end, first: i, last: i };
    units.push(current);
  }
  for (const unit of units) unit.text = text.slice(unit.start, unit.end);
  return units;
}

// Characters no grapheme cluster joins to a neighbour of the same kind (UAX #29: Grapheme_Cluster_Break "Other"):
// Latin, Greek, Cyrillic... up to the combining marks, and General Punctuation (’ “ ” – — …) but for its zero-width
// and format characters (U+200B-200F, U+2028-202F, U+205F-206F).
const plain = (c) => c < 0x300 || (c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205e);

function isGraphemeBoundary(text, from, at, to) {
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  // Between two of them (the common case: "Assad’s"): always a boundary, no segmenter needed.
  if (plain(before) && plain(after)) return true;
  if (!graphemes()) return true;
  for (const segment of graphemes().segment(text.slice(from, to))) {
    const offset = from + segment.index;
    if (offset === at) return true;
    if (offset > at) return false;
  }
  return false;
}

/** Index of the unit containing UTF-16 offset `offset` (the last unit starting at or before it), or -1. */
export function unitAt(doc, offset) {
  const starts = doc.unitStarts;
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] <= offset) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
  }
  return found;
}

/** [first, last] unit indices a span (UTF-16 start/end) covers, or null if it covers none. */
export function unitRange(doc, start, end) {
  const a = Math.max(0, unitAt(doc, start));
  const b = unitAt(doc, end - 1);
  if (b < a || a >= doc.units.length) return null;
  return [a, b];
}
