// The annotation workspace: loads documents through the API, turns keys and
// clicks into edits of the annotation state, and keeps the view, the arcs,
// the history and the autosave in step.
//
//   edit -> commit(state) -> history.push -> view.update (only affected units)
//                                          -> arcs redrawn on the next frame
//                                          -> saver.touch (debounced PUT)
//
// Suggestions are spans (a model's, or on the review page an annotator's) and,
// on the review page, relations an annotator drew (dashed arcs): both are
// picked, accepted and rejected the same way.
//
// A reviewed document (the document says `locked`, or a save got 409
// document_reviewed) is read-only: it is shown as stored, with a notice; edits
// are refused before they touch the state, and nothing is saved or submitted.

import { annotationFromApi, fromApi, toApiAnnotation, unitRange } from "./document.js";
import { ArcLayer } from "./arcs.js";
import { Saver } from "./save.js";
import { History } from "./state/history.js";
import {
  acceptRelationSuggestions, acceptSuggestions, addRelation, addSpan, findSpan, makeState, rejectSuggestions,
  relabelRelation, relabelSpan, relationKey, removeRelation, removeSpans, spanKey, visibleRelationSuggestions,
  visibleSuggestions,
} from "./state/annotation.js";
import { DocumentView, escapeHtml } from "./render.js";
import { helpHtml } from "./keys.js";
import { bindInput } from "./input.js";
import { Trail } from "./trail.js";
import {
  closeChooser, conflictBanner, failureBanner, lockedBanner, openChooser, renderLabelBar, renderSaveIndicator,
  showBanner, showSticky,
} from "./chrome.js";

const ARC_BASE = 11;
const ARC_LEVEL = 13;
const READ_ONLY = "This document is reviewed: your annotation is read-only, nothing is saved.";
const isArc = (picked) => Boolean(picked) && (picked.type === "relation" || picked.type === "relationSuggestion");
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
// A unit that may start a name, where Ctrl + → stops: a capital, a digit, or a letter of a script without
// capitals (CJK, Arabic, Hebrew, Thai...), where every word may.
const NAME_START = /^[\p{Lu}\p{Lt}\p{Lo}\p{Nd}]/u;

export class Workspace {
  constructor(root, { api, config }) {
    this.root = root;
    this.api = api;
    this.config = config;
    this.projectId = config.project;
    const $ = (name) => root.querySelector(`[data-ws="${name}"]`);
    this.el = {
      title: $("title"), meta: $("meta"), labels: $("labels"), relations: $("relations"),
      relationGroup: $("relation-group"), save: $("save"), banner: $("banner"), wrap: $("wrap"),
      doc: $("doc"), arcs: $("arcs"), hint: $("hint"), live: $("live"), message: $("message"),
      chooser: $("chooser"), help: $("help"), helpBody: $("help-body"), guidelines: $("guidelines"),
      done: $("done"), doneText: $("done-text"), main: $("main"), loading: $("loading"),
      // The annotator's own view (the workspace only; absent on the review page).
      progress: $("progress"), mine: $("mine"), mineList: $("mine-list"), mineCounts: $("mine-counts"),
      mineMore: $("mine-more"),
      threshold: $("accept-threshold"), sticky: $("sticky"),
    };
    // Shift + A accepts suggestions scored at least this (0: every one, scored or not); kept per project.
    this.thresholdKey = `annotator:accept-threshold:${this.projectId}`;
    this.threshold = readThreshold(this.thresholdKey);
    this.counts = null; // my-documents' counts, refreshed as documents come and go
    this.numbers = new Map(); // document id -> its number among the user's documents
    this.minePage = 0;
    this.trail = new Trail(this.projectId);
    this.ui = { cursor: 0, anchor: 0, selection: [0, 0], picked: null };
    this.mode = null; // null | {kind: "tail", head} | {kind: "label", head, tail}
    // The sticky label (an entity label, or null): while on, a click, double-click or drag on the text labels
    // at once, and a label's key or button switches it. It stays on from document to document.
    this.sticky = null;
    this.lastLabel = null; // the label last applied: what the Sticky button turns on
    this.doc = null;
    this.saver = null;
    this.busy = false;
    this.pressed = -1; // the unit the mouse went down on (input.js), -1 if none
    this.arcLevels = 0;
    this.arcFrame = 0;
    this.timings = { render: null, edits: [] };
  }

  // Start-up -----------------------------------------------------------------------------------

  /** `opening`: the requests the first text needs, when the page asked for them already (prefetch.js). */
  async start(opening = this.opening()) {
    this.bindEvents();
    const { id, project, first } = opening;
    try {
      const [about, labels] = await project;
      this.setProject(about, labels);
    } catch (error) {
      this.fail(`The project could not be loaded: ${error.message}`);
      return;
    }
    if (id !== null) await this.openDocument(id, { visit: true, pending: first });
    else await this.openNext({ pending: first });
  }

  /**
   * The project and its labels (the page carries them: its config's `initial`, as the API gives them) and the
   * first document (a `#document=` link's, or the next one), asked for at once.
   */
  opening() {
    const match = /document=(\d+)/.exec(window.location.hash);
    const id = match ? Number(match[1]) : null;
    const first = this.firstDocument(id);
    first.catch(() => {}); // its failure is reported where it is awaited, once the project is set
    return { id, project: Promise.resolve([this.config.initial.project, this.config.initial.labels]), first };
  }

  /** The first document's bundle: `#document=`'s, or the next one. */
  firstDocument(id) {
    return id !== null ? this.api.bundle(this.projectId, id) : this.api.next(this.projectId, this.trail.skipped);
  }

  setProject(project, labels) {
    this.project = project;
    this.entityLabels = labels.filter((l) => l.kind === "entity");
    this.relationLabels = labels.filter((l) => l.kind === "relation");
    this.entityByName = new Map(this.entityLabels.map((l) => [l.name, l]));
    this.relationByName = new Map(this.relationLabels.map((l) => [l.name, l]));
    this.shortcuts = new Map();
    for (const label of [...this.entityLabels, ...this.relationLabels]) {
      if (label.shortcut) this.shortcuts.set(label.shortcut, label);
    }
    renderLabelBar(this.el.labels, this.entityLabels);
    renderLabelBar(this.el.relations, this.relationLabels, { numbered: true });
    showSticky(this.el.sticky, this.el.labels, this.el.wrap, this.sticky);
    this.el.relationGroup.hidden = this.relationLabels.length === 0;
    this.el.helpBody.innerHTML = helpHtml(this.entityLabels, this.relationLabels, escapeHtml);
    this.view = new DocumentView(this.el.doc, this.entityByName);
    this.view.onBlockShown = () => this.scheduleArcs();
    const onArcButton = (act) => (id) => {
      this.cancelMode();
      act(id);
      this.el.doc.focus({ preventScroll: true });
    };
    this.arcs = new ArcLayer(this.el.arcs, this.el.wrap, this.view, this.relationByName, {
      pick: (picked, options) => this.pickArc(picked, options),
      accept: onArcButton((id) => this.acceptSuggestion(id)),
      reject: onArcButton((id) => this.rejectSuggestion(id)),
    });
  }

