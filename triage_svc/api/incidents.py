"""Incident routes: the list, one incident, and closing one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from shared.app import ReadSessionDep, UnitDep
from shared.paging import CursorQuery
from triage_svc import incidents, queries
from triage_svc.api.deps import DOMAIN_ERRORS, CallerDep, RulesDep, actor_of
from triage_svc.schemas import (
    CloseIn,
    GroupRegistrationIn,
    IncidentList,
    IncidentOut,
    WorkGroupIn,
)

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], dependencies=[DOMAIN_ERRORS])


@router.get("", response_model=IncidentList)
async def list_incidents(
    session: ReadSessionDep,
    kind: Literal["group", "public_opinion"] | None = None,
    state: Literal["open", "closed"] | None = None,
    drill: Annotated[bool | None, Query(description="only drills, or only real ones")] = None,
    min_level: Annotated[int | None, Query(
        ge=1, le=4, description="at least this severe (1 is the most severe)")] = None,
    cursor: CursorQuery = None,
    total: Annotated[bool, Query(description="also count every match")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> IncidentList:
    """Incidents newest first (then id), paged by cursor like the cases list."""
    where = queries.IncidentFilter(kind=kind, state=state, drill=drill, min_level=min_level)
    found, next_cursor = await queries.page_of_incidents(session, where, limit, cursor)
    members = await queries.members_of(session, [i.id for i in found])
    counted = await queries.count_incidents(session, where) if total else None
    return IncidentList(items=[queries.incident_out(i, members) for i in found],
                        next_cursor=next_cursor, total=counted)


@router.get("/{incident_id}", response_model=IncidentOut)
async def read_incident(incident_id: str, session: ReadSessionDep) -> IncidentOut:
    found = await queries.incident_view(session, incident_id)
    if found is None:
        raise HTTPException(404, f"no incident {incident_id}")
    return found


@router.post("/{incident_id}/close", response_model=IncidentOut, responses={
    409: {"description": "the incident is closed already"}})
async def close_incident(incident_id: str, body: CloseIn, unit: UnitDep,
                         caller: CallerDep) -> IncidentOut:
    """Close an incident once it is handled, with the reason: it keeps its members and
    takes no more; later look-alikes may open a new one among themselves. 409 when closed."""
    incident = await incidents.locked(unit, incident_id)
    await incidents.close(unit, incident, actor_of(caller), body.reason, datetime.now(UTC))
    return queries.incident_out(incident, await queries.members_of(unit.session, [incident_id]))


GROUP_ONLY: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such incident, or no case for a representative's complaint"},
    409: {"description": "not a group complaint, closed, or a representative's complaint "
          "belongs to another incident"}}


async def _view(unit: UnitDep, incident_id: str) -> IncidentOut:
    await unit.session.flush()
    found = await queries.incident_view(unit.session, incident_id)
    assert found is not None  # locked above
    return found


@router.post("/{incident_id}/registration", response_model=IncidentOut, responses=GROUP_ONLY)
async def register_group(incident_id: str, body: GroupRegistrationIn, unit: UnitDep,
                         caller: CallerDep, rules: RulesDep) -> IncidentOut:
    """群体投诉登记: core demands, place, emotional state and the 2-3 representatives
    (推选代表, each by their own complaint). A new version each time."""
    if len(set(body.representatives)) != len(body.representatives):
        raise HTTPException(409, "a representative is named twice")
    incident = await incidents.locked(unit, incident_id)
    await incidents.register_group(
        unit, incident, actor_of(caller), body.model_dump(exclude={"representatives"}),
        body.representatives, rules, datetime.now(UTC))
    return await _view(unit, incident_id)


@router.post("/{incident_id}/work-group", response_model=IncidentOut, responses=GROUP_ONLY)
async def assign_work_group(incident_id: str, body: WorkGroupIn, unit: UnitDep,
                            caller: CallerDep) -> IncidentOut:
    """应急小组: the leader, deputy and the plan's teams (现场处置组, 沟通谈判组, 问题研判组,
    信息发布组, 后勤保障组), each with its lead. A new version each time."""
    incident = await incidents.locked(unit, incident_id)
    await incidents.assign_work_group(unit, incident, actor_of(caller),
                                      body.model_dump(exclude_none=True), datetime.now(UTC))
    return await _view(unit, incident_id)
