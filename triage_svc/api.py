from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from shared.app import RuntimeDep
from triage_svc.models import Case, TimelineEntry
from triage_svc.schemas import CaseList, CaseOut, TimelineOut

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])





def case_out(case: Case, timeline: list[TimelineEntry] | None = None) -> CaseOut:
    return CaseOut(
        id=case.id, complaint_id=case.complaint_id, response_level=case.response_level,
        category=case.category, level_reasons=case.level_reasons, state=case.state,
        department=case.department, drill=case.drill, opened_at=case.opened_at,
        deadlines={
            "acknowledge_by": case.acknowledge_by, "first_contact_by": case.first_contact_by,
            "report_by": case.report_by, "resolve_by": case.resolve_by,
        },
        incident_id=case.incident_id, assignee=case.assignee, answer=case.answer,
        satisfaction=case.satisfaction,
        timeline=None if timeline is None else [
            TimelineOut(at=t.at, actor=t.actor, action=t.action, detail=t.detail,
                        reason=t.reason) for t in timeline
        ],
    )


@router.get("", response_model=CaseList)
async def list_cases(
    runtime: RuntimeDep,
    complaint_id: str | None = None,
    response_level: Annotated[int | None, Query(ge=1, le=4)] = None,
    state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CaseList:
    query = select(Case).order_by(Case.opened_at.desc()).limit(limit)
    if complaint_id is not None:
        query = query.where(Case.complaint_id == complaint_id)
    if response_level is not None:
        query = query.where(Case.response_level == response_level)
    if state is not None:
        query = query.where(Case.state == state)
    async with runtime.db.session() as session:
        cases = (await session.scalars(query)).all()
    return CaseList(items=[case_out(c) for c in cases])


@router.get("/{case_id}", response_model=CaseOut)
async def read_case(case_id: str, runtime: RuntimeDep) -> CaseOut:
    async with runtime.db.session() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise HTTPException(404, f"no case {case_id}")
        timeline = (await session.scalars(
            select(TimelineEntry).where(TimelineEntry.case_id == case_id)
            .order_by(TimelineEntry.id)
        )).all()
    return case_out(case, list(timeline))
