"""Routes of the case file: handling plan, investigation, opinion, transfer, follow-up
impossible, archive (scope cases:write) and the dossier (cases:read)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from shared import pdf
from shared.app import RuntimeDep
from triage_svc import casefile, dossier
from triage_svc.case_actions import CONFLICT, CallerDep, _act, _rules
from triage_svc.models import Case
from triage_svc.rules import Rules
from triage_svc.schemas import (
    CaseOut,
    DossierOut,
    InvestigationIn,
    NoFollowUpIn,
    OpinionIn,
    PlanIn,
    TransferIn,
)

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
RulesDep = Annotated[Rules, Depends(_rules)]


@router.post("/{case_id}/plan", response_model=CaseOut, responses=CONFLICT)
async def plan(case_id: str, body: PlanIn, runtime: RuntimeDep, caller: CallerDep,
               rules: RulesDep) -> CaseOut:
    """处理方案 (处理方式、处理时限、责任人). A later plan is a new version on the timeline; its
    `due_at` is a clock: passed with the case unanswered, the case escalates (clock `plan`)."""
    if body.due_at <= datetime.now(UTC):
        # Well-formed, but a deadline already passed conflicts with now: 409, not 422 (422 is
        # for bodies the schema refuses; schemathesis holds the API to that).
        raise HTTPException(409, "due_at must be in the future")
    return await _act(runtime, case_id, caller, lambda u, c, a: casefile.plan(
        u, c, a, body.method, body.owner, body.due_at, rules))


@router.post("/{case_id}/investigation", response_model=CaseOut, responses=CONFLICT)
async def investigation(case_id: str, body: InvestigationIn, runtime: RuntimeDep,
                        caller: CallerDep) -> CaseOut:
    """调查核实: findings, root cause and evidence links (http or https)."""
    evidence = [e.model_dump() for e in body.evidence]
    return await _act(runtime, case_id, caller, lambda u, c, a: casefile.investigate(
        u, c, a, body.findings, body.root_cause, evidence))


@router.post("/{case_id}/opinion", response_model=CaseOut, responses=CONFLICT)
async def opinion(case_id: str, body: OpinionIn, runtime: RuntimeDep,
                  caller: CallerDep) -> CaseOut:
    """处理意见, a new version each time."""
    return await _act(runtime, case_id, caller,
                      lambda u, c, a: casefile.give_opinion(u, c, a, body.text))


@router.post("/{case_id}/transfer", response_model=CaseOut, responses=CONFLICT)
async def transfer(case_id: str, body: TransferIn, runtime: RuntimeDep,
                   caller: CallerDep) -> CaseOut:
    """首问责任制: hand the case over to another department (and owner). The clocks run on."""
    return await _act(runtime, case_id, caller, lambda u, c, a: casefile.transfer(
        u, c, a, body.to_department, body.to_owner, body.reason))


@router.post("/{case_id}/follow-up-impossible", response_model=CaseOut, responses=CONFLICT)
async def follow_up_impossible(case_id: str, body: NoFollowUpIn, runtime: RuntimeDep,
                               caller: CallerDep) -> CaseOut:
    """Record why no follow-up call (回访) was possible; the record accepts it instead."""
    return await _act(runtime, case_id, caller, lambda u, c, a: casefile.follow_up_impossible(
        u, c, a, body.reason))


@router.post("/{case_id}/archive", response_model=CaseOut, responses=CONFLICT)
async def archive(case_id: str, runtime: RuntimeDep, caller: CallerDep) -> CaseOut:
    """归档: a closed case becomes read-only; every later write answers 409."""
    return await _act(runtime, case_id, caller, casefile.archive)


PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}},
          "description": "the dossier as JSON, or as PDF with format=pdf"},
    503: {"description": "no CJK font to lay the PDF out with"}}


@router.get("/{case_id}/dossier", response_model=DossierOut, responses=PDF)
async def read_dossier(case_id: str, runtime: RuntimeDep, caller: CallerDep,
                       rules: RulesDep, format: Annotated[Literal["json", "pdf"], Query(
                           description="json, or pdf laid out for print")] = "json",
                       ) -> DossierOut | Response:
    """归档资料 (投诉登记表、调查报告、处理意见、反馈记录) with the timeline, escalations,
    acknowledgements, linked mentions and incident. Phone numbers, e-mail addresses and ID
    numbers in its free text are masked unless the caller has pii:read."""
    async with runtime.db.session() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise HTTPException(404, f"no case {case_id}")
        found = await dossier.build(session, runtime, case, pii=caller.has("pii:read"))
    if format == "json":
        return found
    try:
        content = await asyncio.to_thread(dossier.render_pdf, found, rules.calendar.timezone)
    except pdf.FontMissing as exc:
        raise HTTPException(503, str(exc)) from exc
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="dossier-{case_id}.pdf"'})
