"""Rectification routes (整改措施) of a case or an incident: add, list, verify (scope
cases:write to change, cases:read to read); accountability records (追责问责) of a case
(the gateway admits only the accountability scope: the console's leader and admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from shared.app import ReadSessionDep, UnitDep
from shared.caller import Caller
from triage_svc import incidents, queries, rectification
from triage_svc.actions import writable_case
from triage_svc.api.deps import CONFLICT, DOMAIN_ERRORS, CallerDep, actor_of
from triage_svc.errors import NotFound
from triage_svc.models import Case, Incident
from triage_svc.schemas import (
    AccountabilityIn,
    AccountabilityOut,
    RectificationIn,
    RectificationOut,
    VerifyIn,
)

cases = APIRouter(prefix="/api/v1/cases", tags=["cases"], dependencies=[DOMAIN_ERRORS])
incident_routes = APIRouter(prefix="/api/v1/incidents", tags=["incidents"],
                            dependencies=[DOMAIN_ERRORS])
DUE_CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": (
    "due_at is not in the future, the case is archived, or the rectification was verified "
    "already")}}


@cases.post("/{case_id}/rectifications", status_code=201, response_model=RectificationOut,
            responses=DUE_CONFLICT)
async def add_case_rectification(case_id: str, body: RectificationIn, unit: UnitDep,
                                 caller: CallerDep) -> RectificationOut:
    """整改措施 {action, owner, due_at}: past its deadline unverified, the owner (a roster
    member by id or name) and the rectification roles are reminded once."""
    case = await writable_case(unit, case_id)
    row = await rectification.add_to_case(unit, case, actor_of(caller), body.action,
                                          body.owner, body.due_at)
    return queries.rectification_out(row)


@cases.get("/{case_id}/rectifications", response_model=list[RectificationOut])
async def list_case_rectifications(case_id: str,
                                   session: ReadSessionDep) -> list[RectificationOut]:
    """The case's corrective actions, oldest first."""
    if await session.get(Case, case_id) is None:
        raise NotFound(f"no case {case_id}")
    return await queries.rectifications_of(session, case_id=case_id)


@cases.post("/{case_id}/rectifications/{rectification_id}/verify",
            response_model=RectificationOut, responses=DUE_CONFLICT)
async def verify_case_rectification(case_id: str, rectification_id: str, body: VerifyIn,
                                    unit: UnitDep, caller: CallerDep) -> RectificationOut:
    """验证: the correction was checked, with a note; once only (409 after)."""
    case = await writable_case(unit, case_id)
    row = await rectification.of_case(unit, case_id, rectification_id)
    await rectification.verify(unit, row, actor_of(caller), body.note, case)
    return queries.rectification_out(row)


@incident_routes.post("/{incident_id}/rectifications", status_code=201,
                      response_model=RectificationOut, responses=DUE_CONFLICT)
async def add_incident_rectification(incident_id: str, body: RectificationIn, unit: UnitDep,
                                     caller: CallerDep) -> RectificationOut:
    """整改措施 of a group complaint or public-opinion incident (open or closed)."""
    incident = await incidents.locked(unit, incident_id)
    row = await rectification.add_to_incident(unit, incident, actor_of(caller), body.action,
                                              body.owner, body.due_at)
    return queries.rectification_out(row)


@incident_routes.get("/{incident_id}/rectifications", response_model=list[RectificationOut])
async def list_incident_rectifications(incident_id: str,
                                       session: ReadSessionDep) -> list[RectificationOut]:
    if await session.get(Incident, incident_id) is None:
        raise NotFound(f"no incident {incident_id}")
    return await queries.rectifications_of(session, incident_id=incident_id)


@incident_routes.post("/{incident_id}/rectifications/{rectification_id}/verify",
                      response_model=RectificationOut, responses=DUE_CONFLICT)
async def verify_incident_rectification(incident_id: str, rectification_id: str,
                                        body: VerifyIn, unit: UnitDep,
                                        caller: CallerDep) -> RectificationOut:
    await incidents.locked(unit, incident_id)
    row = await rectification.of_incident(unit, incident_id, rectification_id)
    await rectification.verify(unit, row, actor_of(caller), body.note)
    return queries.rectification_out(row)


LEADERSHIP: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller lacks the accountability scope"}}


def _leadership(caller: Caller) -> None:
    """The gateway admits only the accountability scope here; the service checks again."""
    if not caller.has("accountability"):
        raise HTTPException(403, "this key lacks the scope accountability")


@cases.post("/{case_id}/accountability", status_code=201, response_model=AccountabilityOut,
            responses={**CONFLICT, **LEADERSHIP})
async def record_accountability(case_id: str, body: AccountabilityIn, unit: UnitDep,
                                caller: CallerDep) -> AccountabilityOut:
    """追责问责 {department, person?, finding, measure}: the timeline notes that a record was
    made (by whom, when), never its content."""
    _leadership(caller)
    case = await writable_case(unit, case_id)
    row = await rectification.record_accountability(
        unit, case, actor_of(caller), body.department, body.person, body.finding,
        body.measure)
    return queries.accountability_out(row)


@cases.get("/{case_id}/accountability", response_model=list[AccountabilityOut],
           responses=LEADERSHIP)
async def list_accountability(case_id: str, session: ReadSessionDep,
                              caller: CallerDep) -> list[AccountabilityOut]:
    """The case's accountability records, oldest first (accountability scope only)."""
    _leadership(caller)
    if await session.get(Case, case_id) is None:
        raise NotFound(f"no case {case_id}")
    return await queries.accountability_of(session, case_id)