  bindEvents() {
    bindInput(this);
    if (this.el.threshold) {
      this.el.threshold.value = String(this.threshold);
      this.el.threshold.addEventListener("change", () => {
        const value = Number(this.el.threshold.value);
        this.threshold = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
        this.el.threshold.value = String(this.threshold);
        try { window.localStorage.setItem(this.thresholdKey, String(this.threshold)); } catch { /* private mode */ }
        this.updateButtons();
      });
    }
    new ResizeObserver(() => this.scheduleArcs()).observe(this.el.wrap);
    window.addEventListener("beforeunload", (event) => {
      if (this.saver && this.saver.dirty) {
        this.saver.flush().catch(() => {});
        event.preventDefault();
        event.returnValue = "";
      }
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden" && this.saver) this.saver.flush().catch(() => {});
    });
    window.addEventListener("hashchange", () => {
      const match = /document=(\d+)/.exec(window.location.hash);
      if (match && this.doc && Number(match[1]) !== this.doc.id) this.navigate(() => this.openDocument(Number(match[1]), { visit: true }));
    });
  }

  // Loading documents --------------------------------------------------------------------------

  /** `pending`: the bundle already asked for (start()). */
  async openNext({ pending = null } = {}) {
    await this.load(async () => {
      const bundle = await (pending || this.api.next(this.projectId, this.trail.skipped));
      if (!bundle) { this.showDone(); return; }
      this.show(bundle);
      this.trail.visit(this.doc.id);
    });
  }

  async openDocument(id, { visit, pending = null }) {
    await this.load(async () => {
      this.show(await (pending || this.api.bundle(this.projectId, id)));
      if (visit) this.trail.visit(id);
    });
  }

  async load(work) {
    this.busy = true;
    this.el.loading.hidden = false;
    try {
      await work();
    } catch (error) {
      this.fail(`The document could not be loaded: ${error.message}`);
    } finally {
      this.busy = false;
      this.el.loading.hidden = true;
    }
  }

  show(bundle) {
    if (this.saver) this.saver.close();
    const locked = this.lockedOnLoad(bundle);
    this.doc = fromApi(bundle);
    // A read-only document shows the annotation as stored: no suggestions to accept or reject.
    // Suggestions with a label the project does not have are not drawn (nor counted).
    this.doc.suggestions = locked ? [] : this.doc.suggestions.filter((s) => this.entityByName.has(s.label));
    this.doc.relationSuggestions = locked ? [] : this.doc.relationSuggestions.filter((r) =>
      this.relationByName.has(r.label) && this.entityByName.has(r.head.label) && this.entityByName.has(r.tail.label));
    this.doc.relationRanges = new Map();
    this.mode = null;
    closeChooser(this.el.chooser);
    showBanner(this.el.banner, "");
    this.el.done.hidden = true;
    this.el.main.hidden = false;
    const stored = this.doc.annotation;
    const state = makeState({ spans: stored.spans, relations: stored.relations });
    this.history = new History(state);
    this.ui = { cursor: 0, anchor: 0, selection: [0, 0], picked: null };
    this.arcLevels = 0;
    this.setArcRoom(this.relationLabels.length ? 1 : 0);

    const started = performance.now();
    this.view.render(this.doc, state, this.visible(state), this.ui);
    void this.el.doc.offsetHeight; // layout, so the figure includes it
    this.timings.render = performance.now() - started;
    // From navigation start to the first document's text in the page (bench/workspace.py reads it).
    if (!performance.getEntriesByName("annotator:first-text").length) performance.mark("annotator:first-text");
    this.drawArcs();

    this.saver = this.makeSaver({
      api: this.api,
      documentId: this.doc.id,
      version: stored.version,
      status: stored.status,
      rejected: [],
      payload: (status, version) => toApiAnnotation(this.doc, this.state, status, version),
      rejections: () => this.state.rejected.filter((id) => /^\d+$/.test(id)),
      onChange: () => this.onSaverChange(),
      locked,
    });
    this.onSaverChange();
    this.showHeader();
    window.history.replaceState(null, "", `#document=${this.doc.id}`);
    window.scrollTo(0, 0);
    this.el.doc.focus({ preventScroll: true });
    this.updateButtons();
    this.refreshProgress();
    this.announce(`Document ${this.doc.id} loaded${this.suggestionSummary(state)}`
      + `${locked ? "; it is reviewed, so your annotation is read-only" : ""}.`);
  }

  /** ", 3 suggestions (2 spans, 1 relation)": what is drawn as a suggestion in `state`, or "". */
  suggestionSummary(state) {
    const spans = this.visible(state).length;
    const relations = this.visibleRelations(state).length;
    if (!relations) return spans ? `, ${plural(spans, "suggestion")}` : "";
    if (!spans) return `, ${plural(relations, "relation suggestion")}`;
    return `, ${plural(spans + relations, "suggestion")} (${plural(spans, "span")}, ${plural(relations, "relation")})`;
  }

  /** The autosave of the shown document (the review page saves gold its own way). */
  makeSaver(options) { return new Saver(options); }

  /** Whether a loaded bundle is read-only: its document is reviewed and not reopened (the review page edits gold). */
  lockedOnLoad(bundle) { return Boolean(bundle.document && bundle.document.locked); }

  /** The shown document is read-only (reviewed); nothing the user does is saved. */
  get readOnly() { return Boolean(this.saver && this.saver.locked); }

  /** Before an edit: false, and say why, when the document is read-only. */
  editable() {
    if (!this.readOnly) return true;
    this.announce(READ_ONLY);
    return false;
  }

  showHeader() {
    const meta = Object.entries(this.doc.meta || {})
      .filter(([, value]) => value === null || typeof value !== "object")
      .map(([key, value]) => `${key}: ${value}`).join(" · ");
    const number = this.numbers.get(this.doc.id);
    this.el.title.textContent = number ? `Your document ${number}` : `Document ${this.doc.id}`;
    this.el.title.title = `Document #${this.doc.id}`;
    this.el.title.dataset.document = String(this.doc.id);
    const status = this.saver && this.saver.annotationStatus === "submitted" ? "submitted" : "";
    const full = this.readOnly && this.saver.lockReason === "document_full";
    const locked = this.readOnly ? (full ? "read-only: others hold it" : "reviewed, read-only") : "";
    this.el.meta.textContent = [meta, status, locked].filter(Boolean).join(" · ");
  }

