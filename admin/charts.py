"""Charts drawn on the server as SVG: bars (grouped or stacked) and lines over days, nothing from a CDN.

The SVG goes into the page as markup: colours come from classes in admin.css (`series-N`), never from inline
styles (the CSP forbids them); every label is escaped. Each bar and point carries a <title> with its value, so
hovering (or a screen reader) gives the number; the page also lists the figures in a table. Every chart is drawn
twice, wide and narrow, and the stylesheet shows the one that fits the screen (text stays readable on a phone).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
SERIES_CLASSES = 8


@dataclass(frozen=True)
class Size:
    name: str
    width: int
    height: int
    x_labels: int  # at most this many labels on the x axis


SIZES = (Size("wide", 720, 240, 10), Size("narrow", 360, 240, 5))


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def _nice_max(value: float, least: float = 1.0) -> float:
    """Return an axis top of four equal, round steps (1, 2, 2.5 or 5 times a power of ten) covering `value`."""
    quarter = max(value, least, 1e-9) / 4
    power = 10 ** math.floor(math.log10(quarter))
    for step in (1, 2, 2.5, 5, 10):
        if quarter <= step * power + 1e-12:
            return float(4 * step * power)
    return float(40 * power)


def _short(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}" if value % 1 else str(int(value))


def _frame(size: Size, labels: Sequence[str], top: float, bottom: float, fmt: Callable[[float], str]) -> list[str]:
    """Return the gridlines, y labels and (thinned) x labels."""
    parts: list[str] = []
    plot_h = size.height - TOP - BOTTOM
    for step in range(5):
        value = bottom + (top - bottom) * step / 4
        y = TOP + plot_h - plot_h * step / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{size.width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>')
    count = max(len(labels), 1)
    slot = (size.width - LEFT - RIGHT) / count
    every = max(1, math.ceil(count / size.x_labels))
    for index, label in enumerate(labels):
        if (count - 1 - index) % every == 0:  # always label the last day
            x = LEFT + slot * (index + 0.5)
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{size.height - 8}" text-anchor="middle">{escape(label)}</text>'
            )
    return parts


def _figure(title: str, draw: Callable[[Size], list[str]], legend: Sequence[str]) -> Markup:
    keys = "".join(
        f'<li><span class="swatch series-{index % SERIES_CLASSES}"></span>{escape(name)}</li>'
        for index, name in enumerate(legend)
    )
    svgs = "".join(
        f'<svg class="chart chart-{size.name}" viewBox="0 0 {size.width} {size.height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">{"".join(draw(size))}</svg>'
        for size in SIZES
    )
    return Markup(f'<figure class="chart-figure">{svgs}<ul class="legend">{keys}</ul></figure>')


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], *, stacked: bool = False,
    fmt: Callable[[float], str] = _short, least: float = 4,
) -> Markup:  # fmt: skip
    """Bars per label: one per series side by side, or stacked. The axis reaches at least `least`."""
    totals = [
        sum(max(s.values[i] or 0, 0) for s in series) if stacked else max((s.values[i] or 0 for s in series), default=0)
        for i in range(len(labels))
    ]
    top = _nice_max(max(totals, default=0), least)

    def draw(size: Size) -> list[str]:
        parts = _frame(size, labels, top, 0, fmt)
        plot_h = size.height - TOP - BOTTOM
        slot = (size.width - LEFT - RIGHT) / max(len(labels), 1)
        width = slot * 0.72 / (1 if stacked else max(len(series), 1))
        for index, label in enumerate(labels):
            base: float = TOP + plot_h
            for number, one in enumerate(series):
                value = max(one.values[index] or 0, 0)
                height = plot_h * value / top
                x = LEFT + slot * index + slot * 0.14 + (0 if stacked else width * number)
                y = base - height
                tip = escape(f"{one.name} · {label}: {fmt(value)}")
                parts.append(
                    f'<rect class="bar series-{number % SERIES_CLASSES}" x="{x:.1f}" y="{y:.1f}" '
                    f'width="{max(width, 1):.1f}" height="{height:.1f}"><title>{tip}</title></rect>'
                )
                if stacked:
                    base = y
        return parts

    return _figure(title, draw, [one.name for one in series])


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], *, fmt: Callable[[float], str] = _short,
    floor: float | None = 0, least: float = 4,
) -> Markup:  # fmt: skip
    """Lines over the labels; a None value breaks the line (no data that day)."""
    values = [v for one in series for v in one.values if v is not None]
    low = min([*values, 0.0]) if floor is None else floor
    top = _nice_max(max(values, default=0) - low, least) + low

    def draw(size: Size) -> list[str]:
        parts = _frame(size, labels, top, low, fmt)
        plot_h = size.height - TOP - BOTTOM
        slot = (size.width - LEFT - RIGHT) / max(len(labels), 1)
        for number, one in enumerate(series):
            css = f"series-{number % SERIES_CLASSES}"
            points: list[tuple[float, float, float, str]] = []
            segments: list[list[tuple[float, float]]] = [[]]
            for index, value in enumerate(one.values):
                if value is None:
                    segments.append([])
                    continue
                x = LEFT + slot * (index + 0.5)
                y = TOP + plot_h - plot_h * (value - low) / (top - low or 1)
                segments[-1].append((x, y))
                points.append((x, y, value, labels[index]))
            for segment in segments:
                if len(segment) > 1:
                    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                    parts.append(f'<polyline class="line {css}" points="{path}"/>')
            for x, y, value, label in points:
                tip = escape(f"{one.name} · {label}: {fmt(value)}")
                parts.append(f'<circle class="dot {css}" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{tip}</title></circle>')
        return parts

    return _figure(title, draw, [one.name for one in series])
