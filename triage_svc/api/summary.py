"""Post-event summary routes (总结评估): read the draft (JSON or PDF), edit its free text,
approve it (a leader: statements:approve) and archive it with the closed incident."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from shared import pdf
from shared.app import ReadSessionDep, UnitDep
from triage_svc import summary
from triage_svc.api.deps import DOMAIN_ERRORS, CallerDep, RulesDep, actor_of
from triage_svc.summary_schemas import SummaryIn, SummaryOut

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], dependencies=[DOMAIN_ERRORS])
APPROVER = "statements:approve"  # the leaders' scope (应急领导小组), as for statements
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such incident"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 409: {"description": "not allowed from the summary's status (or the "
                                      "incident is open), or another edit came first"}}
PDF: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 200: {"content": {"application/pdf": {}},
                       "description": "the summary as JSON, or as PDF with format=pdf"},
    503: {"description": "no CJK font to lay the PDF out with"}}


@router.get("/{incident_id}/summary", response_model=SummaryOut, responses=PDF)
async def read_summary(incident_id: str, session: ReadSessionDep, rules: RulesDep,
                       format: Annotated[Literal["json", "pdf"], Query(
                           description="json, or pdf laid out for print")] = "json",
                       ) -> SummaryOut | Response:
    """总结评估: timeline, counts and head-count, clocks met and missed, notifications and
    acknowledgements, statements, rectifications, assessment and lessons. A draft is
    drafted from the record at each read; an approved summary shows what was approved."""
    found = await summary.view(session, incident_id, datetime.now(UTC))
    if format == "json":
        return found
    try:
        content = await asyncio.to_thread(summary.render_pdf, found, rules.calendar.timezone)
    except pdf.FontMissing as exc:
        raise HTTPException(503, str(exc)) from exc
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="summary-{incident_id}.pdf"'})


@router.put("/{incident_id}/summary", response_model=SummaryOut, responses=CONFLICT)
async def edit_summary(incident_id: str, body: SummaryIn, unit: UnitDep,
                       caller: CallerDep) -> SummaryOut:
    """Edit the assessment and lessons of a draft: a new version (the earlier ones are
    kept). With `version`, an edit made from an older version answers 409."""
    now = datetime.now(UTC)
    await summary.edit(unit, incident_id, actor_of(caller), body, now)
    return await summary.view(unit.session, incident_id, now)


@router.post("/{incident_id}/summary/approve", response_model=SummaryOut, responses={
    **CONFLICT, 403: {"description": f"the caller lacks {APPROVER} (leaders only)"}})
async def approve_summary(incident_id: str, unit: UnitDep, caller: CallerDep) -> SummaryOut:
    """A leader approves the summary of a closed incident; its figures are frozen as they
    are now. 409 while the incident is open or once approved."""
    if not caller.has(APPROVER):
        raise HTTPException(403, f"this key lacks the scope {APPROVER}")
    now = datetime.now(UTC)
    await summary.approve(unit, incident_id, actor_of(caller), now)
    return await summary.view(unit.session, incident_id, now)


@router.post("/{incident_id}/summary/archive", response_model=SummaryOut, responses=CONFLICT)
async def archive_summary(incident_id: str, unit: UnitDep, caller: CallerDep) -> SummaryOut:
    """归档: an approved summary is archived with its incident and becomes read-only."""
    now = datetime.now(UTC)
    await summary.archive(unit, incident_id, actor_of(caller), now)
    return await summary.view(unit.session, incident_id, now)
