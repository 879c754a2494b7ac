"""Operator actions (API.md: acknowledge, assign, change level, move state, answer,
follow-up, appeal). An action the workflow does not allow answers 409 naming the states
that are allowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from shared.app import RuntimeDep
from shared.caller import Caller, current_caller
from shared.runtime import Unit
from triage_svc import actions, casefile, incidents
from triage_svc.api import case_out, read_incident
from triage_svc.closing import Conflict
from triage_svc.models import Case, Incident, TimelineEntry
from triage_svc.rules import Rules
from triage_svc.schemas import (
    AcknowledgeIn,
    AnswerIn,
    AppealIn,
    AssignIn,
    CaseOut,
    CloseIn,
    FollowUpIn,
    IncidentOut,
    LevelIn,
    RevealIn,
    StateIn,
)
from triage_svc.workflow import InvalidMove

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "not allowed from the case's state, or the case is archived"}}
CallerDep = Annotated[Caller, Depends(current_caller)]
Action = Callable[[Unit, Case, str], Awaitable[None]]


async def _rules(request: Request) -> Rules:
    rules: Rules = request.app.state.rules
    return rules


def _actor(caller: Caller) -> str:
    return caller.owner or caller.key_id or "unknown"


async def _act(runtime: RuntimeDep, case_id: str, caller: Caller, action: Action) -> CaseOut:
    try:
        async with runtime.unit() as unit:
            case = await unit.session.get(Case, case_id, with_for_update=True)
            if case is None:
                raise HTTPException(404, f"no case {case_id}")
            casefile.require_writable(case)
            await action(unit, case, _actor(caller))
    except (InvalidMove, Conflict) as exc:
        raise HTTPException(409, str(exc)) from exc
    except actions.MissingReason as exc:
        raise HTTPException(422, str(exc)) from exc
    return case_out(case)


@router.post("/{case_id}/acknowledge", response_model=CaseOut, responses=CONFLICT)
async def acknowledge(case_id: str, body: AcknowledgeIn, runtime: RuntimeDep,
                      caller: CallerDep) -> CaseOut:
    return await _act(runtime, case_id, caller, lambda u, c, a: actions.move(
        u, c, a, "acknowledged", action="acknowledged", reason=body.note))


@router.post("/{case_id}/assign", response_model=CaseOut, responses=CONFLICT)
async def assign(case_id: str, body: AssignIn, runtime: RuntimeDep,
                 caller: CallerDep) -> CaseOut:
    return await _act(runtime, case_id, caller, lambda u, c, a: actions.assign(
        u, c, a, body.assignee, body.department))


@router.post("/{case_id}/level", response_model=CaseOut, responses=CONFLICT)
async def change_level(case_id: str, body: LevelIn, runtime: RuntimeDep, caller: CallerDep,
                       rules: Annotated[Rules, Depends(_rules)]) -> CaseOut:
    return await _act(runtime, case_id, caller, lambda u, c, a: actions.change_level(
        u, c, a, body.response_level, body.reason, rules))


@router.post("/{case_id}/state", response_model=CaseOut, responses=CONFLICT)
async def move_state(case_id: str, body: StateIn, runtime: RuntimeDep,
                     caller: CallerDep) -> CaseOut:
    return await _act(runtime, case_id, caller, lambda u, c, a: actions.move(
        u, c, a, body.state, action="state_changed", reason=body.reason))


@router.post("/{case_id}/answer", response_model=CaseOut, responses=CONFLICT)
async def answer(case_id: str, body: AnswerIn, runtime: RuntimeDep,
                 caller: CallerDep) -> CaseOut:
    return await _act(runtime, case_id, caller,
                      lambda u, c, a: actions.answer(u, c, a, body.text))


@router.post("/{case_id}/follow-up", response_model=CaseOut, responses=CONFLICT)
async def follow_up(case_id: str, body: FollowUpIn, runtime: RuntimeDep,
                    caller: CallerDep) -> CaseOut:
    return await _act(runtime, case_id, caller, lambda u, c, a: actions.follow_up(
        u, c, a, body.satisfaction, body.note))


@router.post("/{case_id}/appeal", response_model=CaseOut, responses=CONFLICT)
async def appeal(case_id: str, body: AppealIn, runtime: RuntimeDep,
                 caller: CallerDep) -> CaseOut:
    return await _act(runtime, case_id, caller,
                      lambda u, c, a: actions.appeal(u, c, a, body.reason))


@router.post("/{case_id}/reveal", status_code=204, responses={403: {"description": (
    "the caller lacks pii:read")}})
async def record_reveal(case_id: str, body: RevealIn, runtime: RuntimeDep,
                        caller: CallerDep) -> None:
    """Record on the timeline that the caller is about to see the complainant's personal
    data (保密原则: who looked, and when). No event: nothing about the case changed."""
    if not caller.has("pii:read"):
        raise HTTPException(403, "this key lacks the scope pii:read")
    async with runtime.unit() as unit:
        case = await unit.session.get(Case, case_id)
        if case is None:
            raise HTTPException(404, f"no case {case_id}")
        unit.session.add(TimelineEntry(case_id=case.id, at=datetime.now(UTC),
                                       actor=_actor(caller), action="pii_revealed",
                                       detail={}, reason=body.reason))


incidents_router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@incidents_router.post("/{incident_id}/close", response_model=IncidentOut, responses={
    409: {"description": "the incident is closed already"}})
async def close_incident(incident_id: str, body: CloseIn, runtime: RuntimeDep,
                         caller: CallerDep) -> IncidentOut:
    """Close an incident once it is handled, with the reason: it keeps its members and
    takes no more; later look-alikes may open a new one among themselves. 409 when closed."""
    try:
        async with runtime.unit() as unit:
            incident = await unit.session.get(Incident, incident_id, with_for_update=True)
            if incident is None:
                raise HTTPException(404, f"no incident {incident_id}")
            await incidents.close(unit, incident, _actor(caller), body.reason,
                                  datetime.now(UTC))
    except incidents.AlreadyClosed as exc:
        raise HTTPException(409, str(exc)) from exc
    return await read_incident(incident_id, runtime)
