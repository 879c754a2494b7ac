"""Report routes of sentiment: the public-opinion report (舆情监测报告)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from sentiment_svc import reports
from sentiment_svc.api import StateDep
from sentiment_svc.report_schemas import PublicOpinionReport
from shared import pdf
from shared.app import ReadSessionDep
from shared.periods import FromQuery, ToQuery, period_of

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/public-opinion", response_model=PublicOpinionReport, responses={
    200: {"content": {"application/pdf": {}},
          "description": "the report; as PDF with charts with `format=pdf`"},
    503: {"description": "no CJK font to lay the PDF out with"}})
async def public_opinion_report(
        session: ReadSessionDep, state: StateDep, start: FromQuery = None,
        end: ToQuery = None,
        format: Annotated[Literal["json", "pdf"], Query(
            description="json, or pdf laid out for print with charts")] = "json",
) -> PublicOpinionReport | Response:
    """定期编写舆情监测报告: volume and negative share against the previous period of the
    same length, mentions per source, the top stories, alerts with their warning level, and
    the mentions matched to complaints. Statements (统一口径) are notify's and are not in it
    (`GET /api/v1/statements`)."""
    period = period_of(start, end, state.clock())
    report = await reports.public_opinion(session, period)
    if format == "json":
        return report
    try:
        content = await asyncio.to_thread(reports.render_pdf, report,
                                          state.settings.input_timezone)
    except pdf.FontMissing as exc:
        raise HTTPException(503, str(exc)) from exc
    name = f"beacon-public-opinion-{period.start:%Y%m%d}-{period.end:%Y%m%d}.pdf"
    return Response(content, media_type="application/pdf",
                    headers={"content-disposition": f'inline; filename="{name}"'})
