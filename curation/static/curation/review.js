// The review page (curation/templates/curation/review.html): the annotation
// workspace, editing the gold annotation, with the annotators' work aligned
// over the text.
//
// - What every annotator said starts accepted (the gold, once there is one):
//   spans and relations.
// - Everything else anyone said is shown as a suggestion, dashed, with who
//   said it on its chip (spans) or arc tag (relations) and tooltip: a / ✓
//   accepts, x / ✕ rejects, Shift + A accepts all that do not clash. Accepting
//   a relation accepts the span suggestions it needs with it, or says why not
//   (a span rejected, or overlapping an accepted one: accept that span first).
//   Shift + A leaves suggestions that contradict each other (overlapping spans,
//   or one head and tail with two relation labels: the reviewer picks), spans
//   overlapping accepted ones, and relations whose spans are not accepted or
//   that another label already holds.
// - The panel lists the annotators (take one's version whole) and the
//   disagreements, region by region: who said what (spans, relations), who
//   said nothing. A row's click selects its first suggestion (or its text)
//   and scrolls to it.
// - With fewer than two submitted annotations there is nothing to compare:
//   the header and the panel say so rather than "agree" or a score.
// - Gold is saved when the reviewer says so (Save gold / Enter): one PUT of
//   /documents/{id}/gold/ with the version it was based on, or, when the gold
//   is exactly one annotator's version, a POST adopting it. A 409 shows the
//   workspace's conflict banner.
// - A document with gold is locked for its annotators: the panel says so and
//   offers Reopen (POST /documents/{id}/reopen/), which lets them change their
//   annotations again until the gold is saved again.
//
// Everything but the panel is the workspace's own modules.

import { COMPACT, createApi } from "../annotator/workspace/api.js";
import { annotationFromApi } from "../annotator/workspace/document.js";
import { escapeHtml } from "../annotator/workspace/render.js";
import { palette } from "../annotator/workspace/colors.js";
import { Saver } from "../annotator/workspace/save.js";
import { Trail } from "../annotator/workspace/trail.js";
import { Workspace } from "../annotator/workspace/workspace.js";
import { unitRange } from "../annotator/workspace/document.js";
import { makeState, rivalSuggestions } from "../annotator/workspace/state/annotation.js";

const spanId = (s) => `${s.start}:${s.end}:${s.label}`;

/**
 * Saves only on Save gold (a flush with a status): never after an edit, on leaving the page,
 * hiding the tab or skipping, since an unfinished review must not become gold. `stored`: gold
 * exists. The status says "new" (No gold yet) while the page shows the untouched proposal of a
 * document without gold, "pending" (Unsaved changes) once the reviewer changed what Save gold
 * would store, "saved" when that is the stored gold.
 */
class GoldSaver extends Saver {
  constructor(options, stored) {
    super(options);
    this.stored = stored;
    if (!stored) this.status = "new";
  }

  touch() {
    if (this.closed || this.status === "conflict") return;
    this.setStatus(this.dirty ? "pending" : this.stored ? "saved" : "new");
  }

  async flush({ status } = {}) {
    if (!status) return true;
    this.lastSaved = null; // saving is the reviewer's decision: store it even when unchanged
    const saved = await super.flush({ status });
    if (saved) this.stored = true;
    return saved;
  }

  /** After a conflict: save this page's gold over the stored one (the reviewer chose to). */
  resolveKeepMine() {
    const stored = this.conflict;
    this.conflict = null;
    this.version = stored ? stored.version : this.version;
    this.status = "pending";
    return this.flush({ status: this.annotationStatus || "submitted" });
  }
}

function reviewApi(api) {
  return {
    ...api,
    saveAnnotation: (documentId, body) => api.request("PUT", `documents/${documentId}/gold/`, body),
    adoptGold: (documentId, body) => api.request("POST", `documents/${documentId}/gold/`, body),
    review: async (documentId) => api.withAllTokens(
      await api.request("GET", `documents/${documentId}/review/?${COMPACT}`)),
    reopen: (documentId) => api.request("POST", `documents/${documentId}/reopen/`),
    reviewQueue(projectId, skip = []) {
      const query = skip.length ? `&skip=${skip.join(",")}` : "";
      return api.request("GET", `projects/${projectId}/review/?page_size=1${query}`);
    },
  };
}

