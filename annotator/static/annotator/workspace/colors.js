// Label colours: the label's own colour for chips, a light tint for highlights,
// a dark "ink" for outlines and text on light backgrounds.
//
// Any colour can be a label's (the palette's pastels, or one a project admin
// chose), so each derived colour is pushed until its text reads at WCAG AA
// (4.5:1): chip text is dark or white, whichever contrasts more with the
// label's colour; the tint gets lighter and the ink darker as far as needed.

const cache = new Map();

export const TEXT = "#1f2328";    // the page's text colour (base.css --fg): text on tints
export const AA = 4.5;            // WCAG 2 AA for normal text
const INK_CONTRAST = 5;           // ink on white: a margin so it reads on the pale yellow of a picked suggestion too

function parse(hex) {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
  const n = parseInt(m ? m[1] : "8c959f", 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function mix(rgb, other, amount) {
  return rgb.map((c, i) => Math.round(c + (other[i] - c) * amount));
}

function css(rgb) {
  return `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

/** WCAG 2 relative luminance of [r, g, b] (0-255 each). */
export function luminance(rgb) {
  const linear = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
}

/** WCAG 2 contrast ratio of two colours "#rrggbb" (1 to 21). */
export function contrast(a, b) {
  const [x, y] = [luminance(parse(a)), luminance(parse(b))];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/** `rgb` mixed towards `other` in steps until `good(result)`: the least change that reads. */
function pushed(rgb, other, start, good) {
  for (let amount = start; amount < 1; amount += 0.05) {
    const candidate = css(mix(rgb, other, amount));
    if (good(candidate)) return candidate;
  }
  return css(other);
}

/** { color, tint, ink, text } for a label colour "#rrggbb". */
export function palette(hex) {
  let entry = cache.get(hex);
  if (!entry) {
    const rgb = parse(hex);
    const color = css(rgb);
    // Dark or white text on the colour; on a mid grey neither reaches 4.5:1, black does.
    let text = contrast(color, TEXT) >= contrast(color, "#ffffff") ? TEXT : "#ffffff";
    if (contrast(color, text) < AA) text = "#000000";
    entry = {
      color,
      text,
      tint: pushed(rgb, [255, 255, 255], 0.55, (tint) => contrast(tint, TEXT) >= AA),
      ink: pushed(rgb, [0, 0, 0], 0.45, (ink) => contrast(ink, "#ffffff") >= INK_CONTRAST),
    };
    cache.set(hex, entry);
  }
  return entry;
}
