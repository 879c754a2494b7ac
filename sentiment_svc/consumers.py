"""Sentiment's own index of open complaints, for linking mentions to them.

It keeps what the events carry and linking needs (target, subject and content, received_at);
the events hold no complainant data. Drill complaints are left out: a real mention must
never raise a drill case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select

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
from shared.runtime import ServiceRuntime, Unit, applying

MAX_TEXT = 4000


# Events about a complaint in the index: a batch of them reads its rows in one statement.
ComplaintEvent = ComplaintReceived | ComplaintTriaged | CaseUpdated
Rows = dict[str, ComplaintRow]


async def complaint_rows(unit: Unit, complaint_ids: set[str]) -> Rows:
    if not complaint_ids:
        return {}
    return {row.complaint_id: row for row in (await unit.session.scalars(
        select(ComplaintRow).where(ComplaintRow.complaint_id.in_(complaint_ids)))).all()}


def on_complaint_received(unit: Unit, data: ComplaintReceived, rows: Rows) -> None:
    if data.drill or data.complaint_id in rows:
        return
    text = f"{data.subject or ''}\n{data.content}".strip()[:MAX_TEXT]
    rows[data.complaint_id] = ComplaintRow(
        complaint_id=data.complaint_id, department=data.target.department,
        product=data.target.product, text=text, received_at=data.received_at, open=True,
        updated_at=datetime.now(UTC))
    unit.session.add(rows[data.complaint_id])


def on_complaint_triaged(data: ComplaintTriaged, rows: Rows) -> None:
    """Triage may name the department the complainant did not."""
    row = rows.get(data.complaint_id)
    if row is not None and data.department and not row.department:
        row.department, row.updated_at = data.department, datetime.now(UTC)


def on_case_updated(data: CaseUpdated, rows: Rows) -> None:
    row = rows.get(data.complaint_id)
    if row is not None:
        row.open, row.updated_at = data.state != "closed", datetime.now(UTC)


async def on_complaint_events(unit: Unit, events: list[Envelope]) -> None:
    """A run of a batch's events in order, the index rows they name read first in one
    statement (and the new ones written together at commit)."""
    rows = await complaint_rows(unit, {data.complaint_id for event in events
                                       if isinstance(data := event.payload(), ComplaintEvent)})
    for event in events:
        with applying(event):
            data = event.payload()
            if isinstance(data, ComplaintReceived):
                on_complaint_received(unit, data, rows)
            elif isinstance(data, ComplaintTriaged):
                on_complaint_triaged(data, rows)
            elif isinstance(data, CaseUpdated):
                on_case_updated(data, rows)
            else:
                await HANDLERS[type(data)](unit, event)


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


# The events besides the complaint index's (on_complaint_events applies those).
HANDLERS: dict[type[EventPayload], Callable[[Unit, Envelope], Awaitable[None]]] = {
    BriefRequested: on_brief_requested,
    StatementApproved: on_statement_approved,
    StatementDistributed: on_statement_distributed,
}


EVENTS: tuple[type[EventPayload], ...] = (ComplaintReceived, ComplaintTriaged, CaseUpdated,
                                          *HANDLERS)


async def on_event(unit: Unit, event: Envelope) -> None:
    await on_complaint_events(unit, [event])


def is_real_complaint_or_other(event: Envelope) -> bool:
    """False for a drill complaint arriving: the index leaves it out (its later events
    find no row and change nothing)."""
    data = event.payload()
    return not (isinstance(data, ComplaintReceived) and data.drill)


def register(runtime: ServiceRuntime) -> None:
    # One subscription, so one member per replica in the group (not one per topic).
    runtime.on(EVENTS, on_event, many=on_complaint_events, wants=is_real_complaint_or_other)