  // The annotator's own view: counts, and their documents to go back to -----------------------------

  /** Fetch where the user stands (counts, and the numbers of their latest documents); the workspace only. */
  async refreshProgress() {
    if (!this.el.progress) return;
    try {
      const body = await this.api.myDocuments(this.projectId, { pageSize: 1, document: this.doc ? this.doc.id : null });
      this.counts = body.counts;
      if (this.doc && body.number) this.numbers.set(this.doc.id, body.number);
    } catch (error) {
      return; // the counts are a help, not the work: the page goes on without them
    }
    this.renderProgress();
    if (this.doc) this.showHeader();
  }

  renderProgress() {
    if (!this.el.progress || !this.counts) return;
    const c = this.counts;
    const skipped = this.trail.skipped.length;
    this.el.progress.textContent = `${c.submitted + c.reviewed} done · ${c.left} left`
      + (skipped ? ` · ${skipped} skipped` : "");
    this.el.progress.title = `Submitted ${c.submitted}, reviewed ${c.reviewed}, in progress ${c.in_progress};`
      + ` ${c.left} left in your queue (yours unsubmitted and free places); skipped in this tab: ${skipped}.`;
  }

  async showMine() {
    if (!this.el.mine) return;
    this.el.mineList.innerHTML = "";
    this.toggleDialog(this.el.mine);
    if (this.el.mine.open) await this.loadMine(1);
  }

  async loadMine(page) {
    let body;
    try {
      body = await this.api.myDocuments(this.projectId, { page });
    } catch (error) {
      this.el.mineCounts.textContent = `Your documents could not be loaded: ${error.message}`;
      return;
    }
    this.minePage = page;
    this.counts = body.counts;
    this.renderProgress();
    const skipped = new Set(this.trail.skipped);
    const c = body.counts;
    this.el.mineCounts.textContent = `${body.count} document${body.count === 1 ? "" : "s"}: ${c.submitted} submitted,`
      + ` ${c.reviewed} reviewed, ${c.in_progress} in progress, ${skipped.size} skipped in this tab; ${c.left} left.`;
    const rows = body.results.map((row) => {
      this.numbers.set(row.id, row.number);
      const state = skipped.has(row.id) && row.status === "in_progress" ? "skipped" : row.status.replace("_", " ");
      const current = this.doc && this.doc.id === row.id ? ' aria-current="true"' : "";
      return `<li><button type="button" class="mine-row" data-command="openMine" data-document="${row.id}"${current}>`
        + `<span class="num">${row.number}</span> <span class="pill pill-${escapeHtml(state.replace(" ", "_"))}">`
        + `${escapeHtml(state)}</span>${row.locked ? ' <span class="muted">read-only</span>' : ""}`
        + `${row.assigned ? ' <span class="muted">assigned</span>' : ""} <span class="preview">`
        + `${escapeHtml(row.preview)}</span></button></li>`;
    });
    this.el.mineList.insertAdjacentHTML("beforeend", rows.join(""));
    this.el.mineMore.hidden = !body.next;
  }

  async openMine(id) {
    if (this.el.mine.open) this.el.mine.close();
    await this.navigate(() => this.openDocument(id, { visit: true }));
  }

  showDone() {
    if (this.saver) this.saver.close();
    this.saver = null;
    this.doc = null;
    this.root.classList.remove("read-only");
    this.el.main.hidden = true;
    this.el.done.hidden = false;
    const skipped = this.trail.skipped.length;
    // The page says which project is empty (config.empty, from the page); /next/ alone cannot tell.
    const empty = Boolean(this.config.empty) && !skipped;
    const text = empty ? "This project has no documents yet."
      : "Nothing left for you: every document is done or held by others.";
    this.el.doneText.innerHTML = skipped
      ? `Nothing new is left for you here. You skipped ${skipped} document${skipped > 1 ? "s" : ""}:`
        + ` <button type="button" data-command="unskipAll">Go through the skipped ones</button>`
      : escapeHtml(text);
    this.el.title.textContent = empty ? "No documents" : "Nothing left";
    this.refreshProgress();
    this.el.meta.textContent = "";
    renderSaveIndicator(this.el.save, null);
    window.history.replaceState(null, "", window.location.pathname);
    this.cancelMode();
    this.updateButtons();
    this.announce(skipped ? "No new documents left; some are skipped." : text);
  }

  fail(message) {
    showBanner(this.el.banner, `<strong>${escapeHtml(message)}</strong>`
      + ` <button type="button" data-command="reload">Reload the page</button>`);
  }

  // State --------------------------------------------------------------------------------------

  get state() { return this.history.current; }

  /** The span suggestions drawn in `state` (pending): see visibleSuggestions. */
  visible(state) { return visibleSuggestions(state, this.doc.suggestions, { allowOverlap: this.allowOverlap() }); }

  /** The relation suggestions drawn in `state`: not rejected, not in the annotation already. */
  visibleRelations(state) { return visibleRelationSuggestions(state, this.doc.relationSuggestions); }

  /** Unit ranges of a relation suggestion: {head, tail, span: from the first unit of either to the last}. */
  relationRange(suggestion) {
    let ranges = this.doc.relationRanges.get(suggestion.id);
    if (!ranges) {
      const head = unitRange(this.doc, suggestion.head.start, suggestion.head.end);
      const tail = unitRange(this.doc, suggestion.tail.start, suggestion.tail.end);
      const span = head && tail ? [Math.min(head[0], tail[0]), Math.max(head[1], tail[1])] : null;
      ranges = { head, tail, span };
      this.doc.relationRanges.set(suggestion.id, ranges);
    }
    return ranges;
  }

  /** Record an edit: show it, remember it for undo, save it. */
  commit(next, what) {
    if (next === this.state || !this.editable()) return false;
    const started = performance.now();
    this.history.push(next, what);
    this.applyState(next);
    void this.el.doc.offsetHeight;
    this.timings.edits.push(performance.now() - started);
    if (this.timings.edits.length > 50) this.timings.edits.shift();
    this.saver.touch();
    this.announce(what);
    return true;
  }

  applyState(state) {
    this.view.update(state, this.visible(state));
    const picked = this.ui.picked;
    if (picked && !this.exists(picked, state)) this.setUi({ picked: null });
    this.scheduleArcs();
    this.updateButtons();
  }

