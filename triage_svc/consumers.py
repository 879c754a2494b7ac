"""Triage's event handlers; each runs once per event inside the runtime's unit of work."""

from __future__ import annotations

from typing import cast

from shared.events import Envelope
from shared.events.schemas import ComplaintReceived
from shared.runtime import ServiceRuntime, Unit
from triage_svc.rules import Rules
from triage_svc.service import open_case


def register(runtime: ServiceRuntime, rules: Rules) -> None:
    async def on_complaint_received(unit: Unit, event: Envelope) -> None:
        await open_case(unit, cast(ComplaintReceived, event.payload()), rules)

    runtime.on(["complaint.received"], on_complaint_received)
