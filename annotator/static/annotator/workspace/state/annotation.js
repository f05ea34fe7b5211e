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

/** Suggestions to show: not rejected, and not already a span with the same offsets and label. */
export function visibleSuggestions(state, suggestions) {
  if (!suggestions.length) return suggestions;
  const rejected = new Set(state.rejected);
  const taken = new Set(state.spans.map((s) => `${s.start}:${s.end}:${s.label}`));
  return suggestions.filter((s) => !rejected.has(s.id) && !taken.has(`${s.start}:${s.end}:${s.label}`));
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
