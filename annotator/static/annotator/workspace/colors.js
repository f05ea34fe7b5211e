// Label colours: the label's own colour for chips, a light tint for highlights,
// a dark "ink" for outlines and text on light backgrounds.

const cache = new Map();

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

/** { color, tint, ink, text } for a label colour "#rrggbb". */
export function palette(hex) {
  let entry = cache.get(hex);
  if (!entry) {
    const rgb = parse(hex);
    const luminance = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
    entry = {
      color: css(rgb),
      tint: css(mix(rgb, [255, 255, 255], 0.55)),
      ink: css(mix(rgb, [0, 0, 0], 0.45)),
      text: luminance > 0.55 ? "#1f2328" : "#ffffff",
    };
    cache.set(hex, entry);
  }
  return entry;
}
