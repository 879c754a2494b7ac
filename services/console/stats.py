"""Statistics: open, overdue and escalated cases per level, cases per state and category,
open incidents, and the overdue open cases; the same figures as CSV. Real cases only, or
the drill's own when the drill toggle is on (never the two together). Below them, the
last 7 days of the hotspot report (per category, SLA per level, satisfaction, repeat
complainants) and of the public-opinion report (real mode only: mentions have no drills),
with the same charts as the reports' PDFs (shared.charts)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.i18n import translator
from services.console.users import Session
from services.console.web import (
    Api,
    Console,
    ConsoleDep,
    SessionDep,
    drill_of,
    language_of,
    render,
)
from shared import charts

router = APIRouter(include_in_schema=False)
LEVELS = ("1", "2", "3", "4")
LEVEL_FIGURES = ("open", "overdue", "escalated")
COLOURS = {"open": "#0d6efd", "overdue": "#b02a37", "escalated": "#b35c00"}
# A cell starting with one of these is a formula to a spreadsheet: keep it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


async def stats_context(console: Console, session: Session, request: Request
                        ) -> dict[str, Any]:
    api, drill = Api(console, session.user), drill_of(request)
    stats, overdue, hotspots, opinion = await asyncio.gather(
        api.json("/api/v1/cases/stats", {"drill": str(drill).lower()}),
        api.json("/api/v1/cases", {"overdue": "true", "open": "true",
                                   "drill": str(drill).lower(), "limit": 200}),
        # The last 7 days (the reports' default period) against the 7 before.
        api.json("/api/v1/reports/hotspots", {"drill": str(drill).lower()}),
        _opinion_report(api, drill))
    _ = translator(language_of(request))
    return {"stats": stats, "overdue_cases": overdue["items"],
            "more_overdue": overdue["next_cursor"] is not None,
            "hotspots": hotspots, "opinion": opinion,
            "level_chart": level_chart(stats, _), "category_chart": category_chart(stats, _),
            # The reports' charts, defined once in shared.charts: the PDFs draw the same.
            "hotspot_charts": [charts.echarts(c) for c in charts.hotspot_charts(hotspots, _)],
            "opinion_charts": [charts.echarts(c) for c in charts.opinion_charts(opinion, _)]
            if opinion else []}


async def _opinion_report(api: Api, drill: bool) -> dict[str, Any] | None:
    """Mentions have no drills: in drill mode the page shows no public-opinion figures."""
    if drill:
        return None
    report: dict[str, Any] = await api.json("/api/v1/reports/public-opinion")
    return report


def level_chart(stats: dict[str, Any], _: Callable[..., str]) -> dict[str, Any]:
    by_level = stats["by_level"]
    return _bars([_("Level {level}", level=level) for level in LEVELS],
                 [{"name": _(figure), "type": "bar", "itemStyle": {"color": COLOURS[figure]},
                   "data": [by_level[figure].get(level, 0) for level in LEVELS]}
                  for figure in LEVEL_FIGURES])


def category_chart(stats: dict[str, Any], _: Callable[..., str]) -> dict[str, Any]:
    ranked = sorted(stats["by_category"].items(), key=lambda kv: -kv[1])
    return _bars([_(name) for name, _count in ranked],
                 [{"name": _("Cases"), "type": "bar", "itemStyle": {"color": "#495057"},
                   "data": [count for _name, count in ranked]}])


def _bars(categories: list[str], series: list[dict[str, Any]]) -> dict[str, Any]:
    return {"aria": {"enabled": True}, "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
            "grid": {"left": 40, "right": 16, "top": 36, "bottom": 48},
            "xAxis": {"type": "category", "data": categories,
                      "axisLabel": {"interval": 0, "rotate": 30 if len(categories) > 5 else 0}},
            "yAxis": {"type": "value", "minInterval": 1}, "series": series}


@router.get("/stats", response_class=HTMLResponse)
async def stats_page(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    return render(request, console, session, "stats.html", levels=LEVELS,
                  figures=LEVEL_FIGURES, **await stats_context(console, session, request))


@router.get("/stats/live", response_class=HTMLResponse)
async def stats_fragment(request: Request, console: ConsoleDep,
                         session: SessionDep) -> Response:
    return render(request, console, session, "_stats_live.html", levels=LEVELS,
                  figures=LEVEL_FIGURES, **await stats_context(console, session, request))


def csv_rows(stats: dict[str, Any], _: Callable[..., str]) -> Iterator[list[str]]:
    """scope, figure, key, label, count: one row per figure the page shows."""
    scope = "DRILL" if stats["drill"] else "real"
    for figure in LEVEL_FIGURES:
        for level in LEVELS:
            yield [scope, f"{figure}_by_level", level, _("Level {level}", level=level),
                   str(stats["by_level"][figure].get(level, 0))]
    for figure, key in (("cases_by_state", "by_state"), ("cases_by_category", "by_category"),
                        ("open_incidents", "open_incidents")):
        for name, count in sorted(stats[key].items()):
            yield [scope, figure, name, _(name), str(count)]


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


@router.get("/stats.csv")
async def stats_csv(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    """The page's figures as CSV, UTF-8 with a BOM so that Excel shows the Chinese."""
    drill = drill_of(request)
    stats = await Api(console, session.user).json("/api/v1/cases/stats",
                                                  {"drill": str(drill).lower()})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["scope", "figure", "key", "label", "count"])
    for row in csv_rows(stats, translator(language_of(request))):
        writer.writerow([_cell(v) for v in row])
    stamp = datetime.now(console.settings.zone).strftime("%Y%m%d-%H%M")
    name = f"beacon-stats-{stamp}{'-drill' if drill else ''}.csv"
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"),
                    media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})
