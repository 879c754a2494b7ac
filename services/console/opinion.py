"""Public opinion (舆情): negative share and volume over time with the spike windows shaded,
top topics and stories, recent alerts, and the latest mentions with their scores and
reasons; one mention with its linked complaints."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.console.i18n import Language, translator
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

router = APIRouter(include_in_schema=False)
SOURCES = ("news", "weibo", "wechat", "forum", "video", "blog", "hotline_board", "other")
LABELS = ("negative", "neutral", "positive")
WINDOWS = {"6": 600, "24": 1800, "72": 3600, "168": 3 * 3600}  # hours → bucket seconds
PAGE = 25
STORIES_FROM = 200  # top stories are counted among this many latest mentions
TOP_STORIES = 10


def mention_filters(request: Request) -> dict[str, str]:
    """source, sentiment_label, min_risk and hours as the URL gives them (unknown dropped)."""
    allowed = {"source": SOURCES, "sentiment_label": LABELS, "min_risk": ("1", "2", "3", "4"),
               "hours": tuple(WINDOWS)}
    raw = {k: request.query_params.get(k, "") for k in allowed}
    return {k: v for k, v in raw.items() if v in allowed[k]}


def mention_query(filters: dict[str, str], cursor: str | None = None) -> dict[str, Any]:
    return {"source": filters.get("source"), "sentiment_label": filters.get("sentiment_label"),
            "min_risk": filters.get("min_risk"), "limit": PAGE, "cursor": cursor}


def stories(mentions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Near-copies of one text (a cluster) among the latest mentions, the largest first."""
    counts = Counter(m["cluster_id"] for m in mentions if m.get("cluster_id"))
    first: dict[str, dict[str, Any]] = {}
    for m in reversed(mentions):  # the list is newest first: keep each story's oldest
        first.setdefault(m["cluster_id"], m)
    return [{"cluster_id": cluster, "mentions": n, "first": first[cluster],
             "negative": sum(1 for m in mentions if m["cluster_id"] == cluster
                             and m["sentiment"]["label"] == "negative")}
            for cluster, n in counts.most_common(TOP_STORIES)]


def _label(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%m-%d %H:%M")


def _bucket_label(value: str, bucket_s: int, zone: ZoneInfo) -> str:
    """The category label of the bucket an instant falls in (spike windows are snapped)."""
    seconds = int(datetime.fromisoformat(value).timestamp()) // bucket_s * bucket_s
    return _label(datetime.fromtimestamp(seconds, UTC), zone)


def spike_areas(trends: dict[str, Any], zone: ZoneInfo, name: str) -> list[list[dict[str, Any]]]:
    """markArea pairs from each alert's window, on the buckets the chart has."""
    bucket_s, shown = trends["bucket_s"], {
        _label(datetime.fromisoformat(p["bucket_start"]), zone) for p in trends["series"]}
    areas = []
    for alert in trends["alerts"]:
        start, end = alert["evidence"].get("window_start"), alert["evidence"].get("window_end")
        if not start or not end:
            continue
        last = (datetime.fromisoformat(end) - timedelta(seconds=1)).isoformat()
        first_label, last_label = (_bucket_label(start, bucket_s, zone),
                                   _bucket_label(last, bucket_s, zone))
        if first_label in shown and last_label in shown:
            areas.append([{"name": name.format(level=alert["warning_level"]),
                           "xAxis": first_label}, {"xAxis": last_label}])
    return areas


def trend_chart(trends: dict[str, Any], zone: ZoneInfo, language: Language) -> dict[str, Any]:
    """The ECharts option: volume bars, the negative share line, spike windows shaded."""
    _ = translator(language)
    points = trends["series"]
    labels = [_label(datetime.fromisoformat(p["bucket_start"]), zone) for p in points]
    return {
        "aria": {"enabled": True},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 48, "top": 36, "bottom": 28},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": [{"type": "value", "name": _("Mentions"), "minInterval": 1},
                  {"type": "value", "name": _("Negative share") + " %", "min": 0, "max": 100}],
        "series": [
            # On a bar series a markArea covers whole buckets (on a line, centre to centre).
            {"name": _("Mentions"), "type": "bar", "data": [p["total"] for p in points],
             "itemStyle": {"color": "#9aa5b1"},
             "markArea": {"itemStyle": {"color": "rgba(176, 42, 55, 0.12)"},
                          "label": {"position": "insideTop", "color": "#842029"},
                          "data": spike_areas(trends, zone, _("Spike, warning {level}"))}},
            {"name": _("Negative"), "type": "bar", "data": [p["negative"] for p in points],
             "itemStyle": {"color": "#b02a37"}},
            {"name": _("Negative share") + " %", "type": "line", "yAxisIndex": 1,
             "data": [round(p["negative_share"] * 100, 1) for p in points],
             "itemStyle": {"color": "#d63384"}, "showSymbol": False},
        ],
    }


async def opinion_context(console: Console, session: Session,
                          request: Request) -> dict[str, Any]:
    filters, api = mention_filters(request), Api(console, session.user)
    hours = filters.get("hours", "24")
    drill = str(drill_of(request)).lower()  # drill mentions only in drill mode
    trends, page, latest = await asyncio.gather(
        api.json("/api/v1/mentions/trends", {"hours": hours, "bucket_s": WINDOWS[hours],
                                             "top": 10}),
        api.json("/api/v1/mentions", {**mention_query(filters), "drill": drill}),
        api.json("/api/v1/mentions", {"limit": STORIES_FROM, "drill": drill}))
    return {"filters": filters, "hours": hours, "trends": trends,
            "chart": trend_chart(trends, console.settings.zone, language_of(request)),
            "mentions": page["items"], "next_cursor": page["next_cursor"],
            "stories": stories(latest["items"]), "filter_query": urlencode(filters)}


@router.get("/opinion", response_class=HTMLResponse)
async def opinion_page(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    return render(request, console, session, "opinion.html", sources=SOURCES, labels=LABELS,
                  windows=tuple(WINDOWS), **await opinion_context(console, session, request))


@router.get("/opinion/live", response_class=HTMLResponse)
async def opinion_fragment(request: Request, console: ConsoleDep,
                           session: SessionDep) -> Response:
    """Chart, topics, stories, alerts and the first page of mentions: what a notice refetches."""
    return render(request, console, session, "_opinion_live.html",
                  **await opinion_context(console, session, request))


@router.get("/opinion/mentions", response_class=HTMLResponse)
async def more_mentions(request: Request, console: ConsoleDep, session: SessionDep,
                        cursor: Annotated[str, Query(max_length=200)]) -> Response:
    """The next page of mentions, replacing the 'more' row."""
    filters = mention_filters(request)
    page = await Api(console, session.user).json("/api/v1/mentions", {
        **mention_query(filters, cursor), "drill": str(drill_of(request)).lower()})
    return render(request, console, session, "_mention_rows.html", mentions=page["items"],
                  next_cursor=page["next_cursor"], filter_query=urlencode(filters))


@router.get("/opinion/mentions/{mention_id}", response_class=HTMLResponse)
async def mention_page(request: Request, console: ConsoleDep, session: SessionDep,
                       mention_id: str) -> Response:
    mention = await Api(console, session.user).json(f"/api/v1/mentions/{mention_id}")
    url = mention.get("url") or ""
    # Only web addresses become links: a javascript: URL from a crawler stays text.
    return render(request, console, session, "mention.html", mention=mention,
                  safe_url=url if url.startswith(("https://", "http://")) else None)
