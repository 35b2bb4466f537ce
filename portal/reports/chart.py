"""Collections per day per agency as small multiples: one labelled row of bars per agency on a shared
scale, so the chart reads by position and text alone, never by colour. Geometry here; the SVG markup
(escaped like any page) is templates/reports/_chart.html."""

from __future__ import annotations

from dataclasses import dataclass

from portal.money import format_fen
from portal.reports.collections import CollectionSummary

LABEL_WIDTH = 150
PLOT_WIDTH = 560
ROW_HEIGHT = 46
BAR_AREA = 34
TOP = 8
AXIS_HEIGHT = 22


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Panel:
    label: str
    total: str
    top: float
    baseline: float
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    panels: list[Panel]
    scale_label: str  # what a full-height bar stands for
    first_day: str
    last_day: str
    plot_left: int
    plot_right: int
    axis_y: float


def collections_chart(summary: CollectionSummary, locale: str) -> Chart | None:
    """None when there is nothing to draw."""
    if not summary.agencies or not summary.days:
        return None
    peak = max((cell.net_fen for cell in summary.cells.values()), default=0)
    slot = PLOT_WIDTH / len(summary.days)
    panels = []
    for row, agency in enumerate(summary.agencies):
        top = TOP + row * ROW_HEIGHT
        baseline = top + BAR_AREA
        name = agency.name_for(locale)
        bars = []
        for index, day in enumerate(summary.days):
            net = summary.cell(day, agency.code).net_fen
            height = BAR_AREA * max(net, 0) / peak if peak > 0 else 0
            bars.append(
                Bar(
                    x=LABEL_WIDTH + index * slot + slot * 0.15,
                    y=baseline - height,
                    width=max(slot * 0.7, 0.5),
                    height=height,
                    title=f"{day.isoformat()} {name}: {format_fen(net)}",
                )
            )
        total = format_fen(summary.by_agency[agency.code].net_fen)
        panels.append(Panel(label=name, total=total, top=top, baseline=baseline, bars=bars))
    axis_y = TOP + len(panels) * ROW_HEIGHT
    return Chart(
        width=LABEL_WIDTH + PLOT_WIDTH + 10,
        height=int(axis_y + AXIS_HEIGHT),
        panels=panels,
        scale_label=format_fen(max(peak, 0)),
        first_day=summary.days[0].isoformat(),
        last_day=summary.days[-1].isoformat(),
        plot_left=LABEL_WIDTH,
        plot_right=LABEL_WIDTH + PLOT_WIDTH,
        axis_y=axis_y,
    )
