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
from sentiment_svc.models import ComplaintRow
from shared.events import Envelope, EventPayload
from shared.events.schemas import (
    BriefFigures,
    BriefRequested,
    CaseUpdated,
    ComplaintReceived,
    ComplaintTriaged,
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


HANDLERS: dict[type[EventPayload], Callable[[Unit, Envelope], Awaitable[None]]] = {
    ComplaintReceived: on_complaint_received,
    ComplaintTriaged: on_complaint_triaged,
    CaseUpdated: on_case_updated,
    BriefRequested: on_brief_requested,
}


async def on_event(unit: Unit, event: Envelope) -> None:
    await HANDLERS[type(event.payload())](unit, event)


def register(runtime: ServiceRuntime) -> None:
    # One subscription, so one member per replica in the group (not one per topic).
    runtime.on(list(HANDLERS), on_event)