export class Review extends Workspace {
  constructor(root, { api, config }) {
    super(root, { api: reviewApi(api), config });
    this.trail = new Trail(`review-${config.project}`);
    this.panel = root.querySelector('[data-rv="panel"]');
    this.bundle = null;
    this.taken = null; // {annotator, fingerprint}: the version picked whole, while unchanged
    this.panel.addEventListener("click", (event) => this.onPanelClick(event));
  }

  makeSaver(options) { return new GoldSaver(options, this.bundle.gold.version > 0); }

  /** The gold is always editable here; `document.locked` is about the annotators' annotations. */
  lockedOnLoad() { return false; }

  /** Suggestions that contradict each other: Shift + A leaves them to the reviewer. */
  rivals(spans, relations) { return rivalSuggestions(spans, relations, { allowOverlap: this.allowOverlap() }); }

  /** Skip and Back leave the document without saving gold: edits are dropped only if the reviewer says so. */
  async navigate(open) {
    if (this.busy) return;
    if (this.saver && this.saver.dirty
        && !window.confirm("Leave this document? Your gold edits are not saved; Save gold (Enter) keeps them.")) {
      this.announce("Still on this document, with your edits.");
      return;
    }
    await super.navigate(open);
  }

  /** The first document, asked for while the project loads: `#document=`'s, or the queue's first (or null). */
  firstDocument(id) { return id !== null ? this.api.review(id) : this.nextReview(); }

  /** The review bundle of the queue's first document, or null when nothing waits. */
  async nextReview() {
    const page = await this.api.reviewQueue(this.projectId, this.trail.skipped);
    return page.results.length ? this.api.review(page.results[0].id) : null;
  }

  async openNext({ pending = null } = {}) {
    await this.load(async () => {
      const bundle = await (pending || this.nextReview());
      if (!bundle) { this.showDone(); return; }
      this.showReview(bundle);
      this.trail.visit(this.doc.id);
    });
  }

  async openDocument(id, { visit, pending = null }) {
    await this.load(async () => {
      this.showReview(await (pending || this.api.review(id)));
      if (visit) this.trail.visit(id);
    });
  }

  showReview(bundle) {
    const { alignment } = bundle;
    const hasGold = bundle.gold.version > 0;
    let start = bundle.gold;
    if (!hasGold) {
      // Everyone agrees: accepted from the start. Spans get fresh ids; agreed relations point at them.
      const spans = alignment.agreed.map((s, i) => ({ id: i + 1, ...s }));
      const ids = new Map(spans.map((s) => [spanId(s), s.id]));
      const relations = alignment.relations.agreed
        .filter((r) => ids.has(spanId(r.head)) && ids.has(spanId(r.tail)))
        .map((r) => ({ head: ids.get(spanId(r.head)), tail: ids.get(spanId(r.tail)), label: r.label }));
      start = { spans, relations, status: "submitted", version: 0 };
    }
    // Everything anyone said, with who; what the state already has is hidden by the workspace.
    const said = [
      ...alignment.agreed.map((s) => ({ ...s, annotators: alignment.annotators })),
      ...alignment.conflicts,
    ];
    const suggestions = said.map((s, i) => ({
      id: `c${i}`, start: s.start, end: s.end, label: s.label, model: s.annotators.join(", "), model_version: "",
      score: null, who: s.annotators.join(", "),
    }));
    // Every relation anyone drew, with who: dashed arcs until accepted (the agreed ones are, without gold).
    const drawn = [
      ...alignment.relations.agreed.map((r) => ({ ...r, annotators: alignment.annotators })),
      ...alignment.relations.conflicts,
    ];
    const relationSuggestions = drawn.map((r, i) => ({
      id: `r${i}`, head: r.head, tail: r.tail, label: r.label, who: r.annotators.join(", "),
    }));
    this.bundle = bundle;
    this.taken = null;
    this.show({ document: bundle.document, tokens: bundle.tokens, annotation: start, suggestions,
      relation_suggestions: relationSuggestions });
    this.renderPanel();
  }

