"""The read model of each run, from the events the other services publish.

Only drill traffic is kept. Complaints name their run in `external_ref`, mentions in their
URL (`drill_svc.service`); cases, escalations, acknowledgements, incidents and statements
are attributed through what is already known of the run (its cases, mentions, incidents),
or through the ids the runner got back when it posted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import select

from drill_svc.models import (
    DrillActivity,
    DrillCase,
    DrillIncident,
    DrillMention,
    DrillStatement,
    Injection,
)
from drill_svc.service import run_of_ref, run_of_url
from shared.events import Envelope, EventPayload
from shared.events.schemas import (
    CaseEscalated,
    CaseUpdated,
    ComplaintReceived,
    ComplaintTriaged,
    IncidentOpened,
    IncidentUpdated,
    MentionScored,
    NotificationAcknowledged,
    StatementApproved,
    StatementDistributed,
)
from shared.runtime import ServiceRuntime, Unit

# A case has had its first contact (首次联系) once it is being investigated or further on.
CONTACTED = frozenset({"investigating", "responded", "follow_up", "closed"})
ANSWERED = frozenset({"responded", "follow_up", "closed"})


async def _case(unit: Unit, complaint_id: str, external_ref: str | None) -> DrillCase | None:
    """The drill case of a complaint, made on the first event that names its run."""
    row = await unit.session.get(DrillCase, complaint_id)
    if row is not None:
        return row
    found = run_of_ref(external_ref)
    if found is None:
        return None
    row = DrillCase(complaint_id=complaint_id, run_id=found[0], ref=found[1],
                    escalation_step=0)
    unit.session.add(row)
    return row


async def on_received(unit: Unit, event: Envelope) -> None:
    data = cast(ComplaintReceived, event.payload())
    if data.drill and (row := await _case(unit, data.complaint_id, data.external_ref)):
        row.received_at = data.received_at


async def on_triaged(unit: Unit, event: Envelope) -> None:
    """The first triage, or a raise (a new level and its clocks; a raise never gives more
    time, so the deadlines only move earlier)."""
    data = cast(ComplaintTriaged, event.payload())
    if not data.drill or not (row := await _case(unit, data.complaint_id, data.external_ref)):
        return
    row.case_id, row.category = data.case_id, data.category
    row.triaged_at = row.triaged_at or event.time
    row.response_level = data.response_level
    row.acknowledge_by = data.deadlines.acknowledge_by
    row.first_contact_by = data.deadlines.first_contact_by
    row.resolve_by = data.deadlines.resolve_by
    row.state = row.state or "triaged"


async def on_case_updated(unit: Unit, event: Envelope) -> None:
    data = cast(CaseUpdated, event.payload())
    if not data.drill or not (row := await _case(unit, data.complaint_id, data.external_ref)):
        return
    row.case_id, row.state, row.response_level = data.case_id, data.state, data.response_level
    if data.action == "acknowledged" and row.acknowledged_at is None:
        row.acknowledged_at, row.acknowledged_by = data.at, data.actor
        await _activity(unit, event, row.run_id, "case_acknowledged", data.at,
                        complaint_id=row.complaint_id, actor=data.actor,
                        detail=f"{row.ref}: acknowledged by {data.actor}")
    if data.state in CONTACTED and row.first_contact_at is None:
        row.first_contact_at = data.at
    if data.state in ANSWERED and row.answered_at is None:
        row.answered_at = data.at


async def on_escalated(unit: Unit, event: Envelope) -> None:
    data = cast(CaseEscalated, event.payload())
    row = await unit.session.get(DrillCase, data.complaint_id) if data.drill else None
    if row is None:
        return
    row.escalation_step = max(row.escalation_step, data.step)
    skipped = data.reason == "not_acknowledged"
    what = (f"{row.ref}: skip-level to {data.step_role} ({data.skipped_role} did not "
            "acknowledge)" if skipped else
            f"{row.ref}: escalated to {data.step_role} (step {data.step}), the {data.clock} "
            "clock ran out")
    await _activity(unit, event, row.run_id, "skip_level" if skipped else "escalated",
                    data.escalated_at, complaint_id=row.complaint_id, roles=[data.step_role],
                    detail=what, step=data.step)


async def on_acknowledged(unit: Unit, event: Envelope) -> None:
    data = cast(NotificationAcknowledged, event.payload())
    run_id, complaint_id = None, None
    if data.complaint_id and (row := await unit.session.get(DrillCase, data.complaint_id)):
        run_id, complaint_id = row.run_id, row.complaint_id
    elif data.incident_id:
        incident = await unit.session.scalar(select(DrillIncident).where(
            DrillIncident.incident_id == data.incident_id).limit(1))
        run_id = incident.run_id if incident else None
    if run_id is None:
        return
    who = data.acknowledged_by or data.recipient
    await _activity(unit, event, run_id, "notification_acknowledged", data.acknowledged_at,
                    complaint_id=complaint_id, actor=who, roles=list(data.roles),
                    detail=f"{data.cause_type} acknowledged by {who} "
                           f"({', '.join(data.roles) or 'no role'})")


async def _run_of_members(unit: Unit, complaint_ids: Sequence[str],
                          mention_ids: Sequence[str]) -> str | None:
    if complaint_ids:
        found = await unit.session.scalar(select(DrillCase.run_id).where(
            DrillCase.complaint_id.in_(complaint_ids)).limit(1))
        if found:
            return found
    if mention_ids:
        found = await unit.session.scalar(select(DrillMention.run_id).where(
            DrillMention.mention_id.in_(mention_ids)).limit(1))
        if found:
            return found
    ids = [*complaint_ids, *mention_ids]
    if not ids:
        return None
    return await unit.session.scalar(select(Injection.run_id).where(
        Injection.result_id.in_(ids)).limit(1))


async def _incident(unit: Unit, event: Envelope, run_id: str, incident_id: str, kind: str,
                    level: int, at: datetime, summary: str) -> None:
    if await unit.session.get(DrillIncident, (run_id, incident_id)) is None:
        unit.session.add(DrillIncident(run_id=run_id, incident_id=incident_id, kind=kind,
                                       response_level=level, opened_at=at))
        await _activity(unit, event, run_id, "incident_opened", at,
                        detail=f"{kind} incident at level {level}: {summary[:200]}")


async def on_incident_opened(unit: Unit, event: Envelope) -> None:
    data = cast(IncidentOpened, event.payload())
    if data.drill and (run_id := await _run_of_members(unit, data.complaint_ids,
                                                       data.mention_ids)):
        await _incident(unit, event, run_id, data.incident_id, data.kind,
                        data.response_level, data.opened_at, data.summary)


async def on_incident_updated(unit: Unit, event: Envelope) -> None:
    """A later run's traffic may join an incident a former run opened: it is theirs too."""
    data = cast(IncidentUpdated, event.payload())
    if not data.drill:
        return
    run_id = await _run_of_members(unit, data.added_complaint_ids, data.added_mention_ids)
    if run_id is not None:
        await _incident(unit, event, run_id, data.incident_id, data.kind,
                        data.response_level, data.updated_at, data.summary)
    for incident in (await unit.session.scalars(select(DrillIncident).where(
            DrillIncident.incident_id == data.incident_id))).all():
        incident.response_level = min(incident.response_level, data.response_level)


