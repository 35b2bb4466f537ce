"""Horizontal bar charts of a few labelled figures (channels, hours, weekdays): one bar per row on one
scale, its label and value written beside it, so the chart reads by position and text, never colour.
A withheld figure ("<10") gets no bar, only its text. Geometry here; the SVG is
templates/analytics/_bars.html."""

from __future__ import annotations

from dataclasses import dataclass

from portal.analytics.privacy import HIDDEN, Figure

LABEL_WIDTH = 170
PLOT_WIDTH = 420
VALUE_WIDTH = 110
ROW_HEIGHT = 22
BAR_HEIGHT = 14


@dataclass(frozen=True)
class Bar:
    label: str
    text: str
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    plot_left: int


def bar_chart(title: str, rows: list[tuple[str, Figure]], formatter=str) -> BarChart | None:
    """None when every figure is zero or withheld: nothing to draw."""
    peak = max((figure.value for _label, figure in rows if figure.shown), default=0)
    if peak <= 0:
        return None
    bars = []
    for index, (label, figure) in enumerate(rows):
        width = PLOT_WIDTH * figure.value / peak if figure.shown else 0
        text = formatter(figure.value) if figure.shown else HIDDEN
        bars.append(Bar(label=label, text=text, y=index * ROW_HEIGHT, width=width))
    return BarChart(
        title=title,
        width=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        height=len(rows) * ROW_HEIGHT + 4,
        bars=bars,
        plot_left=LABEL_WIDTH,
    )