  exists(picked, state) {
    if (picked.type === "span") return findSpan(state, picked.id) !== null;
    if (picked.type === "relation") return state.relations.some((r) => relationKey(r) === picked.id);
    if (picked.type === "relationSuggestion") return this.visibleRelations(state).some((s) => s.id === picked.id);
    return this.visible(state).some((s) => s.id === picked.id);
  }

  setUi(changes) {
    const ui = { ...this.ui, ...changes };
    const n = this.doc.units.length;
    ui.cursor = Math.max(0, Math.min(n - 1, ui.cursor));
    const before = this.ui.picked;
    const relationChanged = (isArc(before) || isArc(ui.picked))
      && (before?.type !== ui.picked?.type || before?.id !== ui.picked?.id);
    this.ui = ui;
    this.view.setUi(ui);
    if (relationChanged) this.scheduleArcs();
    this.updateButtons();
  }

  undo() {
    if (!this.editable()) return;
    const step = this.history.undo();
    if (!step) { this.announce("Nothing to undo."); return; }
    this.applyState(step.state);
    this.saver.touch();
    this.announce(`Undone: ${step.what}`);
  }

  redo() {
    if (!this.editable()) return;
    const step = this.history.redo();
    if (!step) { this.announce("Nothing to redo."); return; }
    this.applyState(step.state);
    this.saver.touch();
    this.announce(`Redone: ${step.what}`);
  }

  // Arcs ---------------------------------------------------------------------------------------

  scheduleArcs() {
    if (this.arcFrame || !this.doc) return;
    this.arcFrame = requestAnimationFrame(() => { this.arcFrame = 0; this.drawArcs(); });
  }

  drawArcs() {
    if (!this.doc) return;
    const picked = isArc(this.ui.picked) ? this.ui.picked : null;
    const items = this.arcItems();
    const names = (item) => (item.type === "relation"
      ? { head: this.spanText(item.relation.head), tail: this.spanText(item.relation.tail) }
      : { head: `${item.suggestion.head.label} ${this.quote(item.suggestion.head)}`,
        tail: `${item.suggestion.tail.label} ${this.quote(item.suggestion.tail)}` });
    const levels = this.arcs.draw(items, picked, names);
    if (levels > this.arcLevels) {
      this.setArcRoom(levels);
      this.arcs.draw(items, picked, names);
    }
  }

  /** The arcs to draw: the annotation's relations, then the relation suggestions (dashed, with who). */
  arcItems() {
    const items = this.state.relations.map((relation) => ({
      type: "relation", id: relationKey(relation), label: relation.label, relation,
      head: this.view.spanRange(relation.head), tail: this.view.spanRange(relation.tail),
    }));
    for (const suggestion of this.visibleRelations(this.state)) {
      const { head, tail } = this.relationRange(suggestion);
      items.push({ type: "relationSuggestion", id: suggestion.id, label: suggestion.label, who: suggestion.who,
        suggestion, head, tail });
    }
    return items;
  }

  /** Make room above each line for `levels` stacked arcs (only grows within a document). */
  setArcRoom(levels) {
    this.arcLevels = levels;
    const room = levels ? ARC_BASE + (levels - 1) * ARC_LEVEL + 12 : 0;
    this.el.wrap.style.setProperty("--arc-room", `${room}px`);
  }

  spanText(id) {
    const span = findSpan(this.state, id);
    return span ? this.quote(span) : "a span";
  }

  /** “text” of anything with UTF-16 start and end. */
  quote({ start, end }) { return `“${this.doc.text.slice(start, end)}”`; }

  /** A relation suggestion in words: located_in “Maria” → “Moscow”. */
  relationText(s) { return `${s.label} ${this.quote(s.head)} → ${this.quote(s.tail)}`; }

  // Editing ------------------------------------------------------------------------------------

  allowOverlap() { return Boolean(this.project.allow_overlapping_spans); }

  /** A label's key or button: with a sticky label, make this one sticky; else apply it (applyLabel). */
  chooseLabel(label) {
    if (this.sticky) this.setSticky(label);
    else this.applyLabel(label);
  }

  /** Shift + click on a label, or the Sticky button (`label` null): turn the sticky label on, or off if it is on. */
  toggleSticky(label) {
    if (this.sticky && (label === null || label.name === this.sticky.name)) { this.setSticky(null); return; }
    const next = label || this.lastLabel || this.entityLabels[0] || null;
    if (next && this.doc && this.editable()) this.setSticky(next);
  }

  setSticky(label) {
    this.sticky = label;
    showSticky(this.el.sticky, this.el.labels, this.el.wrap, label);
    this.announce(label ? `Sticky label ${label.name}: a click, double-click or drag on the text labels it. Esc ends it.`
      : "Sticky label off.");
  }

  /** With a sticky label: label units a..b with it, as a selection and its key would. */
  stick(a, b) {
    this.select(a, b);
    this.applyLabel(this.sticky);
  }

  /** A label's key or button: label the selection, or relabel the selected span. */
  applyLabel(label) {
    if (!this.editable()) return;
    this.lastLabel = label;
    const picked = this.ui.picked;
    if (picked && picked.type === "span") {
      const span = findSpan(this.state, picked.id);
      if (span.label === label.name) { this.announce(`Already ${label.name}.`); return; }
      this.commit(relabelSpan(this.state, picked.id, label.name),
        `${span.label} → ${label.name}: ${this.spanText(picked.id)}`);
      if (findSpan(this.state, picked.id) === null) this.setUi({ picked: null });
      return;
    }
    if (!this.doc.units.length) return;
    const [a, b] = this.ui.selection;
    const start = this.doc.units[a].start;
    const end = this.doc.units[b].end;
    const { state, span, removed } = addSpan(this.state, { start, end, label: label.name },
      { allowOverlap: this.allowOverlap() });
    const replaced = removed.length ? ` (replacing ${removed.length} overlapping span${removed.length > 1 ? "s" : ""})` : "";
    if (state === this.state) { this.pick({ type: "span", id: spanKey(span.id) }); return; }
    this.commit(state, `Added ${label.name}: “${this.doc.text.slice(start, end)}”${replaced}`);
    this.pick({ type: "span", id: spanKey(span.id) }, { cursor: b });
  }