  showHeader() {
    super.showHeader();
    if (!this.bundle) return;
    const { document: doc, gold, alignment } = this.bundle;
    const people = alignment.annotators.length;
    this.el.meta.textContent = [
      people ? `${people} annotator${people === 1 ? "" : "s"} submitted` : "nobody submitted",
      // One version alone agrees with nothing: a score (0.00) would claim agreement.
      people > 1 ? `disagreement ${Number(doc.disagreement).toFixed(2)}` : "nothing to compare",
      gold.version > 0 ? `gold v${gold.version}` : "no gold yet",
      doc.reopened ? (doc.changed_since_review ? "reopened, changed since" : "reopened") : "",
    ].filter(Boolean).join(" · ");
  }

  showDone() {
    super.showDone();
    this.bundle = null;
    this.panel.hidden = true;
    const skipped = this.trail.skipped.length;
    this.el.doneText.innerHTML = skipped
      ? `Nothing else waits for review. You skipped ${skipped} document${skipped > 1 ? "s" : ""}:`
        + ` <button type="button" data-command="unskipAll">Go through the skipped ones</button>`
      : "Nothing waits for review in this project: every document that its annotators submitted has gold.";
  }

  // The panel ----------------------------------------------------------------------------------

  renderPanel() {
    const { bundle } = this;
    const text = bundle.document.text;
    const cp = [...text]; // code points: the API's offsets
    const quote = (start, end) => `“${escapeHtml(cp.slice(start, end).join(""))}”`;
    // A region can run over a sentence (a relation covers what lies between its spans): its ends only.
    const shortQuote = (start, end) => {
      if (end - start <= 60) return quote(start, end);
      const head = cp.slice(start, start + 28).join("").trimEnd();
      const tail = cp.slice(end - 28, end).join("").trimStart();
      return `“${escapeHtml(head)} … ${escapeHtml(tail)}”`;
    };
    const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    const chipOf = (label) => {
      const known = this.entityByName.get(label);
      const colors = palette(known ? known.color : "#8c959f");
      return `<span class="said" style="--c:${colors.color};--t:${colors.text}">${escapeHtml(label)}</span>`;
    };
    const people = bundle.annotations.map((a) => {
      const status = a.status === "submitted" ? "" : ` <span class="muted">(${escapeHtml(a.status.replace("_", " "))}, not aligned)</span>`;
      const use = a.status === "submitted"
        ? ` <button type="button" class="tool" data-rv-take="${escapeHtml(a.annotator)}" title="Replace the gold being edited with this version (Ctrl + Z undoes)">Use this version</button>`
        : "";
      return `<li data-annotator="${escapeHtml(a.annotator)}"><span class="who">${escapeHtml(a.annotator)}</span>`
        + ` ${a.spans.length} span${a.spans.length === 1 ? "" : "s"}, ${a.relations.length} relation${a.relations.length === 1 ? "" : "s"}${status}${use}</li>`;
    }).join("");
    const alignment = bundle.alignment;
    const names = alignment.annotators;
    const relationText = (r) => `<span class="said rel" title="${escapeHtml(`${r.head.label} → ${r.tail.label}`)}">`
      + `${escapeHtml(r.label)}</span> ${quote(r.head.start, r.head.end)} → ${quote(r.tail.start, r.tail.end)}`;
    // What each annotator said in a region, for spans or relations: "ann GPE · bob nothing".
    const line = (readings, show) => names.map((who) => {
      const said = readings[who] || [];
      const what = said.length ? said.map(show).join(" ") : `<span class="nothing">nothing</span>`;
      return `<span class="who">${escapeHtml(who)}</span> ${what}`;
    }).join(" · ");
    const differ = (readings) => new Set(names.map((who) => JSON.stringify(readings[who] || []))).size > 1;
    const regions = alignment.regions.map((region, i) => {
      const relationReadings = region.relation_readings || {};
      const relationsDiffer = differ(relationReadings);
      // The spans line unless only relations differ there (their spans are the same for everyone).
      const spanText = (s) => `${chipOf(s.label)}`
        + `${s.start !== region.start || s.end !== region.end ? ` ${quote(s.start, s.end)}` : ""}`;
      const spans = differ(region.readings) || !relationsDiffer ? line(region.readings, spanText) : "";
      const relations = relationsDiffer
        ? ` <span class="rel-readings"><span class="kind">relations</span> ${line(relationReadings, relationText)}</span>`
        : "";
      return `<li data-region="${i}" title="Select it in the text">${shortQuote(region.start, region.end)}:`
        + ` ${spans}${relations}</li>`;
    });
    const agreedSpans = alignment.agreed.length;
    const agreedRelations = alignment.relations.agreed.length;
    const accepted = [plural(agreedSpans, "span"), agreedRelations ? plural(agreedRelations, "relation") : ""]
      .filter(Boolean).join(" and ");
    const many = agreedSpans + agreedRelations !== 1;
    let gold;
    if (bundle.gold.version > 0) {
      gold = `Gold v${bundle.gold.version}${bundle.gold.annotator ? ` by ${escapeHtml(bundle.gold.annotator)}` : ""} is shown.`;
    } else if (names.length === 1) {
      gold = `${escapeHtml(names[0])}'s ${accepted} ${many ? "are" : "is"} accepted: the only submitted version.`;
    } else if (names.length) {
      gold = `${accepted} everyone agrees on ${many ? "are" : "is"} accepted.`;
    } else {
      gold = "Nobody submitted this document: nothing is accepted.";
    }
    let none = "None: the annotators agree.";
    if (names.length === 1) none = `Nothing to compare: only ${escapeHtml(names[0])} submitted.`;
    else if (!names.length) none = "Nothing to compare: nobody submitted.";
    this.panel.innerHTML = this.lockHtml() + `<section aria-labelledby="rv-people"><h2 id="rv-people">Annotators</h2><ul>${people || "<li class=\"muted\">Nobody annotated this document.</li>"}</ul>`
      + `<p class="agreed-note">${gold}</p></section>`
      + `<section aria-labelledby="rv-conflicts"><h2 id="rv-conflicts">Disagreements <span class="count">${regions.length || ""}</span></h2>`
      + `<ul class="conflict-list">${regions.join("") || `<li class="muted" data-rv="no-conflicts">${none}</li>`}</ul></section>`;
    this.panel.hidden = false;
  }

