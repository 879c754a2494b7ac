"""Rectification and accountability (整改措施, 追责问责): "根据调查结果,制定整改措施,确保问题
得到有效解决; 对责任人进行问责,严肃处理违规行为" (plans-complaint-and-media-a.txt, 4. 处理与
整改).

A corrective action belongs to a case or an incident: `{action, owner, due_at}`, then
verified with a note. Past its deadline unverified, it is reminded once: every triage
replica runs `remind_overdue`, which claims due rows FOR UPDATE SKIP LOCKED and sets
`reminded_at` in the transaction that puts `rectification.overdue` in the outbox, as the
escalation timers do (`triage_svc.escalation`). An accountability record is the
leadership's (the gateway admits only the `accountability` scope); its timeline entry
names no finding, because the timeline is every operator's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from shared.events.schemas import RectificationOverdue
from shared.pii_text import mask_text
from shared.runtime import ServiceRuntime, Unit
from triage_svc import actions
from triage_svc.errors import Conflict, NotFound
from triage_svc.models import Accountability, Case, Incident, Rectification


def _check_due(due_at: datetime, now: datetime) -> None:
    if due_at <= now:
        # Well-formed, but a deadline already passed conflicts with now (as a plan's).
        raise Conflict("due_at must be in the future")


async def add_to_case(unit: Unit, case: Case, actor: str, action: str, owner: str,
                      due_at: datetime) -> Rectification:
    """A corrective action of the case (the caller holds its row lock)."""
    now = datetime.now(UTC)
    _check_due(due_at, now)
    row = Rectification(id=uuid.uuid4().hex, case_id=case.id, action=action, owner=owner,
                        due_at=due_at, created_by=actor, created_at=now)
    unit.session.add(row)
    await actions.record(unit, case, actor, "rectification_added", at=now, detail={
        "rectification_id": row.id, "text": action, "owner": owner,
        "due_at": due_at.isoformat()})
    return row


async def add_to_incident(unit: Unit, incident: Incident, actor: str, action: str,
                          owner: str, due_at: datetime) -> Rectification:
    now = datetime.now(UTC)
    _check_due(due_at, now)
    row = Rectification(id=uuid.uuid4().hex, incident_id=incident.id, action=action,
                        owner=owner, due_at=due_at, created_by=actor, created_at=now)
    unit.session.add(row)
    return row


async def of_case(unit: Unit, case_id: str, rectification_id: str) -> Rectification:
    found = await unit.session.get(Rectification, rectification_id, with_for_update=True)
    if found is None or found.case_id != case_id:
        raise NotFound(f"no rectification {rectification_id} of case {case_id}")
    return found


async def of_incident(unit: Unit, incident_id: str, rectification_id: str) -> Rectification:
    found = await unit.session.get(Rectification, rectification_id, with_for_update=True)
    if found is None or found.incident_id != incident_id:
        raise NotFound(f"no rectification {rectification_id} of incident {incident_id}")
    return found


async def verify(unit: Unit, row: Rectification, actor: str, note: str,
                 case: Case | None = None) -> None:
    """The correction was checked (验证): once only."""
    if row.verified_at is not None:
        raise Conflict(f"rectification {row.id} was verified already")
    now = datetime.now(UTC)
    row.verified_at, row.verified_by, row.verify_note = now, actor, note
    if case is not None:
        await actions.record(unit, case, actor, "rectification_verified", reason=note, at=now,
                             detail={"rectification_id": row.id, "text": row.action})


async def unverified(unit: Unit, case: Case) -> list[Rectification]:
    """The case's corrective actions not verified yet (an archive waits for them)."""
    return list((await unit.session.scalars(select(Rectification).where(
        Rectification.case_id == case.id, Rectification.verified_at.is_(None)))).all())


async def record_accountability(unit: Unit, case: Case, actor: str, department: str,
                                person: str | None, finding: str,
                                measure: str) -> Accountability:
    now = datetime.now(UTC)
    row = Accountability(id=uuid.uuid4().hex, case_id=case.id, department=department,
                         person=person, finding=finding, measure=measure, recorded_by=actor,
                         recorded_at=now)
    unit.session.add(row)
    await actions.record(unit, case, actor, "accountability_recorded", at=now,
                         detail={"accountability_id": row.id})
    return row


async def remind_overdue(runtime: ServiceRuntime, now: datetime | None = None,
                         batch: int = 500) -> int:
    """Publish `rectification.overdue` once for each corrective action past its deadline
    unverified; returns how many. Replicas skip the rows another holds."""
    async with runtime.unit() as unit:
        moment = now or datetime.now(UTC)
        due = (await unit.session.scalars(select(Rectification).where(
            Rectification.verified_at.is_(None), Rectification.reminded_at.is_(None),
            Rectification.due_at <= moment).order_by(Rectification.due_at).limit(batch)
            .with_for_update(skip_locked=True))).all()
        for row in due:
            await _remind(unit, row, moment)
        return len(due)


async def _remind(unit: Unit, row: Rectification, now: datetime) -> None:
    row.reminded_at = now
    case = await unit.session.get(Case, row.case_id) if row.case_id else None
    incident = await unit.session.get(Incident, row.incident_id) if row.incident_id else None
    await unit.emit(RectificationOverdue(
        rectification_id=row.id, case_id=row.case_id,
        complaint_id=case.complaint_id if case else None, incident_id=row.incident_id,
        action=mask_text(row.action), owner=row.owner,
        department=case.department if case else None, due_at=row.due_at, overdue_at=now,
        drill=bool(case.drill if case else incident.drill if incident else False),
    ), subject=case.complaint_id if case else row.incident_id or row.id)
    if case is not None:
        await actions.record(unit, case, "triage", "rectification_overdue", at=now,
                             reason=f"{row.owner}: due {row.due_at.isoformat()}",
                             detail={"rectification_id": row.id, "owner": row.owner})
