"""Case-file routes: handling plan, investigation, opinion, transfer, follow-up
impossible, a repeated complaint's cause analysis, archive (scope cases:write) and the
dossier (cases:read)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from shared import pdf
from shared.app import ReadSessionDep, UnitDep
from triage_svc import casefile, dossier, queries
from triage_svc.actions import writable_case
from triage_svc.api.deps import CONFLICT, DOMAIN_ERRORS, CallerDep, RulesDep, actor_of
from triage_svc.schemas import (
    CaseOut,
    CauseAnalysisIn,
    DossierOut,
    InterviewIn,
    InvestigationIn,
    NoFollowUpIn,
    OpinionIn,
    PlanIn,
    TransferIn,
)

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], dependencies=[DOMAIN_ERRORS])


@router.post("/{case_id}/plan", response_model=CaseOut, responses=CONFLICT)
async def plan(case_id: str, body: PlanIn, unit: UnitDep, caller: CallerDep,
               rules: RulesDep) -> CaseOut:
    """处理方案 (处理方式、处理时限、责任人). A later plan is a new version on the timeline; its
    `due_at` is a clock: passed with the case unanswered, the case escalates (clock `plan`)."""
    if body.due_at <= datetime.now(UTC):
        # Well-formed, but a deadline already passed conflicts with now: 409, not 422 (422 is
        # for bodies the schema refuses; schemathesis holds the API to that).
        raise HTTPException(409, "due_at must be in the future")
    case = await writable_case(unit, case_id)
    await casefile.plan(unit, case, actor_of(caller), body.method, body.owner, body.due_at,
                        rules)
    return queries.case_out(case)


@router.post("/{case_id}/investigation", response_model=CaseOut, responses=CONFLICT)
async def investigation(case_id: str, body: InvestigationIn, unit: UnitDep,
                        caller: CallerDep) -> CaseOut:
    """调查核实: findings, root cause and evidence links (http or https)."""
    case = await writable_case(unit, case_id)
    await casefile.investigate(unit, case, actor_of(caller), body.findings, body.root_cause,
                               [e.model_dump() for e in body.evidence])
    return queries.case_out(case)


@router.post("/{case_id}/opinion", response_model=CaseOut, responses=CONFLICT)
async def opinion(case_id: str, body: OpinionIn, unit: UnitDep, caller: CallerDep) -> CaseOut:
    """处理意见, a new version each time."""
    case = await writable_case(unit, case_id)
    await casefile.give_opinion(unit, case, actor_of(caller), body.text)
    return queries.case_out(case)


@router.post("/{case_id}/transfer", response_model=CaseOut, responses=CONFLICT)
async def transfer(case_id: str, body: TransferIn, unit: UnitDep,
                   caller: CallerDep) -> CaseOut:
    """首问责任制: hand the case over to another department (and owner). The clocks run on.
    With `out_of_jurisdiction` (不属于管辖范围) it goes to an outside unit: the case keeps its
    owner, and the filing hotline's callback tells the complainant where it went."""
    case = await writable_case(unit, case_id)
    await casefile.transfer(unit, case, actor_of(caller), body.to_department, body.to_owner,
                            body.reason, out_of_jurisdiction=body.out_of_jurisdiction)
    return queries.case_out(case)


@router.post("/{case_id}/follow-up-impossible", response_model=CaseOut, responses=CONFLICT)
async def follow_up_impossible(case_id: str, body: NoFollowUpIn, unit: UnitDep,
                               caller: CallerDep) -> CaseOut:
    """Record why no follow-up call (回访) was possible; the record accepts it instead."""
    case = await writable_case(unit, case_id)
    await casefile.follow_up_impossible(unit, case, actor_of(caller), body.reason)
    return queries.case_out(case)


@router.post("/{case_id}/cause-analysis", response_model=CaseOut, responses=CONFLICT)
async def cause_analysis(case_id: str, body: CauseAnalysisIn, unit: UnitDep,
                         caller: CallerDep) -> CaseOut:
    """对重复投诉,分析原因,制定预防措施: a case with a `repeat_reason` closes only with it
    (closing answers 409 naming cause_analysis). A later one is a new version."""
    case = await writable_case(unit, case_id)
    await casefile.analyse_cause(unit, case, actor_of(caller), body.cause, body.prevention)
    return queries.case_out(case)


@router.post("/{case_id}/archive", response_model=CaseOut, responses=CONFLICT)
async def archive(case_id: str, unit: UnitDep, caller: CallerDep) -> CaseOut:
    """归档: a closed case becomes read-only; every later write answers 409. Refused (409)
    while a corrective action (整改措施) of the case is not verified."""
    case = await writable_case(unit, case_id)
    await casefile.archive(unit, case, actor_of(caller))
    return queries.case_out(case)


@router.post("/{case_id}/interviews", response_model=CaseOut, responses=CONFLICT)
async def interview(case_id: str, body: InterviewIn, unit: UnitDep, caller: CallerDep,
                    rules: RulesDep) -> CaseOut:
    """采访记录 (time, place, reporter, outlet, answers given, topic): a new record each time.
    The case becomes a media complaint (媒体投诉) if it was not, and its media clocks start."""
    if body.at > datetime.now(UTC):
        raise HTTPException(409, "an interview's time cannot be in the future")
    case = await writable_case(unit, case_id)
    await casefile.interview(unit, case, actor_of(caller), {
        **body.model_dump(exclude={"at"}), "at": body.at.isoformat()}, rules)
    return queries.case_out(case)


PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}},
          "description": "the dossier as JSON, or as PDF with format=pdf"},
    503: {"description": "no CJK font to lay the PDF out with"}}


@router.get("/{case_id}/dossier", response_model=DossierOut, responses=PDF)
async def read_dossier(case_id: str, session: ReadSessionDep, caller: CallerDep,
                       rules: RulesDep, format: Annotated[Literal["json", "pdf"], Query(
                           description="json, or pdf laid out for print")] = "json",
                       ) -> DossierOut | Response:
    """归档资料 (投诉登记表、调查报告、处理意见、反馈记录) with the timeline, escalations,
    acknowledgements, linked mentions and incident. Phone numbers, e-mail addresses and ID
    numbers in its free text are masked unless the caller has pii:read, and for everyone
    once retention purged the complainant's data (`personal_data: purged`). Accountability
    records (追责问责) only for a caller with the accountability scope."""
    found = await dossier.build(session, case_id, pii=caller.has("pii:read"),
                                accountability=caller.has("accountability"))
    if found is None:
        raise HTTPException(404, f"no case {case_id}")
    if format == "json":
        return found
    try:
        content = await asyncio.to_thread(dossier.render_pdf, found, rules.calendar.timezone)
    except pdf.FontMissing as exc:
        raise HTTPException(503, str(exc)) from exc
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="dossier-{case_id}.pdf"'})
