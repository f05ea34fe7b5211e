"""offsets.js, the page's only code point <-> UTF-16 conversion, run in Chromium against Python's own counting."""

from __future__ import annotations

import pytest

from tests.annotator.conftest import FAMILY_TEXT

TEXTS = [
    "",
    "plain ASCII",
    FAMILY_TEXT,
    "🇷🇺🇸🇾 flags side by side",
    "e\u0301te\u0301 combining accents",
    "叙利亚 Homs 北京 and 𠀋 (outside the BMP)",
    "مرحبا بالعالم 👋🏽 right to left",
    "😀",
]


def utf16_offsets(text: str) -> list[int]:
    """For every code point offset 0..len(text), the UTF-16 offset (Python's view)."""
    return [len(text[:i].encode("utf-16-le")) // 2 for i in range(len(text) + 1)]


@pytest.fixture
def offsets_page(live_server, open_context, transactional_db):
    page = open_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    return page, f"{live_server.url}/static/annotator/workspace/offsets.js"


def test_offset_maps_round_trip_emoji_cjk_and_combining_marks(offsets_page):
    page, module = offsets_page
    for text in TEXTS:
        result = page.evaluate(
            """async ([module, text]) => {
                const { offsetMaps } = await import(module);
                const maps = offsetMaps(text);
                const toUtf16 = [];
                for (let i = 0; i <= maps.codePoints; i++) toUtf16.push(maps.toUtf16(i));
                const back = toUtf16.map((u) => maps.toCodePoint(u));
                return { codePoints: maps.codePoints, utf16Length: maps.utf16Length, toUtf16, back };
            }""",
            [module, text],
        )
        expected = utf16_offsets(text)
        assert result["codePoints"] == len(text), text
        assert result["utf16Length"] == expected[-1], text
        assert result["toUtf16"] == expected, text
        assert result["back"] == list(range(len(text) + 1)), text


def test_offset_maps_refuse_offsets_out_of_range_or_inside_a_surrogate_pair(offsets_page):
    page, module = offsets_page
    errors = page.evaluate(
        """async (module) => {
            const { offsetMaps } = await import(module);
            const maps = offsetMaps("a😀b");
            const attempt = (f) => { try { f(); return null; } catch (error) { return error.name; } };
            return [
                attempt(() => maps.toCodePoint(2)),   // between the two halves of 😀
                attempt(() => maps.toUtf16(4)),       // past the end (3 code points)
                attempt(() => maps.toCodePoint(-1)),
                attempt(() => maps.toUtf16(3)),       // the end itself is fine
                maps.toUtf16(2), maps.toCodePoint(3),
            ];
        }""",
        module,
    )
    assert errors == ["RangeError", "RangeError", "RangeError", None, 3, 2]


UNIT_TEXTS = [
    "Assad’s allies – “Russia” and Iran… helped‼",   # General Punctuation next to letters: no segmenter needed
    "Cafe\u0301’s e\u0301te\u0301—done",                # combining marks after a letter and before punctuation
    FAMILY_TEXT,
    "🇷🇺🇸🇾 flags side by side, ‼\ufe0f and 👋🏽’s",     # regional indicators, a variation selector, a skin tone
    "叙利亚霍姆斯’s 北京“quote”",
    # spaCy cuts these inside a grapheme (a combining mark or a ZWJ after punctuation): the units must not.
    "'\u0301s and “\u0301 and —\u0301 and …\u0301, then !\u200d and x\u200d👩",
]


def test_units_join_tokens_exactly_where_a_grapheme_spans_them(offsets_page):
    """document.js decides most token boundaries without Intl.Segmenter (loaded only when needed): it must agree
    with the segmenter everywhere."""
    import spacy

    page, module = offsets_page
    tokenizer = spacy.blank("en").tokenizer
    for text in UNIT_TEXTS:
        tokens = [{"start": len(text[:t.idx].encode("utf-16-le")) // 2,
                   "end": len(text[:t.idx + len(t.text)].encode("utf-16-le")) // 2} for t in tokenizer(text)]
        units, reference = page.evaluate(
            """async ([module, text, tokens]) => {
                const { buildUnits } = await import(module.replace("offsets.js", "document.js"));
                const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
                const starts = new Set([...graphemes.segment(text)].map((s) => s.index));
                // The same units, asking the segmenter at every boundary between adjacent tokens.
                const reference = [];
                for (const token of tokens) {
                    if (text.slice(token.start, token.end).trim() === "") continue;
                    const last = reference[reference.length - 1];
                    if (last && last.end === token.start && !starts.has(token.start)) last.end = token.end;
                    else reference.push({ start: token.start, end: token.end });
                }
                return [buildUnits(text, tokens).map((u) => [u.start, u.end]), reference.map((u) => [u.start, u.end])];
            }""",
            [module, text, tokens],
        )
        assert units == reference, text
        assert len(units) < len(tokens) or "🇷" not in text  # the flags were joined
