"""Intake's event handler: it starts the flow (HTTP in, `complaint.received` out) and
listens only for archived cases, whose personal data retention will purge
(`intake_svc.retention`)."""

from __future__ import annotations

from datetime import timedelta

from intake_svc import retention
from shared.events import Envelope
from shared.events.schemas import CaseUpdated
from shared.runtime import ServiceRuntime, Unit

EVENTS = (CaseUpdated,)


def register(runtime: ServiceRuntime, retention_period: timedelta, check_s: float) -> None:
    async def on_event(unit: Unit, event: Envelope) -> None:
        data = event.payload()
        if isinstance(data, CaseUpdated):
            await retention.remember_archive(unit, data, retention_period)

    async def purge() -> int:
        async with runtime.unit() as unit:
            return await retention.purge_due(unit)

    runtime.on(EVENTS, on_event)
    runtime.every(check_s, purge)
