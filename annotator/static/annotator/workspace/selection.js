// Mouse selections, snapped to whole units (tokens).
//
// A drag from one unit to another needs none of this (input.js takes the
// units pressed and released on), nor a double-click (the unit under the
// pointer). A drag that starts or ends between units leaves a native
// selection that is read once, turned into a [first, last] unit range, and
// cleared: from then on the page draws the selection itself. Any part of a
// token selected selects the whole token; a selection that touches only
// whitespace selects nothing.

/** The [first, last] unit range under the window's selection inside `root`, or null. */
export function selectedUnits(root, unitCount) {
  const selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!root.contains(range.commonAncestorContainer)) return null;
  const first = boundaryUnit(root, range.startContainer, range.startOffset, "start", unitCount);
  const last = boundaryUnit(root, range.endContainer, range.endOffset, "end", unitCount);
  if (first === null || last === null || first > last) return null;
  return [first, last];
}

function unitElementOf(root, node) {
  let element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
  while (element && element !== root) {
    if (element.classList.contains("u")) return element;
    element = element.parentElement;
  }
  return null;
}

const index = (element) => Number(element.dataset.k);

/** The unit a range boundary falls in; a boundary in the whitespace between units snaps inwards. */
function boundaryUnit(root, container, offset, side, unitCount) {
  const unit = unitElementOf(root, container);
  if (unit) {
    const k = index(unit);
    const text = unit.firstChild;
    // A start at the very end of a word, or an end at its very beginning, selects none of it.
    const atEnd = (container === text && offset >= text.length) || (container === unit && offset >= 1)
      || (container !== text && container !== unit); // inside the unit's label chip
    const atStart = (container === text || container === unit) && offset === 0;
    if (side === "start" && atEnd) return k + 1 < unitCount ? k + 1 : null;
    if (side === "end" && atStart) return k > 0 ? k - 1 : null;
    return k;
  }
  // Between units: the first unit after the boundary starts a selection; the one before it ends one.
  const after = firstUnitAfter(root, container, offset, unitCount);
  if (side === "start") return after < unitCount ? after : null;
  return after > 0 ? after - 1 : null;
}

/** Index of the first unit at or after the boundary point (container, offset); unitCount if none. */
function firstUnitAfter(root, container, offset, unitCount) {
  let node;
  if (container.nodeType === Node.TEXT_NODE) node = container;
  else node = container.childNodes[offset] || null;
  if (node === null) {
    // After the container's last child: the first node following the container.
    node = container;
    while (node && node !== root && !node.nextSibling) node = node.parentNode;
    if (!node || node === root) return unitCount;
    node = node.nextSibling;
  }
  if (node.nodeType === Node.ELEMENT_NODE && node.classList.contains("u")) return index(node);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT, {
    acceptNode: (n) => (n.classList.contains("u") ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP),
  });
  walker.currentNode = node;
  const next = walker.nextNode();
  return next ? index(next) : unitCount;
}
