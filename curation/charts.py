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


PLOT_WIDTH = 420
PLOT_HEIGHT = 200
MARGIN_LEFT = 48
MARGIN_BOTTOM = 40
LEGEND_WIDTH = 140


def line_chart_svg(series: list[tuple[str, str, list[tuple[float, float | None, str]]]], *, title: str,
                   x_label: str, y_label: str, empty: str = "No data yet.") -> str:
    """Lines of points with y in [0, 1] over x from 0 to the largest x: ``series`` are
    ``(name, "#rrggbb", [(x, y or None, point title)])``; a None y is left out.

    Each point is a circle with a <title> (its name, x, y and ``point title``), so the numbers are
    read out and shown on hover; the legend names each line.
    """
    points = [(x, y) for _, _, rows in series for x, y, _ in rows if y is not None]
    width = MARGIN_LEFT + PLOT_WIDTH + LEGEND_WIDTH
    if not points:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="30" '
                f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
                f'<text x="0" y="20" class="empty">{escape(empty)}</text></svg>')
    height = PLOT_HEIGHT + MARGIN_BOTTOM + 10
    x_max = max(x for x, _ in points) or 1

    def at(x: float, y: float) -> tuple[float, float]:
        return MARGIN_LEFT + x / x_max * PLOT_WIDTH, 10 + (1 - max(0.0, min(1.0, y))) * PLOT_HEIGHT

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        _, y = at(0, tick)
        parts.append(f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{MARGIN_LEFT + PLOT_WIDTH}" y2="{y:.1f}" '
                     f'stroke="#d0d7de" /><text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'class="tick">{tick:g}</text>')
    for tick in (0, x_max / 2, x_max):
        x, _ = at(tick, 0)
        parts.append(f'<text x="{x:.1f}" y="{PLOT_HEIGHT + 26}" text-anchor="middle" class="tick">{tick:g}</text>')
    parts.append(f'<text x="{MARGIN_LEFT + PLOT_WIDTH / 2}" y="{height - 2}" text-anchor="middle">'
                 f'{escape(x_label)}</text><text x="12" y="{10 + PLOT_HEIGHT / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {10 + PLOT_HEIGHT / 2})">{escape(y_label)}</text>')
    for i, (name, color, rows) in enumerate(series):
        drawn = [(x, y, note) for x, y, note in rows if y is not None]
        coords = [at(x, y) for x, y, _ in drawn]
        parts.append(f'<g class="series" data-series="{escape(name)}">')
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{escape(color)}" stroke-width="2" />')
        for (x, y, note), (cx, cy) in zip(drawn, coords):
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{escape(color)}" stroke="#24292f" '
                         f'stroke-width="0.5"><title>{escape(name)} {escape(note)}: {y:.3f} at {x:g}</title></circle>')
        legend_y = 20 + i * 18
        parts.append(f'<rect x="{MARGIN_LEFT + PLOT_WIDTH + 16}" y="{legend_y - 9}" width="10" height="10" '
                     f'fill="{escape(color)}" /><text x="{MARGIN_LEFT + PLOT_WIDTH + 32}" y="{legend_y}">'
                     f'{escape(name)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
