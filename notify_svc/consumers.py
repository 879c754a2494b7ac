from __future__ import annotations

from typing import cast

from notify_svc.roster import Roster
from notify_svc.service import notify_triaged
from shared.events import Envelope
from shared.events.schemas import ComplaintTriaged
from shared.runtime import ServiceRuntime, Unit


def register(runtime: ServiceRuntime, roster: Roster) -> None:
    async def on_triaged(unit: Unit, event: Envelope) -> None:
        await notify_triaged(unit, event, cast(ComplaintTriaged, event.payload()), roster)

    runtime.on(["complaint.triaged"], on_triaged)
