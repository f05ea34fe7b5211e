// Autosave: the annotation is PUT a moment after the last edit, carrying the
// version it was based on, one request at a time. Rejected suggestions are
// synced alongside (PUT/DELETE per suggestion).
//
// status: "saved" | "pending" (an edit not sent yet) | "saving" | "failed" | "conflict" | "locked".
// A 409 stops saving until the user picks a side (resolveWithStored /
// resolveKeepMine): nothing is overwritten and nothing typed is dropped.
// "locked": the annotation is read-only: the document is reviewed (on load, or a
// 409 document_reviewed) or all its k places went to others (409 document_full);
// nothing is saved any more and nothing is dirty. `refused.code` says which.

import { ApiError } from "./api.js";

const DEBOUNCE_MS = 700;
const RETRY_MS = [2000, 5000, 10000, 30000];

// The 409s after which nothing this page does to the document can be saved.
const READ_ONLY = new Set(["document_reviewed", "document_full"]);

export class Saver {
  /**
   * api: api.js client; documentId; version and status as loaded; rejected: the ids
   * already stored as rejected; payload(status, version) -> the PUT body;
   * onChange(saver) after every status change.
   */
  constructor({ api, documentId, version, status, rejected, payload, rejections, onChange, locked = false }) {
    this.api = api;
    this.documentId = documentId;
    this.version = version;
    this.annotationStatus = status;
    this.payload = payload;
    this.rejections = rejections; // () -> ids rejected in the current state
    this.onChange = onChange;
    this.syncedRejected = new Set(rejected);
    this.lastSaved = this.fingerprint(status);
    this.status = locked ? "locked" : "saved";
    this.error = null;
    this.conflict = null;
    this.refused = null; // the 409 document_reviewed body: the stored annotation
    this.timer = null;
    this.retries = 0;
    this.running = null;
    this.closed = false;
  }

  fingerprint(status) {
    const body = this.payload(status, 0);
    return JSON.stringify([body.spans, body.relations, body.status]);
  }

  get locked() { return this.status === "locked"; }

  /** Why it is locked: "document_reviewed" (on load too) or "document_full". */
  get lockReason() { return (this.error && this.error.body && this.error.body.code) || "document_reviewed"; }

  get dirty() {
    if (this.locked) return false; // nothing can be saved: nothing to wait for or warn about
    if (this.status === "conflict") return true;
    return this.fingerprint(this.annotationStatus) !== this.lastSaved || this.rejectionChanges().length > 0;
  }

  rejectionChanges() {
    const now = new Set(this.rejections());
    const changes = [];
    for (const id of now) if (!this.syncedRejected.has(id)) changes.push({ id, rejected: true });
    for (const id of this.syncedRejected) if (!now.has(id)) changes.push({ id, rejected: false });
    return changes;
  }

  setStatus(status, error = null) {
    this.status = status;
    this.error = error;
    this.onChange(this);
  }

  /** An edit happened: save soon. */
  touch() {
    if (this.closed || this.status === "conflict" || this.locked) return;
    clearTimeout(this.timer);
    if (!this.dirty) { if (!this.running) this.setStatus("saved"); return; }
    if (this.status !== "saving") this.setStatus("pending");
    this.timer = setTimeout(() => this.flush().catch(() => {}), DEBOUNCE_MS);
  }

  /**
   * Save now (waiting for a save in flight first). `status` changes the
   * annotation's status ("submitted"). Resolves true when everything is stored.
   */
  async flush({ status } = {}) {
    clearTimeout(this.timer);
    if (status) this.annotationStatus = status;
    while (this.running) await this.running.catch(() => {});
    if (this.status === "conflict" || this.locked) return false;
    if (!this.dirty) { this.setStatus("saved"); return true; }
    this.running = this.save();
    try {
      await this.running;
      return true;
    } catch (error) {
      return false;
    } finally {
      this.running = null;
    }
  }

  async save() {
    this.setStatus("saving");
    try {
      for (const change of this.rejectionChanges()) {
        if (change.rejected) await this.api.rejectSuggestion(change.id);
        else await this.api.unrejectSuggestion(change.id);
        if (change.rejected) this.syncedRejected.add(change.id); else this.syncedRejected.delete(change.id);
      }
      const fingerprint = this.fingerprint(this.annotationStatus);
      if (fingerprint !== this.lastSaved) {
        const stored = await this.api.saveAnnotation(this.documentId, this.payload(this.annotationStatus, this.version));
        this.version = stored.version;
        this.lastSaved = fingerprint;
      }
      this.retries = 0;
      if (this.dirty) {
        this.setStatus("pending");
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.flush().catch(() => {}), DEBOUNCE_MS);
      } else {
        this.setStatus("saved");
      }
    } catch (error) {
      this.handleError(error);
      throw error;
    }
  }

  handleError(error) {
    if (error instanceof ApiError && error.isConflict && error.body && READ_ONLY.has(error.body.code)) {
      clearTimeout(this.timer);
      this.refused = error.body;
      this.setStatus("locked", error);
      return;
    }
    if (error instanceof ApiError && error.isConflict) {
      this.conflict = error.body;
      this.setStatus("conflict", error);
      return;
    }
    this.setStatus("failed", error);
    const transient = !(error instanceof ApiError) || error.isTransient || error.isAuth;
    if (transient && !this.closed) {
      const wait = RETRY_MS[Math.min(this.retries, RETRY_MS.length - 1)];
      this.retries++;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush().catch(() => {}), wait);
    }
  }

  /** After a conflict: take the stored version (the caller shows it). */
  resolveWithStored(stored) {
    this.conflict = null;
    this.version = stored.version;
    this.annotationStatus = stored.status;
    this.setStatus("saved");
  }

  /** Mark what the page now shows as what is stored (after resolveWithStored and a redraw). */
  markStored() {
    this.lastSaved = this.fingerprint(this.annotationStatus);
    this.onChange(this);
  }

  /** After a conflict: keep this page's version, saved over the stored one. */
  resolveKeepMine() {
    const stored = this.conflict;
    this.conflict = null;
    this.version = stored ? stored.version : this.version;
    this.status = "pending";
    return this.flush();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
