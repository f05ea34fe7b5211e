// Offsets at the page's edge.
//
// The API counts Unicode code points (Python str indexing); JavaScript strings
// count UTF-16 code units, where every character outside the Basic
// Multilingual Plane (most emoji, some CJK) takes two. Everything inside the
// page works in UTF-16 offsets; everything sent to or read from the API goes
// through one of these maps. All offsets are end-exclusive.
//
//   text = "🇷🇺 Moscow"   code points: 🇷=0 🇺=1 " "=2 M=3 ...   UTF-16: 🇷=0-1 🇺=2-3 " "=4 M=5 ...
//   maps.toUtf16(3) === 5; maps.toCodePoint(5) === 3

/**
 * Index maps between code point and UTF-16 offsets of one text.
 * toUtf16(cp) and toCodePoint(u16) accept 0..length (inclusive, for end offsets)
 * and throw RangeError outside it, or for a UTF-16 offset that splits a surrogate pair.
 */
export function offsetMaps(text) {
  const units = text.length;
  let astral = 0;
  for (let i = 0; i < units; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { astral++; i++; }
    }
  }
  const codePoints = units - astral;
  if (astral === 0) {
    // Only BMP characters: the two counts agree.
    const same = (offset) => {
      if (!Number.isInteger(offset) || offset < 0 || offset > units) {
        throw new RangeError(`offset ${offset} is outside 0..${units}`);
      }
      return offset;
    };
    return { codePoints, utf16Length: units, toUtf16: same, toCodePoint: same };
  }
  const cpToU16 = new Uint32Array(codePoints + 1);
  const u16ToCp = new Int32Array(units + 1);
  let cp = 0;
  for (let i = 0; i < units; i++) {
    cpToU16[cp] = i;
    u16ToCp[i] = cp;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        u16ToCp[i + 1] = -1; // the low half of a pair: no code point starts here
        i++;
      }
    }
    cp++;
  }
  cpToU16[codePoints] = units;
  u16ToCp[units] = codePoints;
  return {
    codePoints,
    utf16Length: units,
    toUtf16(offset) {
      if (!Number.isInteger(offset) || offset < 0 || offset > codePoints) {
        throw new RangeError(`code point offset ${offset} is outside 0..${codePoints}`);
      }
      return cpToU16[offset];
    },
    toCodePoint(offset) {
      if (!Number.isInteger(offset) || offset < 0 || offset > units) {
        throw new RangeError(`UTF-16 offset ${offset} is outside 0..${units}`);
      }
      const cp = u16ToCp[offset];
      if (cp < 0) throw new RangeError(`UTF-16 offset ${offset} splits a surrogate pair`);
      return cp;
    },
  };
}
