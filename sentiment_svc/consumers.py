"""Sentiment's own index of open complaints, for linking mentions to them.

It keeps what the events carry and linking needs (target, subject and content, received_at);
the events hold no complainant data. Drill complaints are left out: a real mention must
never raise a drill case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import cast

from sentiment_svc import reports
from sentiment_svc.models import ComplaintRow, StatementSeen
from shared.events import Envelope, EventPayload
from shared.events.schemas import (
    BriefFigures,
    BriefRequested,
    CaseUpdated,
    ComplaintReceived,
    ComplaintTriaged,
    StatementApproved,
    StatementDistributed,
)
from shared.periods import Period
from shared.runtime import ServiceRuntime, Unit

MAX_TEXT = 4000


async def on_complaint_received(unit: Unit, event: Envelope) -> None:
    data = cast(ComplaintReceived, event.payload())
    if data.drill:
        return
    if await unit.session.get(ComplaintRow, data.complaint_id) is not None:
        return
    text = f"{data.subject or ''}\n{data.content}".strip()[:MAX_TEXT]
    unit.session.add(ComplaintRow(
        complaint_id=data.complaint_id, department=data.target.department,
        product=data.target.product, text=text, received_at=data.received_at, open=True,
        updated_at=datetime.now(UTC)))


async def on_complaint_triaged(unit: Unit, event: Envelope) -> None:
    """Triage may name the department the complainant did not."""
    data = cast(ComplaintTriaged, event.payload())
    row = await unit.session.get(ComplaintRow, data.complaint_id)
    if row is not None and data.department and not row.department:
        row.department, row.updated_at = data.department, datetime.now(UTC)


async def on_case_updated(unit: Unit, event: Envelope) -> None:
    data = cast(CaseUpdated, event.payload())
    row = await unit.session.get(ComplaintRow, data.complaint_id)
    if row is not None:
        row.open, row.updated_at = data.state != "closed", datetime.now(UTC)


async def on_brief_requested(unit: Unit, event: Envelope) -> None:
    """Notify's scheduled brief (日报, 周报) asks for the period's public-opinion figures."""
    data = cast(BriefRequested, event.payload())
    figures = await reports.brief_figures(unit.session,
                                          Period(data.period_start, data.period_end))
    await unit.emit(BriefFigures(brief_id=data.brief_id, source="sentiment", figures=figures),
                    subject=data.brief_id)


async def on_statement_approved(unit: Unit, event: Envelope) -> None:
    """A unified statement (统一口径) for the public-opinion report's "statements issued"."""
    data = cast(StatementApproved, event.payload())
    row = await unit.session.get(StatementSeen, data.statement_id)
    if row is None:
        row = StatementSeen(statement_id=data.statement_id, approved_at=data.approved_at)
        unit.session.add(row)
    row.incident_id, row.title = data.incident_id, data.title[:500]
    row.approved_by, row.approved_at = data.approved_by, data.approved_at
    row.drill = row.drill or data.drill


async def on_statement_distributed(unit: Unit, event: Envelope) -> None:
    """Its deliveries recorded; it may arrive before the approval (another topic)."""
    data = cast(StatementDistributed, event.payload())
    row = await unit.session.get(StatementSeen, data.statement_id)
    if row is None:
        row = StatementSeen(statement_id=data.statement_id, incident_id=data.incident_id,
                            title="", approved_by="", approved_at=data.approved_at)
        unit.session.add(row)
    row.distributed_at, row.recipients = data.distributed_at, data.recipients
    row.drill = row.drill or data.drill


HANDLERS: dict[type[EventPayload], Callable[[Unit, Envelope], Awaitable[None]]] = {
    ComplaintReceived: on_complaint_received,
    ComplaintTriaged: on_complaint_triaged,
    CaseUpdated: on_case_updated,
    BriefRequested: on_brief_requested,
    StatementApproved: on_statement_approved,
    StatementDistributed: on_statement_distributed,
}


async def on_event(unit: Unit, event: Envelope) -> None:
    await HANDLERS[type(event.payload())](unit, event)


def register(runtime: ServiceRuntime) -> None:
    # One subscription, so one member per replica in the group (not one per topic).
    runtime.on(list(HANDLERS), on_event)
