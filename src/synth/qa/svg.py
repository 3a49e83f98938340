"""Small inline-SVG charts for the QA report: no matplotlib, no JS, no external fonts.

Each function returns one `<svg>` element as a string, sized by its viewBox so the page
can scale it. Every chart carries a `<title>` (what screen readers and hover show) and
each bar or point its own `<title>` with the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#3b6ea8", "#d9822b", "#4a9a5b", "#a84a8f", "#7a7a7a", "#b8a229")
REJECT_FILL = "#e8a0a0"
FLAG_FILL = "#c0392b"
AXIS = "#555"
GRID = "#e4e4e4"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"

# Plot area inside the viewBox.
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 30, 44


@dataclass
class Band:
    """A shaded x-range: where a filter rejects (lo/hi None = open to the plot edge)."""

    lo: float | None
    hi: float | None
    label: str


@dataclass
class Series:
    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def fmt_num(v: float) -> str:
    """Compact tick label: 1200 -> 1.2k, 0.25 -> 0.25."""
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:g}G"
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e4:
        return f"{v / 1e3:g}k"
    if a == int(a):
        return str(int(v))
    return f"{v:.3g}"


class _Frame:
    """Maps data coordinates to the plot area of a width x height viewBox."""

    def __init__(self, width: int, height: int, x0: float, x1: float, y0: float, y1: float):
        self.w, self.h = width, height
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        self.y0, self.y1 = y0, y1 if y1 > y0 else y0 + 1

    def x(self, v: float) -> float:
        span = self.w - LEFT - RIGHT
        return LEFT + (v - self.x0) / (self.x1 - self.x0) * span

    def y(self, v: float) -> float:
        span = self.h - TOP - BOTTOM
        return self.h - BOTTOM - (v - self.y0) / (self.y1 - self.y0) * span


def _open(width: int, height: int, title: str, cls: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" style="{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="600" fill="#222">{escape(title)}</text>',
    ]


def _axes(
    f: _Frame, xlabel: str, ylabel: str, xticks: list[float], yticks: list[float]
) -> list[str]:
    out = []
    for t in yticks:
        y = f.y(t)
        out.append(
            f'<line x1="{LEFT}" x2="{f.w - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="{AXIS}">'
            f"{fmt_num(t)}</text>"
        )
    base = f.h - BOTTOM
    for t in xticks:
        x = f.x(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}" stroke="{AXIS}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{base + 15}" font-size="10" text-anchor="middle" fill="{AXIS}">'
            f"{fmt_num(t)}</text>"
        )
    out.append(f'<line x1="{LEFT}" x2="{f.w - RIGHT}" y1="{base}" y2="{base}" stroke="{AXIS}"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}" stroke="{AXIS}"/>')
    out.append(
        f'<text x="{(LEFT + f.w - RIGHT) / 2:.1f}" y="{f.h - 8}" font-size="11" text-anchor="middle" '
        f'fill="{AXIS}">{escape(xlabel)}</text>'
    )
    if ylabel:
        cy = (TOP + base) / 2
        out.append(
            f'<text x="12" y="{cy:.1f}" font-size="11" text-anchor="middle" fill="{AXIS}" '
            f'transform="rotate(-90 12 {cy:.1f})">{escape(ylabel)}</text>'
        )
    return out


def _x_range(edges: Sequence[float], bands: Sequence[Band]) -> tuple[float, float]:
    """The data range, widened to show band edges that lie near it (not far-off ones:
    a length cap of 32768 would squash a corpus of 200-token samples)."""
    lo, hi = float(edges[0]), float(edges[-1])
    span = hi - lo or 1.0
    for b in bands:
        for v in (b.lo, b.hi):
            if v is not None and lo - span * 0.5 <= v <= hi + span * 0.5:
                lo, hi = min(lo, v - span * 0.03), max(hi, v + span * 0.03)
    return lo, hi


def histogram(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    title: str,
    xlabel: str,
    bands: Sequence[Band] = (),
    width: int = 560,
    height: int = 220,
) -> str:
    """Bars over `edges` (len(counts) + 1 values), with filter reject bands shaded."""
    if not counts or len(edges) != len(counts) + 1:
        return _empty(title, width, height, "no data")
    x0, x1 = _x_range(edges, bands)
    top = max(counts) or 1
    yticks = nice_ticks(0, top, 4)
    f = _Frame(width, height, x0, x1, 0, max(top, yticks[-1] if yticks else top))
    out = _open(width, height, title, "histogram")
    out += _bands(f, bands)
    out += _axes(f, xlabel, "rows", nice_ticks(x0, x1, 6), yticks)
    for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True):
        if c <= 0:
            continue
        xa, xb = f.x(lo), f.x(hi)
        y = f.y(c)
        out.append(
            f'<rect class="bar" x="{xa:.2f}" y="{y:.2f}" width="{max(xb - xa - 0.6, 0.6):.2f}" '
            f'height="{f.h - BOTTOM - y:.2f}" fill="{PALETTE[0]}">'
            f"<title>{fmt_num(lo)}–{fmt_num(hi)}: {c:,} rows</title></rect>"
        )
    out.append("</svg>")
    return "".join(out)


def _bands(f: _Frame, bands: Sequence[Band]) -> list[str]:
    out = []
    for b in bands:
        lo = f.x0 if b.lo is None else max(b.lo, f.x0)
        hi = f.x1 if b.hi is None else min(b.hi, f.x1)
        if hi > lo:
            out.append(
                f'<rect class="band" x="{f.x(lo):.2f}" y="{TOP}" width="{f.x(hi) - f.x(lo):.2f}" '
                f'height="{f.h - TOP - BOTTOM}" fill="{REJECT_FILL}" fill-opacity="0.45">'
                f"<title>{escape(b.label)}</title></rect>"
            )
        edge = b.hi if b.lo is None else b.lo
        if edge is not None:
            out += _band_edge(f, edge, b.label)
    return out


def _band_edge(f: _Frame, edge: float, label: str) -> list[str]:
    """A dashed line at the band's edge, or a note at the plot's side when it is off scale
    (the reader should still see that the data sits far inside the band)."""
    if edge < f.x0 or edge > f.x1:
        left = edge < f.x0
        x = LEFT + 3 if left else f.w - RIGHT - 3
        text = f"← {label}" if left else f"{label} →"
        return [
            f'<text class="band-note" x="{x}" y="{TOP + 11}" font-size="10" '
            f'text-anchor="{"start" if left else "end"}" fill="{FLAG_FILL}">{escape(text)}</text>'
        ]
    x = f.x(edge)
    room_left = x - LEFT > 90  # keep the label inside the plot area
    anchor, dx = ("end", -3) if room_left else ("start", 3)
    return [
        f'<line x1="{x:.2f}" x2="{x:.2f}" y1="{TOP}" y2="{f.h - BOTTOM}" stroke="{FLAG_FILL}" '
        f'stroke-dasharray="4 3"/>',
        f'<text x="{x + dx:.2f}" y="{TOP + 11}" font-size="10" text-anchor="{anchor}" '
        f'fill="{FLAG_FILL}">{escape(label)}</text>',
    ]


def line_plot(
    series: Sequence[Series],
    *,
    title: str,
    xlabel: str,
    ylabel: str = "",
    markers: Sequence[tuple[float, str]] = (),
    y_min: float | None = 0.0,
    width: int = 560,
    height: int = 220,
) -> str:
    """One polyline per series; `markers` are labelled vertical lines (stage starts)."""
    pts = [(x, y) for s in series for x, y in zip(s.xs, s.ys, strict=True) if y is not None]
    if not pts:
        return _empty(title, width, height, "no data")
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    lo_y = min(ys) if y_min is None else min(y_min, min(ys))
    yticks = nice_ticks(lo_y, max(ys), 4)
    f = _Frame(width, height, min(xs), max(xs), lo_y, max(max(ys), yticks[-1] if yticks else 0))
    out = _open(width, height, title, "line")
    out += _axes(f, xlabel, ylabel, nice_ticks(f.x0, f.x1, 6), yticks)
    for x, label in markers:
        if f.x0 <= x <= f.x1:
            px = f.x(x)
            out.append(
                f'<line class="marker" x1="{px:.2f}" x2="{px:.2f}" y1="{TOP}" y2="{f.h - BOTTOM}" '
                f'stroke="#999" stroke-dasharray="2 3"/>'
                f'<text x="{px + 2:.2f}" y="{TOP + 9}" font-size="9" fill="#777">{escape(label)}</text>'
            )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        coords = [
            f"{f.x(x):.2f},{f.y(y):.2f}" for x, y in zip(s.xs, s.ys, strict=True) if y is not None
        ]
        if not coords:
            continue
        out.append(
            f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.8" '
            f'points="{" ".join(coords)}"><title>{escape(s.name)}</title></polyline>'
        )
    if len(series) > 1:
        for i, s in enumerate(series):
            x = f.w - RIGHT - 150
            y = TOP + 12 + 14 * i
            color = PALETTE[i % len(PALETTE)]
            out.append(
                f'<rect x="{x}" y="{y - 8}" width="10" height="3" fill="{color}"/>'
                f'<text x="{x + 14}" y="{y - 4}" font-size="10" fill="#333">{escape(s.name)}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    flagged: Sequence[bool] | None = None,
    value_fmt: str = "{:,.0f}",
    width: int = 560,
    label_width: int = 190,
) -> str:
    """Horizontal bars, one per label (long template names fit); flagged bars in red."""
    if not labels:
        return _empty(title, width, 120, "no data")
    bar_h, gap = 16, 5
    height = TOP + len(labels) * (bar_h + gap) + 34
    top = max(max(values), 0) or 1
    x_of = _linear(0, top, label_width, width - RIGHT - 60)
    out = _open(width, height, title, "bars")
    for t in nice_ticks(0, top, 4):
        x = x_of(t)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height - 30}" stroke="{GRID}"/>'
            f'<text x="{x:.1f}" y="{height - 18}" font-size="10" text-anchor="middle" '
            f'fill="{AXIS}">{fmt_num(t)}</text>'
        )
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = TOP + i * (bar_h + gap)
        color = FLAG_FILL if flagged and flagged[i] else PALETTE[0]
        w = max(x_of(max(v, 0)) - label_width, 0.5)
        short = label if len(label) <= 30 else label[:29] + "…"
        out.append(
            f'<text x="{label_width - 6}" y="{y + 12}" font-size="11" text-anchor="end" '
            f'fill="#333">{escape(short)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y}" width="{w:.2f}" height="{bar_h}" '
            f'fill="{color}"><title>{escape(label)}: {escape(value_fmt.format(v))}</title></rect>'
            f'<text x="{label_width + w + 4:.2f}" y="{y + 12}" font-size="10" '
            f'fill="#333">{escape(value_fmt.format(v))}</text>'
        )
    out.append(
        f'<text x="{(label_width + width) / 2:.1f}" y="{height - 4}" font-size="11" '
        f'text-anchor="middle" fill="{AXIS}">{escape(xlabel)}</text></svg>'
    )
    return "".join(out)


def _linear(d0: float, d1: float, r0: float, r1: float):
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def _empty(title: str, width: int, height: int, note: str) -> str:
    out = _open(width, height, title, "empty")
    out.append(
        f'<text x="{width / 2}" y="{height / 2}" font-size="12" text-anchor="middle" '
        f'fill="#888">{escape(note)}</text></svg>'
    )
    return "".join(out)
