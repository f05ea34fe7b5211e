"""Charts drawn on the server as SVG: no script, no library, readable without colour.

One function per chart, from plain numbers to an SVG string, every text escaped.
"""

from __future__ import annotations

from django.utils.html import escape

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 140
BAR_WIDTH = 320
VALUE_WIDTH = 70


def bar_chart_svg(rows: list[tuple[str, float | None, str]], *, title: str, empty: str = "No data yet.") -> str:
    """Horizontal bars for values in [0, 1]: ``rows`` are ``(name, value or None, "#rrggbb")``.

    A None value draws no bar and says "n/a". The SVG has a <title> and each
    bar a <title> of its own, so screen readers and tooltips read the numbers.
    """
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    if not rows:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="30" '
                f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
                f'<text x="0" y="20" class="empty">{escape(empty)}</text></svg>')
    height = len(rows) * (BAR_HEIGHT + GAP) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for tick in (0, 0.5, 1):
        x = LABEL_WIDTH + tick * BAR_WIDTH
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 18}" stroke="#d0d7de" />'
                     f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" class="tick">{tick:g}</text>')
    for i, (name, value, color) in enumerate(rows):
        y = i * (BAR_HEIGHT + GAP) + 4
        shown = "n/a" if value is None else f"{value:.2f}"
        parts.append(f'<g class="bar"><title>{escape(name)}: {shown}</title>'
                     f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT * 0.7:.1f}" text-anchor="end">{escape(name)}</text>')
        if value is not None:
            w = max(0.0, min(1.0, value)) * BAR_WIDTH
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" rx="3" '
                         f'fill="{escape(color)}" stroke="#57606a" stroke-width="0.5" />')
        parts.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + BAR_HEIGHT * 0.7:.1f}">{shown}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