  deletePicked() {
    if (!this.editable()) return;
    const picked = this.ui.picked;
    if (!picked) { this.announce("Select a span, relation or suggestion first (click it, or Space / ] / [)."); return; }
    if (picked.type === "span") {
      const span = findSpan(this.state, picked.id);
      const text = this.spanText(picked.id);
      const range = this.view.spanRange(picked.id);
      this.commit(removeSpans(this.state, [picked.id]), `Deleted ${span.label}: ${text}`);
      this.setUi({ picked: null, cursor: range ? range[0] : this.ui.cursor });
    } else if (picked.type === "relationSuggestion") {
      this.rejectSuggestion(picked.id);
    } else if (picked.type === "relation") {
      const relation = this.state.relations.find((r) => relationKey(r) === picked.id);
      this.commit(removeRelation(this.state, picked.id), `Deleted relation ${relation.label}`);
      this.setUi({ picked: null });
      this.el.doc.focus({ preventScroll: true });
    } else {
      this.rejectSuggestion(picked.id);
    }
  }

  suggestion(id) { return this.doc.suggestions.find((s) => s.id === id) || null; }

  relationSuggestion(id) { return this.doc.relationSuggestions.find((s) => s.id === id) || null; }

  /**
   * Every suggestion drawn, span or relation, in document order: [{type, s, start, end}], a relation
   * from the start of its first span to the end of its last (UTF-16).
   */
  suggestionsInOrder() {
    const items = this.visible(this.state).map((s) => ({ type: "suggestion", s, start: s.start, end: s.end }));
    for (const s of this.visibleRelations(this.state)) {
      items.push({ type: "relationSuggestion", s, start: Math.min(s.head.start, s.tail.start),
        end: Math.max(s.head.end, s.tail.end) });
    }
    return items.sort((a, b) => a.start - b.start
      || (a.type === b.type ? a.end - b.end : a.type === "suggestion" ? -1 : 1));
  }

  /** The selected suggestion (span or relation), or the first one drawn at or after the cursor: {type, s}. */
  targetSuggestion() {
    const picked = this.ui.picked;
    if (picked && picked.type === "suggestion") return { type: picked.type, s: this.suggestion(picked.id) };
    if (picked && picked.type === "relationSuggestion") {
      return { type: picked.type, s: this.relationSuggestion(picked.id) };
    }
    const items = this.suggestionsInOrder();
    const cursorStart = this.doc.units[this.ui.cursor].start;
    return items.find((item) => item.end > cursorStart) || items[0] || null;
  }

  /** A suggestion by id, span or relation: {type, s}, or null. */
  findSuggestion(id) {
    const span = this.suggestion(id);
    if (span) return { type: "suggestion", s: span };
    const relation = this.relationSuggestion(id);
    return relation ? { type: "relationSuggestion", s: relation } : null;
  }

  acceptSuggestion(id) {
    if (!this.editable()) return;
    const target = id ? this.findSuggestion(id) : this.targetSuggestion();
    if (!target || !target.s) { this.announce("No suggestion to accept."); return; }
    if (target.type === "relationSuggestion") { this.acceptRelation(target.s); return; }
    const suggestion = target.s;
    const after = this.nextSuggestionAfter(suggestion.id);
    const { state, accepted, removed } = acceptSuggestions(this.state, [suggestion],
      { allowOverlap: this.allowOverlap(), keepExisting: false });
    const replaced = removed.length ? ` (replacing ${removed.length} overlapping span${removed.length > 1 ? "s" : ""})` : "";
    this.commit(state, `Accepted ${suggestion.label}: “${this.doc.text.slice(suggestion.start, suggestion.end)}”${replaced}`);
    if (after && this.exists(after, this.state)) this.pick(after);
    else if (accepted.length) this.pick({ type: "span", id: spanKey(accepted[0].id) });
  }

  /**
   * Accept one relation suggestion: with the spans it needs when they are suggestions (never replacing
   * a span: one that overlaps an accepted span is refused, saying why), and in place of a relation
   * between the same two spans with another label.
   */
  acceptRelation(suggestion) {
    const after = this.nextSuggestionAfter(suggestion.id);
    const { state, accepted, spans, replaced, skipped } = acceptRelationSuggestions(this.state, [suggestion],
      this.doc.suggestions, { allowOverlap: this.allowOverlap(), keepExisting: false, acceptSpans: true });
    if (!accepted.length) {
      const why = skipped.length ? this.whyLeft(skipped[0].reason, suggestion) : "it is there already";
      this.announce(`Relation ${this.relationText(suggestion)} not accepted: ${why}.`);
      return;
    }
    const withSpans = spans.length ? `, with its span${spans.length > 1 ? "s" : ""} `
      + spans.map((s) => `${s.label} ${this.quote(s)}`).join(" and ") : "";
    const instead = replaced.length ? ` (instead of ${replaced.map((r) => r.label).join(", ")})` : "";
    this.commit(state, `Accepted relation ${this.relationText(suggestion)}${withSpans}${instead}`);
    if (after && this.exists(after, this.state)) this.pick(after);
    else this.pick({ type: "relation", id: relationKey(accepted[0]) });
  }

  /** Why a relation suggestion was left (a reason from acceptRelationSuggestions), in words. */
  whyLeft(reason, suggestion) {
    const end = reason.end ? suggestion[reason.end] : null;
    const its = end ? `its ${reason.end} ${end.label} ${this.quote(end)}` : "";
    switch (reason.code) {
      case "span_rejected": return `${its} was rejected (Ctrl + Z brings it back)`;
      case "span_left": return `${its} is not accepted`;
      case "span_overlaps":
        return `${its} overlaps ${reason.span.label} ${this.quote(reason.span)}; accept that span suggestion first`
          + ` (it replaces ${reason.span.label})`;
      case "label_clash": return `these spans are related as ${reason.relation.label} already`;
      default: return `${its} is not on the page`;
    }
  }

  rejectSuggestion(id) {
    if (!this.editable()) return;
    const target = id ? this.findSuggestion(id) : this.targetSuggestion();
    if (!target || !target.s) { this.announce("No suggestion to reject."); return; }
    const suggestion = target.s;
    const after = this.nextSuggestionAfter(suggestion.id);
    const what = target.type === "relationSuggestion" ? `relation ${this.relationText(suggestion)}`
      : `${suggestion.label}: “${this.doc.text.slice(suggestion.start, suggestion.end)}”`;
    this.commit(rejectSuggestions(this.state, [suggestion.id]), `Rejected ${what}`);
    this.setUi({ picked: null });
    if (after) this.pick(after);
  }

  /** The suggestion drawn after the one with this id, as a pick ({type, id}), or null. */
  nextSuggestionAfter(id) {
    const items = this.suggestionsInOrder();
    const i = items.findIndex((item) => item.s.id === id);
    const next = i >= 0 ? items[i + 1] : null;
    return next ? { type: next.type, id: next.s.id } : null;
  }

  /** Whether Shift + A takes this span suggestion: any at threshold 0, else those scored at least the threshold. */
  aboveThreshold(suggestion) {
    return this.threshold <= 0 || (suggestion.score !== null && suggestion.score >= this.threshold);
  }

