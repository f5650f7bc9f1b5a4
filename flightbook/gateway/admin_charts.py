"""The admin overview's charts, drawn here as SVG (no script, no CDN): bars, grouped bars and stacked bars
with their axis, labels and a <title> per bar, so the numbers can be read with a pointer or a screen reader.
Each chart's numbers are also a table (``rows``) that the page offers as CSV."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 40
COLOURS = ("#1f6feb", "#d97706", "#16a34a", "#9333ea", "#dc2626", "#0891b2")


@dataclass
class Chart:
    """A chart: one label per category, one series of numbers per name, and how a number reads."""
    slug: str
    title: str
    labels: list[str]
    series: dict[str, list[float]]
    unit: str = ""
    stacked: bool = False
    max_value: float | None = None  # e.g. 100 for percentages
    columns: list[str] = field(default_factory=list)  # CSV header: the label's name, then the series'

    def rows(self) -> list[list]:
        return [[label, *(self.series[name][i] for name in self.series)] for i, label in enumerate(self.labels)]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns or ["label", *self.series])
        for row in self.rows():
            writer.writerow([_plain(v) for v in row])
        return out.getvalue()

    def svg(self) -> Markup:
        return Markup(_draw(self))


def _plain(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1f} %"
    if unit and unit.isalpha() and len(unit) == 3:  # a currency: whole units
        return f"{unit} {value:,.2f}"
    return f"{value:,.0f}{(' ' + unit) if unit else ''}"


def _nice_top(value: float) -> float:
    """A round top for the axis, at least 4 so that its quarter lines fall on whole numbers."""
    if value <= 4:
        return 4.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _draw(chart: Chart) -> str:
    n = max(1, len(chart.labels))
    names = list(chart.series)
    totals = [sum(chart.series[s][i] for s in names) if chart.stacked else
              max((chart.series[s][i] for s in names), default=0) for i in range(len(chart.labels))]
    top = chart.max_value or _nice_top(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    groups = 1 if chart.stacked else max(1, len(names))
    bar_w = max(1.0, slot * 0.8 / groups)
    parts = [f'<svg class="chart" role="img" aria-labelledby="{chart.slug}-title" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
             f'<title id="{chart.slug}-title">{escape(chart.title)}</title>']
    for k in range(5):  # grid lines and the value axis
        value = top * k / 4
        y = TOP + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">'
                     f'{escape(_axis(value, chart.unit))}</text>')
    every = max(1, -(-n // 7))  # at most about seven category labels, so they never overlap
    for i, label in enumerate(chart.labels):
        x0 = LEFT + slot * i + slot * 0.1
        base: float = TOP + plot_h
        for j, name in enumerate(names):
            value = chart.series[name][i]
            h = plot_h * min(value, top) / top if top else 0
            x = x0 if chart.stacked else x0 + j * bar_w
            y = base - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(label)} · {escape(name)}: '
                         f'{escape(_number(value, chart.unit))}</title></rect>')
            if chart.stacked:
                base = y
        if i % every == 0:
            parts.append(f'<text x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                         f'fill="#4b5563">{escape(label)}</text>')
    if len(names) > 1 or chart.stacked:  # the legend
        lx: float = LEFT
        for j, name in enumerate(names):
            parts.append(f'<rect x="{lx:.0f}" y="{HEIGHT - 14}" width="10" height="10" '
                         f'fill="{COLOURS[j % len(COLOURS)]}"/>'
                         f'<text x="{lx + 14:.0f}" y="{HEIGHT - 5}" fill="#111827">{escape(name)}</text>')
            lx += 24 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _axis(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
