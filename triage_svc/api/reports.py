"""Report routes: the hotspot and trend report, as JSON, CSV or PDF."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from shared import pdf
from shared.app import ReadSessionDep
from shared.periods import FromQuery, ToQuery, period_of
from triage_svc import reports
from triage_svc.api.deps import RulesDep
from triage_svc.report_schemas import GroupBy, HotspotReport

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
SUPPORTED = get_args(GroupBy)


def _group_by(value: str) -> GroupBy:
    if value in SUPPORTED:
        return value  # type: ignore[return-value]
    why = reports.NOT_STORED.get(value, "no such grouping")
    raise HTTPException(422, f"group_by={value} is not supported ({why}); "
                             f"supported: {', '.join(SUPPORTED)}")


@router.get("/hotspots", response_model=HotspotReport, responses={200: {
    "content": {"text/csv": {"schema": {"type": "string"}}, "application/pdf": {}},
    "description": "the report; as CSV with `format=csv` (columns section, key, metric, "
                   "value; one figure a row, in a fixed order), as PDF with charts with "
                   "`format=pdf`"}, 503: {"description": "no CJK font to lay the PDF out with"}})
async def hotspot_report(
    session: ReadSessionDep,
    rules: RulesDep,
    start: FromQuery = None,
    end: ToQuery = None,
    # The schema lists the groupings served; any other value is refused in plain words here
    # (not by validation), so the answer can name the groupings served.
    group_by: Annotated[str, Query(
        max_length=20, json_schema_extra={"enum": list(SUPPORTED)},
        description=f"one of {', '.join(SUPPORTED)} (location: where it happened, as "
                    "registered)")] = "category",
    drill: Annotated[bool, Query(description="report on drills instead of real cases")] = False,
    format: Literal["json", "csv", "pdf"] = "json",
) -> HotspotReport | Response:
    """分析投诉热点与趋势: cases per group against the previous period of the same length,
    the top repeated issues (group incidents of near-duplicate complaints, with examples),
    rising topics, SLA clocks met and missed per level, satisfaction from follow-up calls,
    and repeat complainants counted by keyed hash. Real cases only unless `drill=true`."""
    grouping = _group_by(group_by)
    now = datetime.now(UTC)
    period = period_of(start, end, now)
    report = await reports.hotspots(session, period, grouping, drill, now)
    if format == "json":
        return report
    stem = f"beacon-hotspots-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    if format == "pdf":
        try:
            content = await asyncio.to_thread(reports.render_pdf, report,
                                              rules.calendar.timezone)
        except pdf.FontMissing as exc:
            raise HTTPException(503, str(exc)) from exc
        return Response(content, media_type="application/pdf", headers={
            "content-disposition": f'inline; filename="{stem}.pdf"'})
    name = f"{stem}.csv"
    return Response(reports.as_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})
