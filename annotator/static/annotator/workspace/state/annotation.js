// The annotation as an immutable value, and the edits on it.
//
// state = { spans: [{id, start, end, label}], relations: [{head, tail, label}], rejected: [suggestion id] }
// Offsets are UTF-16 (page side), end exclusive. Span ids are the client's
// (integers for new spans; whatever the server echoed for stored ones).
// Every edit returns a new state and never changes its input.

export function makeState({ spans = [], relations = [], rejected = [] } = {}) {
  return freeze({ spans: sortSpans(spans), relations: [...relations], rejected: [...rejected].sort() });
}

function freeze(state) {
  Object.freeze(state.spans);
  Object.freeze(state.relations);
  Object.freeze(state.rejected);
  return Object.freeze(state);
}

function sortSpans(spans) {
  return [...spans].sort((a, b) => a.start - b.start || a.end - b.end || String(a.id).localeCompare(String(b.id)));
}

export const spanKey = (id) => String(id);
export const relationKey = (r) => JSON.stringify([spanKey(r.head), spanKey(r.tail), r.label]);

export function findSpan(state, id) {
  const key = spanKey(id);
  return state.spans.find((s) => spanKey(s.id) === key) || null;
}

export function overlaps(a, b) {
  return a.start < b.end && b.start < a.end;
}

function nextSpanId(state) {
  let max = 0;
  for (const span of state.spans) {
    if (typeof span.id === "number" && span.id > max) max = span.id;
    else if (typeof span.id === "string" && /^\d+$/.test(span.id)) max = Math.max(max, Number(span.id));
  }
  return max + 1;
}

/**
 * Add a span. Where overlaps are not allowed, spans it overlaps are replaced
 * (with their relations). An identical span (offsets and label) is not added twice.
 * Returns { state, span, removed: [spans] }.
 */
export function addSpan(state, { start, end, label }, { allowOverlap }) {
  const same = state.spans.find((s) => s.start === start && s.end === end && s.label === label);
  if (same) return { state, span: same, removed: [] };
  const removed = allowOverlap ? [] : state.spans.filter((s) => overlaps(s, { start, end }));
  const span = Object.freeze({ id: nextSpanId(state), start, end, label });
  let next = state;
  if (removed.length) next = removeSpans(next, removed.map((s) => s.id));
  next = freeze({ ...next, spans: sortSpans([...next.spans, span]) });
  return { state: next, span, removed };
}

/** Remove spans by id, and the relations that name them. */
export function removeSpans(state, ids) {
  const gone = new Set(ids.map(spanKey));
  return freeze({
    ...state,
    spans: state.spans.filter((s) => !gone.has(spanKey(s.id))),
    relations: state.relations.filter((r) => !gone.has(spanKey(r.head)) && !gone.has(spanKey(r.tail))),
  });
}

export function relabelSpan(state, id, label) {
  const key = spanKey(id);
  const span = findSpan(state, id);
  if (!span || span.label === label) return state;
  // A span with the same offsets already has the new label: the two become one.
  const twin = state.spans.find((s) => spanKey(s.id) !== key && s.start === span.start && s.end === span.end
    && s.label === label);
  if (twin) return removeSpans(state, [id]);
  return freeze({
    ...state,
    spans: state.spans.map((s) => (spanKey(s.id) === key ? Object.freeze({ ...s, label }) : s)),
  });
}

export function addRelation(state, { head, tail, label }) {
  const relation = Object.freeze({ head, tail, label });
  if (spanKey(head) === spanKey(tail)) return { state, relation: null };
  const key = relationKey(relation);
  if (state.relations.some((r) => relationKey(r) === key)) return { state, relation: null };
  return { state: freeze({ ...state, relations: [...state.relations, relation] }), relation };
}

export function removeRelation(state, key) {
  return freeze({ ...state, relations: state.relations.filter((r) => relationKey(r) !== key) });
}

export function relabelRelation(state, key, label) {
  const relation = state.relations.find((r) => relationKey(r) === key);
  if (!relation || relation.label === label) return state;
  const moved = Object.freeze({ ...relation, label });
  if (state.relations.some((r) => relationKey(r) === relationKey(moved))) return removeRelation(state, key);
  return freeze({ ...state, relations: state.relations.map((r) => (relationKey(r) === key ? moved : r)) });
}

export function rejectSuggestions(state, ids) {
  const rejected = new Set(state.rejected);
  for (const id of ids) rejected.add(String(id));
  return freeze({ ...state, rejected: [...rejected].sort() });
}