  /** The review lock: reviewed documents are read-only for annotators until reopened (then, by whom and when). */
  lockHtml() {
    const { document: doc, gold } = this.bundle;
    const when = (iso) => new Date(iso).toLocaleString();
    let body;
    if (doc.reopened) {
      const who = doc.reopened.reopened_by ? ` by ${escapeHtml(doc.reopened.reopened_by)}` : "";
      const changed = doc.changed_since_review
        ? ` An annotation changed since ${escapeHtml(when(doc.reopened.changed_at))}: compare it with the gold.`
        : " No annotation changed since.";
      body = `<p data-rv="lock-state"><strong>Reopened</strong>${who} on ${escapeHtml(when(doc.reopened.reopened_at))}:`
        + ` annotators can change their annotations.${changed} Saving gold locks it again.</p>`;
    } else if (gold.version > 0) {
      body = `<p data-rv="lock-state"><strong>Locked</strong>: this document has gold, so its annotators cannot change`
        + ` their annotations.</p><button type="button" class="tool" data-rv-reopen`
        + ` title="Let the annotators change their annotations again; the gold stays until you save it again">Reopen for annotators</button>`;
    } else {
      return "";
    }
    return `<section class="review-lock" aria-labelledby="rv-lock"><h2 id="rv-lock">Review lock</h2>${body}</section>`;
  }

