"""Deciding who hears of what, and recording each delivery. No HTTP here."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from notify_svc.models import Delivery
from notify_svc.roster import Roster
from shared.events import Envelope
from shared.events.schemas import ComplaintTriaged, NotificationSent
from shared.runtime import Unit

log = logging.getLogger("beacon.notify")

SENT_TOPIC = "notification.sent"


async def notify_triaged(unit: Unit, event: Envelope, triaged: ComplaintTriaged,
                         roster: Roster) -> list[Delivery]:
    """Route a triaged complaint to its level's roles; deliver on the `log` channel now,
    queue other channels (their senders come with the channel work)."""
    now = datetime.now(UTC)
    rows = await unit.session.execute(
        select(Delivery.recipient, Delivery.channel).where(Delivery.cause_event_id == event.id)
    )
    existing = {(recipient, channel) for recipient, channel in rows}
    made = []
    for member, channel, address in roster.recipients_for_level(triaged.response_level):
        if (member.id, channel) in existing:
            continue
        delivery = Delivery(
            id=uuid.uuid4().hex, cause_event_id=event.id, event_type=event.type,
            complaint_id=triaged.complaint_id, case_id=triaged.case_id, recipient=member.id,
            channel=channel, address=address, status="pending", attempts=0, created_at=now,
        )
        if channel == "log":
            _deliver_to_log(delivery, triaged)
            delivery.status, delivery.attempts, delivery.sent_at = "sent", 1, now
        unit.session.add(delivery)
        made.append(delivery)
        if delivery.status == "sent":
            await unit.emit(SENT_TOPIC, NotificationSent(
                delivery_id=delivery.id, complaint_id=delivery.complaint_id,
                case_id=delivery.case_id, recipient=delivery.recipient,
                channel=delivery.channel, sent_at=now,
            ), subject=triaged.complaint_id)
    return made


def _deliver_to_log(delivery: Delivery, triaged: ComplaintTriaged) -> None:
    log.info(
        "notify %s via log: level %d %s complaint %s (case %s)",
        delivery.recipient, triaged.response_level, triaged.category,
        triaged.complaint_id, triaged.case_id,
    )
