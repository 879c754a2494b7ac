"""Charts of the reports, defined once: the PDFs draw them with matplotlib (Agg backend,
Noto Sans CJK, PNG embedded by `shared.pdf`) and the console hands the same figures to its
chart library (ECharts). A chart is built from a report's JSON (the API contract), so the
service that writes the PDF and the console that reads the API show the same numbers.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from shared.pdf import REGULAR, font_file

# Noto Sans CJK's collection holds every CJK region; SC first, DejaVu for Latin fallbacks.
FAMILIES = ["Noto Sans CJK SC", "DejaVu Sans"]
COLOURS = ("#0d6efd", "#adb5bd", "#b02a37", "#198754", "#b35c00")
Label = Callable[..., str]
# The PDFs' own wording (Chinese first, as the dossier's headings); the console translates.
PRINTED = {
    "Cases per group": "投诉量 Cases per group", "This period": "本期 This period",
    "Previous period": "上期 Previous period", "SLA clocks per level": "时限达标 SLA clocks",
    "Clocks met": "按时 met", "Clocks missed": "超时 missed", "Level {level}": "{level}级",
    "Mentions per source": "各来源舆情 Mentions per source", "Mentions": "舆情 Mentions",
    "Negative": "负面 Negative", "Alerts per warning level": "预警 Alerts per level",
    "Alerts": "预警 Alerts", "none": "无",
}


def printed(text: str) -> str:
    return PRINTED.get(text, text)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


@dataclass(frozen=True)
class Chart:
    """Bars (one group of bars per label) or a line per series."""

    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    kind: str = "bar"  # bar or line


@cache
def _matplotlib() -> None:
    """Imported on first use only: the console (ECharts) never loads matplotlib."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory only
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(font_file(REGULAR)))


def png(chart: Chart, *, width_in: float = 7.0, height_in: float = 2.8) -> bytes:
    """The chart as a PNG image (150 dpi), its text in the CJK font."""
    _matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(width_in, height_in), dpi=150)
    axes = figure.subplots()
    count = max(len(chart.series), 1)
    width = 0.8 / count
    positions = range(len(chart.labels))
    for index, series in enumerate(chart.series):
        colour = COLOURS[index % len(COLOURS)]
        if chart.kind == "line":
            axes.plot(list(positions), list(series.values), marker="o", color=colour,
                      label=series.name)
        else:
            axes.bar([p - 0.4 + width * (index + 0.5) for p in positions],
                     list(series.values), width=width, color=colour, label=series.name)
    axes.set_xticks(list(positions), list(chart.labels), fontfamily=FAMILIES, fontsize=8,
                    rotation=30 if len(chart.labels) > 5 else 0)
    axes.set_title(chart.title, fontfamily=FAMILIES, fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(chart.series) > 1:
        axes.legend(prop={"family": FAMILIES, "size": 8}, frameon=False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def echarts(chart: Chart) -> dict[str, Any]:
    """The chart as an ECharts option (the console's `data-chart`)."""
    return {"aria": {"enabled": True}, "tooltip": {"trigger": "axis"},
            "title": {"text": chart.title, "textStyle": {"fontSize": 12}},
            "legend": {"top": 0, "right": 0},
            "grid": {"left": 40, "right": 16, "top": 40, "bottom": 48},
            "xAxis": {"type": "category", "data": list(chart.labels),
                      "axisLabel": {"interval": 0,
                                    "rotate": 30 if len(chart.labels) > 5 else 0}},
            "yAxis": {"type": "value"},
            "series": [{"name": s.name, "type": chart.kind, "data": list(s.values),
                        "itemStyle": {"color": COLOURS[i % len(COLOURS)]}}
                       for i, s in enumerate(chart.series)]}


def hotspot_charts(report: Mapping[str, Any], label: Label | None = None) -> list[Chart]:
    """The hotspot report's charts: cases per group against the previous period, and the
    SLA clocks met and missed per level. `label` translates names (the console's)."""
    label = label or printed
    groups = report["groups"][:10]
    names = [label(g["key"]) if g["key"] else label("none") for g in groups]
    levels = report["sla"]
    return [
        Chart(label("Cases per group"), names, [
            Series(label("This period"), [g["count"] for g in groups]),
            Series(label("Previous period"), [g["previous"] for g in groups])]),
        Chart(label("SLA clocks per level"),
              [label("Level {level}").format(level=x["response_level"])
               for x in levels], [
            Series(label("Clocks met"), [sum(c["met"] for c in x["clocks"].values())
                                         for x in levels]),
            Series(label("Clocks missed"), [sum(c["missed"] for c in x["clocks"].values())
                                            for x in levels])]),
    ]


def opinion_charts(report: Mapping[str, Any], label: Label | None = None) -> list[Chart]:
    """The public-opinion report's charts: mentions and negatives per source, and the
    alerts per warning level."""
    label = label or printed
    sources = report["sources"][:10]
    by_level = report["alerts_by_level"]
    return [
        Chart(label("Mentions per source"), [s["source"] for s in sources], [
            Series(label("Mentions"), [s["mentions"] for s in sources]),
            Series(label("Negative"), [s["negative"] for s in sources])]),
        Chart(label("Alerts per warning level"),
              [label("Level {level}").format(level=level) for level in sorted(by_level)],
              [Series(label("Alerts"), [by_level[level] for level in sorted(by_level)])]),
    ]