  /** Reopen the shown document for its annotators, then show it as reopened. */
  async reopen() {
    const id = this.doc.id;
    let reopening;
    try {
      reopening = await this.api.reopen(id);
    } catch (error) {
      this.announce(`Not reopened: ${error.message}`);
      return;
    }
    if (!this.bundle || this.bundle.document.id !== id) return;
    Object.assign(this.bundle.document, { reopened: reopening, locked: false, changed_since_review: false });
    this.renderPanel();
    this.showHeader();
    this.el.doc.focus({ preventScroll: true });
    this.announce("Reopened: annotators can change their annotations until you save gold again.");
  }

  onPanelClick(event) {
    if (event.target.closest("[data-rv-reopen]")) { this.reopen(); return; }
    const take = event.target.closest("[data-rv-take]");
    if (take) { this.takeVersion(take.dataset.rvTake); return; }
    const region = event.target.closest("[data-region]");
    if (region) this.showRegion(this.bundle.alignment.regions[Number(region.dataset.region)], region);
  }

  /** The whole version of one annotator becomes the gold being edited (one undoable step). */
  takeVersion(annotator) {
    const annotation = this.bundle.annotations.find((a) => a.annotator === annotator);
    if (!annotation || !this.doc) return;
    const page = annotationFromApi(annotation, this.doc.maps);
    const next = makeState({ spans: page.spans, relations: page.relations, rejected: this.state.rejected });
    this.commit(next, `Took ${annotator}'s version`);
    this.taken = { annotator, fingerprint: this.fingerprint() };
    this.el.doc.focus({ preventScroll: true });
  }

  /**
   * A disagreement row's click: select the first suggestion drawn in its region (a span, else a
   * relation), or, when none is left, the region's text; scroll to it and mark the row.
   */
  showRegion(region, row) {
    if (!this.doc) return;
    const start = this.doc.maps.toUtf16(region.start);
    const end = this.doc.maps.toUtf16(region.end);
    const inside = this.suggestionsInOrder().find((item) => item.start < end && start < item.end);
    if (inside) {
      this.pickItem({ type: inside.type, id: inside.s.id });
    } else {
      const range = unitRange(this.doc, start, end);
      if (range) {
        this.select(range[0], range[1], range[0]);
        this.reveal(range[0]);
        this.announce(`Disagreement at ${this.quote({ start, end })}: nothing left to accept or reject there.`);
      }
    }
    for (const other of this.panel.querySelectorAll("[aria-current]")) other.removeAttribute("aria-current");
    if (row) row.setAttribute("aria-current", "true");
    this.el.doc.focus({ preventScroll: true });
  }

  fingerprint() {
    const spans = this.state.spans.map((s) => spanId(s)).sort();
    return JSON.stringify([spans, this.state.relations.map((r) => [String(r.head), String(r.tail), r.label])]);
  }

  // Saving -------------------------------------------------------------------------------------

  /** Save gold and go on. A version taken whole and left as it was is adopted (the history says whose). */
  async submit() {
    if (this.busy || !this.doc) return;
    if (this.taken && this.taken.fingerprint === this.fingerprint() && this.saver.status !== "conflict") {
      this.cancelMode();
      try {
        await this.api.adoptGold(this.doc.id, { from_user: this.taken.annotator, version: this.saver.version });
      } catch (error) {
        if (error.isConflict) { this.saver.handleError(error); return; }
        this.announce(`Not saved: ${error.message}`);
        return;
      }
      this.saver.close();
      this.trail.unskip(this.doc.id);
      this.announce(`Gold saved: ${this.taken.annotator}'s version.`);
      await this.openNext();
      return;
    }
    await super.submit();
  }
}

const config = JSON.parse(document.getElementById("workspace-config").textContent);
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const root = document.querySelector('[data-ws="root"]');
const review = new Review(root, { api: createApi({ base: config.api, csrfToken }), config });
window.annotator = review;
review.ready = review.start();
