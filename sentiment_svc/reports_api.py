"""Report routes of sentiment: the public-opinion report (舆情监测报告)."""

from __future__ import annotations

from fastapi import APIRouter

from sentiment_svc import reports
from sentiment_svc.api import StateDep
from sentiment_svc.report_schemas import PublicOpinionReport
from shared.app import ReadSessionDep
from shared.periods import FromQuery, ToQuery, period_of

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/public-opinion", response_model=PublicOpinionReport)
async def public_opinion_report(session: ReadSessionDep, state: StateDep,
                                start: FromQuery = None,
                                end: ToQuery = None) -> PublicOpinionReport:
    """定期编写舆情监测报告: volume and negative share against the previous period of the
    same length, mentions per source, the top stories, alerts with their warning level, and
    the mentions matched to complaints. Statements (统一口径) are notify's and are not in it
    (`GET /api/v1/statements`)."""
    period = period_of(start, end, state.clock())
    return await reports.public_opinion(session, period)
