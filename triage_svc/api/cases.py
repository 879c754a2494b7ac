"""Case routes: the list, statistics, one case, the filer's view, and the operator actions
(API.md: acknowledge, assign, change level, move state, answer, follow-up, appeal). An
action the workflow does not allow answers 409 naming the states that are allowed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from shared.app import ReadSessionDep, UnitDep
from shared.paging import CursorQuery
from triage_svc import actions, queries
from triage_svc.api.deps import CONFLICT, DOMAIN_ERRORS, CallerDep, RulesDep, actor_of
from triage_svc.schemas import (
    AcknowledgeIn,
    AnswerIn,
    AppealIn,
    AssignIn,
    CaseList,
    CaseOut,
    CaseStats,
    ComplaintCaseOut,
    FollowUpIn,
    LevelIn,
    RevealIn,
    StateIn,
)
from triage_svc.workflow import State

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], dependencies=[DOMAIN_ERRORS])


@router.get("", response_model=CaseList)
async def list_cases(
    session: ReadSessionDep,
    complaint_id: str | None = None,
    response_level: Annotated[int | None, Query(ge=1, le=4)] = None,
    state: State | None = None,
    open: Annotated[bool | None, Query(
        description="only open cases, i.e. not closed (or only closed ones)")] = None,
    answered: Annotated[bool | None, Query(
        description="only cases answered (responded, follow_up, closed), or only those "
                    "not yet answered")] = None,
    overdue: Annotated[bool | None, Query(
        description="only cases past a clock with its work undone (or only those not)")] = None,
    drill: Annotated[bool | None, Query(description="only drills, or only real cases")] = None,
    incident_id: str | None = None,
    category: Annotated[str | None, Query(max_length=30)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    department: Annotated[str | None, Query(max_length=200)] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    cursor: CursorQuery = None,
    total: Annotated[bool, Query(description="also count every match")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CaseList:
    now = datetime.now(UTC)
    where = queries.CaseFilter(
        complaint_id=complaint_id, response_level=response_level, state=state, open=open,
        answered=answered, overdue=overdue, drill=drill, incident_id=incident_id, category=category,
        channel=channel, department=department, assignee=assignee)
    cases, next_cursor = await queries.page_of_cases(session, where, now, limit, cursor)
    counted = await queries.count_cases(session, where, now) if total else None
    return CaseList(items=[queries.case_out(c, now=now) for c in cases],
                    next_cursor=next_cursor, total=counted)


@router.get("/stats", response_model=CaseStats)
async def case_stats(
    session: ReadSessionDep,
    drill: Annotated[bool, Query(description="count drills instead of real cases")] = False,
) -> CaseStats:
    """Counts per level, state and category. Drill traffic (应急演练) is kept out of real
    figures: these are real cases only unless `drill=true` asks for the drill's own."""
    return await queries.case_stats(session, drill, datetime.now(UTC))


@router.get("/{case_id}", response_model=CaseOut)
async def read_case(case_id: str, session: ReadSessionDep) -> CaseOut:
    found = await queries.case_view(session, case_id)
    if found is None:
        raise HTTPException(404, f"no case {case_id}")
    return found


@router.get("/of-complaint/{complaint_id}", response_model=ComplaintCaseOut,
            responses={404: {"description": "no case for this complaint (not triaged yet)"}})
async def read_complaint_case(complaint_id: str, session: ReadSessionDep) -> ComplaintCaseOut:
    """The case of a complaint as its filer may see it; the gateway puts it into the
    complaint view (`GET /api/v1/complaints/{id}`)."""
    found = await queries.case_of_complaint(session, complaint_id)
    if found is None:
        raise HTTPException(404, f"no case for complaint {complaint_id}")
    return found


@router.post("/{case_id}/acknowledge", response_model=CaseOut, responses=CONFLICT)
async def acknowledge(case_id: str, body: AcknowledgeIn, unit: UnitDep,
                      caller: CallerDep) -> CaseOut:
    case = await actions.writable_case(unit, case_id)
    await actions.move(unit, case, actor_of(caller), "acknowledged", action="acknowledged",
                       reason=body.note)
    return queries.case_out(case)


@router.post("/{case_id}/assign", response_model=CaseOut, responses=CONFLICT)
async def assign(case_id: str, body: AssignIn, unit: UnitDep, caller: CallerDep) -> CaseOut:
    case = await actions.writable_case(unit, case_id)
    await actions.assign(unit, case, actor_of(caller), body.assignee, body.department)
    return queries.case_out(case)


@router.post("/{case_id}/level", response_model=CaseOut, responses=CONFLICT)
async def change_level(case_id: str, body: LevelIn, unit: UnitDep, caller: CallerDep,
                       rules: RulesDep) -> CaseOut:
    case = await actions.writable_case(unit, case_id)
    await actions.change_level(unit, case, actor_of(caller), body.response_level,
                               body.reason, rules)
    return queries.case_out(case)


@router.post("/{case_id}/state", response_model=CaseOut, responses=CONFLICT)
async def move_state(case_id: str, body: StateIn, unit: UnitDep, caller: CallerDep) -> CaseOut:
    case = await actions.writable_case(unit, case_id)
    await actions.move(unit, case, actor_of(caller), body.state, action="state_changed",
                       reason=body.reason)
    return queries.case_out(case)


@router.post("/{case_id}/answer", response_model=CaseOut, responses=CONFLICT)
async def answer(case_id: str, body: AnswerIn, unit: UnitDep, caller: CallerDep) -> CaseOut:
    case = await actions.writable_case(unit, case_id)
    await actions.answer(unit, case, actor_of(caller), body.text)
    return queries.case_out(case)


@router.post("/{case_id}/follow-up", response_model=CaseOut, responses=CONFLICT)
async def follow_up(case_id: str, body: FollowUpIn, unit: UnitDep,
                    caller: CallerDep) -> CaseOut:
    case = await actions.writable_case(unit, case_id)
    await actions.follow_up(unit, case, actor_of(caller), body.satisfaction, body.note)
    return queries.case_out(case)


@router.post("/{case_id}/appeal", response_model=CaseOut, responses=CONFLICT)
async def appeal(case_id: str, body: AppealIn, unit: UnitDep, caller: CallerDep) -> CaseOut:
    case = await actions.writable_case(unit, case_id)
    await actions.appeal(unit, case, actor_of(caller), body.reason)
    return queries.case_out(case)


@router.post("/{case_id}/reveal", status_code=204, responses={403: {"description": (
    "the caller lacks pii:read")}})
async def record_reveal(case_id: str, body: RevealIn, unit: UnitDep,
                        caller: CallerDep) -> None:
    """Record on the timeline that the caller is about to see the complainant's personal
    data (保密原则: who looked, and when). No event: nothing about the case changed."""
    if not caller.has("pii:read"):
        raise HTTPException(403, "this key lacks the scope pii:read")
    await actions.record_reveal(unit, case_id, actor_of(caller), body.reason)