  /** Suggestions that clash with each other, which Shift + A leaves (a Set of ids): none here (first come wins). */
  rivals() { return new Set(); }

  /**
   * Shift + A: accept every suggestion drawn that does not clash. Spans first (one overlapping a span
   * is left), then relations whose spans are both in the annotation by then and that no relation with
   * another label holds already; rivals() are left to the user.
   */
  acceptAll() {
    if (!this.editable()) return;
    const shown = this.visible(this.state);
    const spans = shown.filter((s) => this.aboveThreshold(s));
    const relations = this.visibleRelations(this.state);
    if (!spans.length && !relations.length) {
      this.announce(shown.length ? `No suggestion scored ${this.threshold} or more to accept.` : "No suggestions to accept.");
      return;
    }
    const rivals = this.rivals(spans, relations);
    const allowOverlap = this.allowOverlap();
    const first = acceptSuggestions(this.state, spans.filter((s) => !rivals.has(s.id)),
      { allowOverlap, keepExisting: true });
    const second = acceptRelationSuggestions(first.state, relations.filter((r) => !rivals.has(r.id)),
      this.doc.suggestions, { allowOverlap, keepExisting: true, acceptSpans: false });
    const accepted = first.accepted.length + second.accepted.length;
    const reasons = [];
    const overlapping = first.skipped.length;
    if (overlapping) reasons.push(`${overlapping} overlap${overlapping === 1 ? "s" : ""} a span`);
    if (rivals.size) reasons.push(`${rivals.size} contradict${rivals.size === 1 ? "s" : ""} another suggestion`);
    const unready = second.skipped.filter((skip) => skip.reason.code !== "label_clash").length;
    if (unready) reasons.push(`${plural(unready, "relation")} need${unready === 1 ? "s" : ""} a span not accepted`);
    const clashing = second.skipped.length - unready;
    if (clashing) reasons.push(`${plural(clashing, "relation")} clash${clashing === 1 ? "es" : ""} with another label`);
    const below = shown.length - spans.length;
    if (below) reasons.push(`${below} scored below ${this.threshold}`);
    const leftCount = first.skipped.length + rivals.size + second.skipped.length + below;
    const left = leftCount ? `; ${leftCount} left: ${reasons.join(", ")}` : "";
    if (!accepted) { this.announce(`No suggestion accepted${left}.`); return; }
    let what = plural(accepted, "suggestion");
    if (!first.accepted.length) what = plural(accepted, "relation suggestion");
    else if (second.accepted.length) {
      what += ` (${plural(first.accepted.length, "span")}, ${plural(second.accepted.length, "relation")})`;
    }
    this.commit(second.state, `Accepted ${what}${left}`);
    this.setUi({ picked: null });
  }

  // Relations ----------------------------------------------------------------------------------

  startRelation() {
    if (!this.editable()) return;
    if (!this.relationLabels.length) { this.announce("This project has no relation labels."); return; }
    const picked = this.ui.picked;
    if (!picked || picked.type !== "span") { this.announce("Select the head span first, then press r."); return; }
    this.mode = { kind: "tail", head: picked.id };
    this.el.wrap.classList.add("relating");
    this.hint(`Relation from ${this.spanText(picked.id)}: click the tail span, or choose it with ] [ and press Enter. Esc cancels.`);
    this.updateButtons();
  }

  chooseTail(key) {
    const head = this.mode.head;
    if (spanKey(key) === head) { this.announce("A relation needs two different spans."); return; }
    if (this.relationLabels.length === 1) { this.finishRelation(head, key, this.relationLabels[0].name); return; }
    this.mode = { kind: "label", head, tail: key };
    this.pick({ type: "span", id: key });
    this.hint("Choose the relation label: its number or key, or click it. Esc cancels.");
    const range = this.view.spanRange(key);
    openChooser(this.el.chooser, this.relationLabels, range ? this.view.els[range[1]] : null);
  }

  finishRelation(head, tail, label) {
    this.cancelMode();
    const { state, relation } = addRelation(this.state, { head: findSpan(this.state, head).id, tail: findSpan(this.state, tail).id, label });
    if (!relation) { this.announce("That relation is there already."); return; }
    this.commit(state, `Added relation ${label}: ${this.spanText(head)} → ${this.spanText(tail)}`);
    this.pick({ type: "relation", id: relationKey(relation) });
  }

  cancelMode() {
    const hadChooser = !this.el.chooser.hidden;
    this.mode = null;
    this.el.wrap.classList.remove("relating");
    closeChooser(this.el.chooser);
    this.hint("");
    if (hadChooser) this.el.doc.focus({ preventScroll: true });
    this.updateButtons();
  }

  /** A click on an arc, or focus on it (Tab): select the relation or relation suggestion ({type, id}). */
  pickArc(picked, { fromFocus = false } = {}) {
    if (this.mode) return;
    const now = this.ui.picked;
    if (now && now.type === picked.type && now.id === picked.id) return;
    this.setUi({ picked });
    if (fromFocus) return;
    if (picked.type === "relationSuggestion") { this.announceSuggestion(picked.id); return; }
    const relation = this.state.relations.find((r) => relationKey(r) === picked.id);
    if (relation) this.announce(`Relation ${relation.label}: ${this.spanText(relation.head)} → ${this.spanText(relation.tail)}. Delete removes it; 1–9 changes its label.`);
  }

  relabelPickedRelation(label) {
    if (!this.editable()) return;
    const key = this.ui.picked.id;
    const relation = this.state.relations.find((r) => relationKey(r) === key);
    if (!relation || relation.label === label.name) return;
    const next = relabelRelation(this.state, key, label.name);
    this.commit(next, `Relation ${relation.label} → ${label.name}`);
    const moved = relationKey({ ...relation, label: label.name });
    this.setUi({ picked: next.relations.some((r) => relationKey(r) === moved) ? { type: "relation", id: moved } : null });
  }

  // Selection and cursor -----------------------------------------------------------------------

  pick(picked, { cursor } = {}) {
    let at = cursor;
    if (at === undefined && picked) {
      const range = picked.type === "span" ? this.view.spanRange(picked.id)
        : picked.type === "suggestion" ? this.view.suggestionRange(picked.id)
          : picked.type === "relationSuggestion" ? this.relationRange(this.relationSuggestion(picked.id)).span : null;
      at = range ? range[0] : this.ui.cursor;
    }
    if (at === undefined) at = this.ui.cursor;
    this.setUi({ picked, cursor: at, anchor: at, selection: [at, at] });
    this.reveal(at);
  }

