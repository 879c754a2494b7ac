from __future__ import annotations

from typing import cast

from notify_svc.service import Notifier
from shared.bus import Delivery
from shared.events.schemas import ComplaintReceived
from shared.runtime import ServiceRuntime

TOPICS = ("complaint.triaged", "case.escalated", "case.updated", "incident.opened",
          "statement.approved")


def register(runtime: ServiceRuntime, notifier: Notifier) -> None:
    # One subscription for every topic: one consumer-group member, one inbox.
    runtime.on(TOPICS, notifier.handle)

    # complaint.received only says which hotline filed a complaint (for its callbacks). The
    # write is idempotent, so it runs beside the inbox in a group of its own; it also stays
    # out of runtime.listeners, which count the events that cause deliveries. Once
    # ComplaintTriaged and CaseUpdated carry `submitted_by`, this subscription can go.
    async def remember_owner(delivery: Delivery) -> None:
        async with runtime.db.transaction() as session:
            data = cast(ComplaintReceived, delivery.envelope.payload())
            await notifier.remember_owner(session, data)
        for listener in notifier.owner_listeners:
            listener(data.complaint_id)

    runtime.bus.subscribe(["complaint.received"], "notify-owners", remember_owner)
