// Undo and redo over whole annotation states.
//
// States are immutable values (state/annotation.js never mutates one), so a
// step is just the state after an edit plus a few words saying what it did.

export class History {
  constructor(initial, { limit = 1000 } = {}) {
    this.limit = limit;
    this.reset(initial);
  }

  reset(state) {
    this.entries = [{ state, what: "" }];
    this.index = 0;
  }

  get current() { return this.entries[this.index].state; }
  get canUndo() { return this.index > 0; }
  get canRedo() { return this.index < this.entries.length - 1; }

  /** Record `state` as the result of an edit described by `what`; drops any redo steps. */
  push(state, what) {
    this.entries.length = this.index + 1;
    this.entries.push({ state, what });
    if (this.entries.length > this.limit) this.entries.shift();
    this.index = this.entries.length - 1;
    return state;
  }

  /** Step back; returns { state, what } of the undone edit, or null. */
  undo() {
    if (!this.canUndo) return null;
    const what = this.entries[this.index].what;
    this.index--;
    return { state: this.current, what };
  }

  /** Step forward; returns { state, what } of the redone edit, or null. */
  redo() {
    if (!this.canRedo) return null;
    this.index++;
    return { state: this.current, what: this.entries[this.index].what };
  }
}