  select(a, b, cursor = b) {
    this.setUi({ picked: null, cursor, anchor: cursor === b ? a : b, selection: [a, b] });
  }

  moveTo(k, extend) {
    const n = this.doc.units.length;
    k = Math.max(0, Math.min(n - 1, k));
    if (extend) {
      const anchor = this.ui.picked ? this.ui.cursor : this.ui.anchor;
      this.setUi({ picked: null, cursor: k, anchor, selection: [Math.min(anchor, k), Math.max(anchor, k)] });
    } else {
      this.setUi({ picked: null, cursor: k, anchor: k, selection: [k, k] });
    }
    this.reveal(k);
  }

  move(direction, extend) {
    const picked = this.ui.picked;
    let from = this.ui.cursor;
    if (picked && !extend) {
      const range = picked.type === "span" ? this.view.spanRange(picked.id)
        : picked.type === "suggestion" ? this.view.suggestionRange(picked.id) : null;
      if (range) { this.moveTo(direction > 0 ? range[1] + 1 : range[0] - 1, false); return; }
    }
    if (!picked && !extend && this.ui.selection[0] !== this.ui.selection[1]) {
      from = direction > 0 ? this.ui.selection[1] : this.ui.selection[0];
    }
    this.moveTo(from + direction, extend);
  }

  /** The unit on the next or previous visual line nearest to the cursor's x. */
  lineNeighbour(direction) {
    const els = this.view.els;
    const here = els[this.ui.cursor].getBoundingClientRect();
    const x = (here.left + here.right) / 2;
    let best = -1;
    let bestDistance = Infinity;
    let lineTop = null;
    for (let k = this.ui.cursor + direction; k >= 0 && k < els.length; k += direction) {
      const box = els[k].getBoundingClientRect();
      const sameLine = Math.abs(box.top - here.top) < here.height / 2;
      if (sameLine) continue;
      if (lineTop === null) lineTop = box.top;
      else if (Math.abs(box.top - lineTop) > here.height / 2) break;
      const distance = Math.abs((box.left + box.right) / 2 - x);
      if (distance < bestDistance) { bestDistance = distance; best = k; }
    }
    return best;
  }

  reveal(k) {
    const el = this.view.els[k];
    if (!el) return;
    const box = el.getBoundingClientRect();
    const top = this.root.querySelector(".ws-bar")?.getBoundingClientRect().bottom ?? 0;
    if (box.top < top + 8 || box.bottom > window.innerHeight - 8) el.scrollIntoView({ block: "center" });
  }

  /** The spans, then the suggestions, at unit k. */
  itemsAt(k) {
    return [
      ...this.view.spansAt(k).map((id) => ({ type: "span", id })),
      ...this.view.suggestionsAt(k).map((id) => ({ type: "suggestion", id })),
    ];
  }

  pickAtCursor() {
    const items = this.itemsAt(this.ui.cursor);
    if (this.mode && this.mode.kind === "tail") {
      const picked = this.ui.picked;
      if (picked && picked.type === "span" && picked.id !== this.mode.head) { this.chooseTail(picked.id); return; }
      const span = items.find((item) => item.type === "span" && item.id !== this.mode.head);
      if (span) this.chooseTail(span.id); else this.announce("No span under the cursor.");
      return;
    }
    if (!items.length) { this.announce("No span or suggestion under the cursor."); return; }
    const picked = this.ui.picked;
    const i = picked ? items.findIndex((item) => item.type === picked.type && item.id === picked.id) : -1;
    this.pickItem(items[(i + 1) % items.length]);
  }

  pickItem(item) {
    this.pick({ type: item.type, id: item.id });
    if (item.type === "span") {
      const span = findSpan(this.state, item.id);
      this.announce(`${span.label}: ${this.spanText(item.id)}`);
    } else if (item.type === "relationSuggestion") {
      this.announceSuggestion(item.id);
    } else {
      const s = this.suggestion(item.id);
      this.announce(`Suggestion ${s.label}: “${this.doc.text.slice(s.start, s.end)}” from ${s.model}. a accepts, x rejects.`);
    }
  }

  announceSuggestion(id) {
    const s = this.relationSuggestion(id);
    if (!s) return;
    this.announce(`Suggested relation ${this.relationText(s)} from ${s.who || "someone"}. a accepts, x rejects.`);
  }

  /** Spans, suggestions and relation suggestions in document order, as [{type, id, range}]: what ] and [ visit. */
  pickable() {
    const items = this.view.items();
    const relations = this.visibleRelations(this.state);
    if (!relations.length) return items;
    for (const s of relations) {
      const range = this.relationRange(s).span;
      if (range) items.push({ type: "relationSuggestion", id: s.id, range });
    }
    const rank = { span: 0, suggestion: 1, relationSuggestion: 2 };
    return items.sort((a, b) => a.range[0] - b.range[0] || a.range[1] - b.range[1] || rank[a.type] - rank[b.type]);
  }

  pickNext(direction) {
    let items = this.pickable();
    if (this.mode && this.mode.kind === "tail") items = items.filter((item) => item.type === "span" && item.id !== this.mode.head);
    if (!items.length) { this.announce("Nothing to select."); return; }
    const picked = this.ui.picked;
    let i = picked ? items.findIndex((item) => item.type === picked.type && item.id === picked.id) : -1;
    if (i >= 0) i += direction;
    else if (direction > 0) i = items.findIndex((item) => item.range[0] >= this.ui.cursor);
    else i = items.findLastIndex((item) => item.range[0] <= this.ui.cursor);
    if (i < 0 || i >= items.length) i = direction > 0 ? 0 : items.length - 1;
    this.pickItem(items[i]);
  }

  // Navigation ---------------------------------------------------------------------------------

  async navigate(open) {
    if (this.busy) return;
    if (this.saver && this.saver.dirty) {
      const saved = await this.saver.flush();
      if (!saved) { this.announce("Not moving on: this document could not be saved. See the message above."); return; }
    }
    await open();
  }

  async submit() {
    if (this.busy || !this.doc) return;
    this.cancelMode();
    if (this.readOnly) {
      await this.openNext();
      this.announce("Nothing was submitted: that document is reviewed, its annotation read-only.");
      return;
    }
    const saved = await this.saver.flush({ status: "submitted" });
    if (!saved) { this.announce("Not submitted: the annotation could not be saved."); return; }
    this.trail.unskip(this.doc.id);
    this.announce("Submitted.");
    await this.openNext();
  }

  async skip() {
    if (!this.doc) return;
    const id = this.doc.id;
    await this.navigate(async () => {
      this.trail.skip(id);
      await this.openNext();
      if (this.doc && this.doc.id !== id) this.announce(`Skipped document ${id}; it stays for later.`);
    });
  }