/**
 * Suggestions to show (pending): not rejected, not already a span with the same offsets and label, and,
 * where overlaps are not allowed, not overlapping a span that is no suggestion: such a span is the
 * annotator's own decision on that text (it replaced the suggestion, or came after rejecting it). A
 * span that is another suggestion accepted leaves the suggestions it overlaps drawn, as alternatives
 * to switch to (accepting one replaces it; Shift + A leaves them).
 */
export function visibleSuggestions(state, suggestions, { allowOverlap = false } = {}) {
  if (!suggestions.length) return suggestions;
  const rejected = new Set(state.rejected);
  const taken = new Set(state.spans.map(spanSignature));
  let replaced = () => false;
  if (!allowOverlap) {
    const said = new Set(suggestions.map(spanSignature));
    const own = state.spans.filter((s) => !said.has(spanSignature(s))); // sorted by start
    if (own.length) {
      // reach[i]: the furthest end among own[0..i], so "some own span overlaps s" is one binary search.
      const reach = [];
      for (const span of own) reach.push(Math.max(span.end, reach.length ? reach[reach.length - 1] : -Infinity));
      replaced = (s) => {
        let lo = 0;
        let hi = own.length; // first own span starting at or after s.end
        while (lo < hi) { const mid = (lo + hi) >> 1; if (own[mid].start < s.end) lo = mid + 1; else hi = mid; }
        return lo > 0 && reach[lo - 1] > s.start;
      };
    }
  }
  return suggestions.filter((s) => !rejected.has(s.id) && !taken.has(spanSignature(s)) && !replaced(s));
}

/**
 * Accept suggestions as spans, in order. Where overlaps are not allowed, a
 * suggestion that overlaps a span is skipped when accepting several at once
 * (`keepExisting`), and replaces the span when accepting one.
 * Returns { state, accepted: [spans], skipped: [suggestions], removed: [spans] }.
 */
export function acceptSuggestions(state, suggestions, { allowOverlap, keepExisting }) {
  let next = state;
  const accepted = [];
  const skipped = [];
  const removed = [];
  for (const suggestion of suggestions) {
    if (!allowOverlap && keepExisting && next.spans.some((s) => overlaps(s, suggestion))) {
      skipped.push(suggestion);
      continue;
    }
    const result = addSpan(next, suggestion, { allowOverlap });
    next = result.state;
    accepted.push(result.span);
    removed.push(...result.removed);
  }
  return { state: next, accepted, skipped, removed };
}

// Relation suggestions ----------------------------------------------------------------------
//
// A relation suggestion names its ends by offsets and label, not by id (the spans it needs may
// not be in the state yet): { id, head: {start, end, label}, tail: {...}, label, who }.

const sameSpan = (a, b) => a.start === b.start && a.end === b.end && a.label === b.label;
const spanSignature = (s) => `${s.start}:${s.end}:${s.label}`;
const relationSignature = (head, tail, label) => `${spanSignature(head)}>${spanSignature(tail)}>${label}`;
const pairSignature = (head, tail) => `${spanSignature(head)}>${spanSignature(tail)}`;

/** Relation suggestions to show: not rejected, and not already a relation between spans like its ends. */
export function visibleRelationSuggestions(state, suggestions) {
  if (!suggestions.length) return suggestions;
  const rejected = new Set(state.rejected);
  const byId = new Map(state.spans.map((s) => [spanKey(s.id), s]));
  const taken = new Set();
  for (const r of state.relations) {
    const head = byId.get(spanKey(r.head));
    const tail = byId.get(spanKey(r.tail));
    if (head && tail) taken.add(relationSignature(head, tail, r.label));
  }
  return suggestions.filter((s) => !rejected.has(s.id) && !taken.has(relationSignature(s.head, s.tail, s.label)));
}

/**
 * Suggestions that clash with one another, so that accepting all would have to pick one at random: span
 * suggestions that overlap each other where overlaps are not allowed (or, where they are, have the same
 * offsets and another label), and relation suggestions between the same head and tail with another label.
 * Returns a Set of their ids.
 */