async def on_mention_scored(unit: Unit, event: Envelope) -> None:
    data = cast(MentionScored, event.payload())
    run_id = run_of_url(data.url) if data.drill else None
    if run_id is not None and await unit.session.get(DrillMention, data.mention_id) is None:
        unit.session.add(DrillMention(mention_id=data.mention_id, run_id=run_id,
                                      scored_at=event.time,
                                      sentiment_label=data.sentiment_label,
                                      risk_level=data.risk_level))


async def on_statement_approved(unit: Unit, event: Envelope) -> None:
    data = cast(StatementApproved, event.payload())
    if data.incident_id is None:
        return
    for incident in (await unit.session.scalars(select(DrillIncident).where(
            DrillIncident.incident_id == data.incident_id))).all():
        if await unit.session.get(DrillStatement, data.statement_id) is None:
            unit.session.add(DrillStatement(
                statement_id=data.statement_id, run_id=incident.run_id,
                incident_id=data.incident_id, drafted_by=data.drafted_by,
                drafted_at=data.drafted_at, approved_by=data.approved_by,
                approved_at=data.approved_at))
        return


async def on_statement_distributed(unit: Unit, event: Envelope) -> None:
    data = cast(StatementDistributed, event.payload())
    row = await unit.session.get(DrillStatement, data.statement_id)
    if row is not None:
        row.distribute_by, row.distributed_at = data.distribute_by, data.distributed_at
        row.recipients = data.recipients


async def _activity(unit: Unit, event: Envelope, run_id: str, kind: str, at: datetime, *,
                    detail: str, complaint_id: str | None = None, actor: str | None = None,
                    roles: list[str] | None = None, step: int | None = None) -> None:
    key = f"{event.id}:{kind}"[:64]
    if await unit.session.get(DrillActivity, key) is None:
        unit.session.add(DrillActivity(id=key, run_id=run_id, at=at, kind=kind,
                                       complaint_id=complaint_id, actor=actor,
                                       roles=roles or [], detail=detail, step=step))


HANDLERS: dict[type[EventPayload], Callable[[Unit, Envelope], Awaitable[None]]] = {
    ComplaintReceived: on_received,
    ComplaintTriaged: on_triaged,
    CaseUpdated: on_case_updated,
    CaseEscalated: on_escalated,
    NotificationAcknowledged: on_acknowledged,
    IncidentOpened: on_incident_opened,
    IncidentUpdated: on_incident_updated,
    MentionScored: on_mention_scored,
    StatementApproved: on_statement_approved,
    StatementDistributed: on_statement_distributed,
}


async def on_event(unit: Unit, event: Envelope) -> None:
    await HANDLERS[type(event.payload())](unit, event)


# Their handlers do nothing unless the payload says it is drill traffic.
DRILL_FLAGGED = (ComplaintReceived, ComplaintTriaged, CaseUpdated, CaseEscalated,
                 IncidentOpened, IncidentUpdated, MentionScored)


def may_concern_a_drill(event: Envelope) -> bool:
    """False for real traffic that no handler here keeps: it needs no transaction."""
    data = event.payload()
    return not isinstance(data, DRILL_FLAGGED) or data.drill


def register(runtime: ServiceRuntime) -> None:
    # One subscription, so one member per replica in the group (not one per topic).
    runtime.on(list(HANDLERS), on_event, wants=may_concern_a_drill)