  async back() {
    const previous = this.doc ? this.trail.previous : this.trail.current;
    if (previous === null || previous === undefined) { this.announce("No earlier document in this session."); return; }
    await this.navigate(async () => {
      if (this.doc) this.trail.back();
      await this.openDocument(previous, { visit: false });
    });
  }

  async unskipAll() {
    this.trail.clearSkipped();
    await this.openNext();
  }

  // Conflicts ----------------------------------------------------------------------------------

  onSaverChange() {
    const saver = this.saver;
    renderSaveIndicator(this.el.save, saver);
    if (!saver) return;
    if (saver.status === "conflict") showBanner(this.el.banner, conflictBanner(saver.conflict));
    else if (saver.status === "failed") showBanner(this.el.banner, failureBanner(saver.error));
    else if (saver.locked) {
      showBanner(this.el.banner, lockedBanner({ unsaved: Boolean(saver.refused), code: saver.lockReason }));
    }
    else showBanner(this.el.banner, "");
    this.root.classList.toggle("read-only", saver.locked);
    this.showHeader();
    this.updateButtons();
  }

  /** After a 409 document_reviewed: draw the annotation as stored instead of the refused changes. */
  showStored() {
    const stored = this.saver && this.saver.refused;
    if (!stored) return;
    const annotation = annotationFromApi(stored, this.doc.maps);
    const next = makeState({ spans: annotation.spans, relations: annotation.relations, rejected: this.state.rejected });
    this.history = new History(next);
    this.saver.refused = null;
    this.doc.suggestions = [];
    this.doc.relationSuggestions = [];
    this.setUi({ picked: null });
    this.applyState(next);
    this.onSaverChange();
    this.announce(`Showing your annotation as stored (version ${stored.version}).`);
  }

  loadStored() {
    const stored = this.saver.conflict;
    if (!stored) return;
    const annotation = annotationFromApi(stored, this.doc.maps);
    const next = makeState({ spans: annotation.spans, relations: annotation.relations, rejected: this.state.rejected });
    this.saver.resolveWithStored(stored);
    this.history.push(next, `Loaded the stored version ${stored.version}`);
    this.applyState(next);
    this.saver.markStored();
    this.saver.touch();
    this.announce(`Loaded the stored version ${stored.version}. Ctrl + Z brings your version back.`);
  }

  async keepMine() {
    const saved = await this.saver.resolveKeepMine();
    if (saved) this.announce("Your version is saved over the stored one.");
  }

  // Actions the keys and clicks call (input.js) ------------------------------------------------

  clickSpan(key) {
    if (this.mode && this.mode.kind === "tail") { this.chooseTail(key); return; }
    this.pickItem({ type: "span", id: key });
    this.el.doc.focus({ preventScroll: true });
  }

  relationLabelChosen(label) {
    if (!label) return;
    if (this.mode && this.mode.kind === "label") { this.finishRelation(this.mode.head, this.mode.tail, label.name); return; }
    if (this.ui.picked && this.ui.picked.type === "relation") { this.relabelPickedRelation(label); return; }
    this.announce("Select a relation to relabel, or start one from a span with r.");
  }

  /**
   * Ctrl + → / ←: the cursor to the next (or previous) unit that may start a name (NAME_START) and is in no
   * span yet. With Shift + → and a label key, a two-word name takes three keys.
   */
  jumpToName(direction) {
    const units = this.doc.units;
    const picked = this.ui.picked;
    const range = (picked && picked.type === "span" && this.view.spanRange(picked.id))
      || (picked && picked.type === "suggestion" && this.view.suggestionRange(picked.id)) || this.ui.selection;
    const from = direction > 0 ? Math.max(range[1], this.ui.cursor) : Math.min(range[0], this.ui.cursor);
    for (let k = from + direction; k >= 0 && k < units.length; k += direction) {
      if (NAME_START.test(units[k].text) && this.view.spansAt(k).length === 0) { this.moveTo(k, false); return; }
    }
    this.announce(`No unlabelled name ${direction > 0 ? "after" : "before"} the cursor.`);
  }

  moveLineBy(direction, extend) {
    const k = this.lineNeighbour(direction);
    if (k >= 0) this.moveTo(k, extend);
    else this.moveTo(direction > 0 ? this.doc.units.length - 1 : 0, extend);
  }

  escape() {
    if (this.mode) { this.cancelMode(); this.announce("Cancelled."); return; }
    if (this.sticky) { this.setSticky(null); return; }
    if (this.ui.picked) { this.setUi({ picked: null }); return; }
    const c = this.ui.cursor;
    this.setUi({ selection: [c, c], anchor: c });
  }

  toggleDialog(dialog) {
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  // Feedback -----------------------------------------------------------------------------------

  updateButtons() {
    const picked = this.ui.picked;
    const set = (command, enabled) => {
      for (const button of this.root.querySelectorAll(`[data-command="${command}"]`)) button.disabled = !enabled;
    };
    const ready = Boolean(this.doc);
    const editable = ready && !this.readOnly;
    set("undo", editable && this.history.canUndo);
    set("redo", editable && this.history.canRedo);
    set("delete", editable && picked !== null);
    set("relation", editable && picked !== null && picked.type === "span" && this.relationLabels.length > 0 && !this.mode);
    const suggestions = ready
      ? this.visible(this.state).filter((s) => this.aboveThreshold(s)).length + this.visibleRelations(this.state).length
      : 0;
    set("acceptAll", editable && suggestions > 0);
    set("sticky", editable && Boolean(this.entityLabels && this.entityLabels.length));
    // With no document (nothing left, or none at all) nothing can be labelled, skipped or submitted.
    set("skip", ready);
    set("submit", ready);
    for (const bar of [this.el.labels, this.el.relations]) {
      for (const button of bar.querySelectorAll("button")) button.disabled = !editable;
    }
    const count = this.root.querySelector('[data-ws="suggestion-count"]');
    if (count) count.textContent = suggestions ? String(suggestions) : "";
  }

  hint(text) {
    this.el.hint.textContent = text;
    this.el.hint.hidden = !text;
  }

  announce(text) {
    if (!text) return;
    this.el.live.textContent = text;
    this.el.message.textContent = text;
    clearTimeout(this.messageTimer);
    this.messageTimer = setTimeout(() => { this.el.message.textContent = ""; }, 4000);
  }
}

/** The stored accept-all threshold, a number from 0 to 1 (0 when none is stored). */
function readThreshold(key) {
  let value = 0;
  try { value = Number(window.localStorage.getItem(key) || 0); } catch { /* private mode */ }
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
