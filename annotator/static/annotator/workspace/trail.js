// Where the annotator has been in this browser tab: the documents opened in
// order (for Back) and those skipped (left for later). Kept in sessionStorage
// per project, so a reload keeps both and another tab has its own.

export class Trail {
  constructor(projectId, storage = window.sessionStorage) {
    this.key = `annotator:${projectId}:trail`;
    this.storage = storage;
    let saved = null;
    try { saved = JSON.parse(storage.getItem(this.key) || "null"); } catch { saved = null; }
    this.ids = Array.isArray(saved?.ids) ? saved.ids : [];
    this.pos = Number.isInteger(saved?.pos) ? saved.pos : this.ids.length - 1;
    this.skipped = Array.isArray(saved?.skipped) ? saved.skipped : [];
  }

  save() {
    try {
      this.storage.setItem(this.key, JSON.stringify({ ids: this.ids, pos: this.pos, skipped: this.skipped }));
    } catch { /* storage full or disabled: the trail lives for this page only */ }
  }

  get current() { return this.pos >= 0 ? this.ids[this.pos] : null; }
  get previous() { return this.pos > 0 ? this.ids[this.pos - 1] : null; }

  /** A document opened going forward (next, or by its address). */
  visit(id) {
    if (this.current === id) return;
    this.ids = this.ids.slice(0, this.pos + 1).filter((other) => other !== id);
    this.ids.push(id);
    if (this.ids.length > 200) this.ids = this.ids.slice(-200);
    this.pos = this.ids.length - 1;
    this.save();
  }

  /** Step back; returns the id to open, or null at the start. */
  back() {
    if (this.pos <= 0) return null;
    this.pos--;
    this.save();
    return this.ids[this.pos];
  }

  skip(id) {
    if (!this.skipped.includes(id)) this.skipped.push(id);
    this.save();
  }

  unskip(id) {
    this.skipped = this.skipped.filter((other) => other !== id);
    this.save();
  }

  clearSkipped() {
    this.skipped = [];
    this.save();
  }
}