export function rivalSuggestions(spans, relations, { allowOverlap }) {
  const rivals = new Set();
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j].start < sorted[i].end; j++) {
      const a = sorted[i];
      const b = sorted[j];
      if (allowOverlap ? a.start === b.start && a.end === b.end && a.label !== b.label : overlaps(a, b)) {
        rivals.add(a.id);
        rivals.add(b.id);
      }
    }
  }
  const labels = new Map(); // head and tail -> {labels, ids}
  for (const r of relations) {
    const key = pairSignature(r.head, r.tail);
    const pair = labels.get(key) || { labels: new Set(), ids: [] };
    pair.labels.add(r.label);
    pair.ids.push(r.id);
    labels.set(key, pair);
  }
  for (const pair of labels.values()) if (pair.labels.size > 1) for (const id of pair.ids) rivals.add(id);
  return rivals;
}

/**
 * Accept relation suggestions, in order. Each needs its head and tail: a span in the state with the
 * same offsets and label, or (with `acceptSpans`) the span suggestion that is that span, accepted with
 * it unless it was rejected or overlaps a span where overlaps are not allowed. A relation between the
 * same two spans with another label clashes: with `keepExisting` the suggestion is left, else it
 * replaces that relation. `spanSuggestions`: all of them (rejected ones too, to say why).
 *
 * Returns { state, accepted: [relations], spans: [spans accepted for them], replaced: [relations],
 * skipped: [{suggestion, reason}] }, a reason being { code, end: "head" | "tail", span?, relation? } with
 * code "span_rejected" (its span suggestion was rejected), "span_left" (its span is a suggestion not
 * accepted), "span_overlaps" (`span`: the accepted span it overlaps), "span_missing" (no such span or
 * suggestion) or "label_clash" (`relation`: the accepted one with another label).
 */
export function acceptRelationSuggestions(state, suggestions, spanSuggestions,
  { allowOverlap, keepExisting, acceptSpans }) {
  let next = state;
  const accepted = [];
  const spans = [];
  const replaced = [];
  const skipped = [];
  const rejected = new Set(state.rejected);
  for (const suggestion of suggestions) {
    // For each end: the span in the state, or the span suggestion to accept, or why not.
    const ends = [];
    let reason = null;
    for (const end of ["head", "tail"]) {
      const want = suggestion[end];
      const span = next.spans.find((s) => sameSpan(s, want));
      if (span) { ends.push({ span }); continue; }
      const offered = spanSuggestions.find((s) => sameSpan(s, want));
      if (!offered) { reason = { code: "span_missing", end }; break; }
      if (rejected.has(offered.id)) { reason = { code: "span_rejected", end }; break; }
      if (!acceptSpans) { reason = { code: "span_left", end }; break; }
      const blocking = allowOverlap ? null : next.spans.find((s) => overlaps(s, want));
      if (blocking) { reason = { code: "span_overlaps", end, span: blocking }; break; }
      ends.push({ offered });
    }
    if (!reason && ends.every((e) => e.span)) {
      const [head, tail] = ends.map((e) => spanKey(e.span.id));
      const other = next.relations.find((r) => spanKey(r.head) === head && spanKey(r.tail) === tail
        && r.label !== suggestion.label);
      if (other && keepExisting) reason = { code: "label_clash", end: null, relation: other };
    }
    if (reason) { skipped.push({ suggestion, reason }); continue; }
    const ids = [];
    for (const end of ends) {
      if (end.span) { ids.push(end.span.id); continue; }
      const result = addSpan(next, end.offered, { allowOverlap });
      next = result.state;
      spans.push(result.span);
      ids.push(result.span.id);
    }
    const [head, tail] = ids.map(spanKey);
    for (const other of next.relations.filter((r) => spanKey(r.head) === head && spanKey(r.tail) === tail
      && r.label !== suggestion.label)) {
      next = removeRelation(next, relationKey(other));
      replaced.push(other);
    }
    const result = addRelation(next, { head: ids[0], tail: ids[1], label: suggestion.label });
    next = result.state;
    if (result.relation) accepted.push(result.relation);
  }
  return { state: next, accepted, spans, replaced, skipped };
}

/** Overlap lanes: 0 for spans that overlap nothing before them, then 1, 2... (greedy, in document order). */
export function assignLanes(spans) {
  const lanes = new Map();
  const laneEnds = []; // laneEnds[l] = end offset of the last span placed in lane l
  for (const span of spans) {
    let lane = laneEnds.findIndex((end) => end <= span.start);
    if (lane === -1) { lane = laneEnds.length; laneEnds.push(span.end); } else { laneEnds[lane] = span.end; }
    lanes.set(spanKey(span.id), lane);
  }
  return lanes;
}
