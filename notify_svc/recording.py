"""Recording deliveries: one row per recipient and channel an event reaches, `pending` for
the dispatcher (or `batched` for the digest); the `log` channel is sent on the spot."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.ack_tokens import AckTokens
from notify_svc.models import Delivery
from notify_svc.settings import NotifySettings
from notify_svc.templating import Renderer
from shared import tracing
from shared.events import Envelope
from shared.events.schemas import NotificationSent
from shared.runtime import Unit

log = logging.getLogger("beacon.notify")
_RECORDED = "notify.recorded"  # session.info: {event id: (recipient, channel) recorded}
# Claims a pending delivery as it is recorded, to send it once the transaction commits
# (the dispatcher's `lease`).
HandOver = Callable[[AsyncSession, Delivery], Awaitable[None]]



@dataclass(frozen=True)
class Refs:
    """What a delivery is about; `subject` keys its events on the bus."""

    subject: str
    complaint_id: str | None = None
    case_id: str | None = None
    incident_id: str | None = None
    statement_id: str | None = None
    escalation_id: str | None = None


@dataclass(frozen=True)
class Recipient:
    """Who is reached on which channel at which address, for which of their roles."""

    recipient: str
    roles: tuple[str, ...]
    channel: str
    address: str
    language: str


def refs_of(d: Delivery) -> Refs:
    subject = d.complaint_id or d.case_id or d.incident_id or d.statement_id or d.id
    return Refs(subject, d.complaint_id, d.case_id, d.incident_id, d.statement_id,
                d.escalation_id)


class Recorder:
    def __init__(self, settings: NotifySettings, tokens: AckTokens, renderer: Renderer) -> None:
        self.settings, self.tokens, self.renderer = settings, tokens, renderer
        self.hand_over: HandOver | None = None

    async def record(self, unit: Unit, event: Envelope, recipients: Sequence[Recipient],
                     refs: Refs, context: dict[str, Any], *,
                     batched: bool = False) -> list[Delivery]:
        """A delivery for each recipient the event has none for yet (a redelivered event
        records nothing twice; nor does an event that reaches someone twice). A pending one
        is handed over to the dispatcher (`hand_over`), which sends it after the commit."""
        known: dict[str, set[tuple[str, str]]] | None = unit.session.info.get(_RECORDED)
        existing = known.get(event.id) if known is not None else None
        if existing is None:
            rows = await unit.session.execute(
                select(Delivery.recipient, Delivery.channel)
                .where(Delivery.cause_event_id == event.id))
            existing = {(recipient, channel) for recipient, channel in rows}
            if known is not None:
                known[event.id] = existing
        now = dt.datetime.now(dt.UTC)
        made = []
        for r in recipients:
            if (r.recipient, r.channel) in existing:
                continue
            existing.add((r.recipient, r.channel))
            delivery = self.new_delivery(event.id, event.type, r, refs, context, now)
            delivery.status = "batched" if batched else "pending"
            unit.session.add(delivery)
            made.append(delivery)
            if r.channel == "log" and not batched:
                await self.send_to_log(unit, delivery, now)
            elif not batched and self.hand_over is not None:
                await self.hand_over(unit.session, delivery)
        return made

    async def prefetch(self, session: AsyncSession, event_ids: Sequence[str]) -> None:
        """Read the deliveries a batch's events have already (one statement) and remember
        what each event records from then on, so `record` needs no read of its own."""
        known: dict[str, set[tuple[str, str]]] = {e: set() for e in event_ids}
        rows = await session.execute(
            select(Delivery.cause_event_id, Delivery.recipient, Delivery.channel)
            .where(Delivery.cause_event_id.in_(list(known))))
        for cause, recipient, channel in rows:
            known[cause].add((recipient, channel))
        session.info[_RECORDED] = known

    def new_delivery(self, cause_id: str, event_type: str, r: Recipient, refs: Refs,
                     context: dict[str, Any], now: dt.datetime) -> Delivery:
        delivery_id = uuid.uuid4().hex
        return Delivery(
            id=delivery_id, cause_event_id=cause_id, event_type=event_type,
            complaint_id=refs.complaint_id, case_id=refs.case_id, incident_id=refs.incident_id,
            statement_id=refs.statement_id, escalation_id=refs.escalation_id,
            recipient=r.recipient, roles=list(r.roles), channel=r.channel, address=r.address,
            endpoint=self.endpoint(r.channel, r.address), language=r.language, context=context,
            status="pending", attempts=0, next_attempt_at=now, created_at=now,
            ack_token_hash=AckTokens.hash(self.tokens.token_for(delivery_id)),
            traceparent=span.traceparent if (span := tracing.current()) else None,
        )

    def endpoint(self, channel: str, address: str) -> str:
        """What the dispatcher bounds concurrency and circuit breakers by."""
        if channel == "email":
            return f"smtp:{self.settings.smtp_host}:{self.settings.smtp_port}"
        if channel == "sms":
            return f"sms:{self.settings.sms_url}"
        return f"{channel}:{address}"[:600]

    async def send_to_log(self, unit: Unit, d: Delivery, now: dt.datetime) -> None:
        """The `log` channel: the delivery is its record and a log line; it cannot fail."""
        log.info("notify %s via log: %s", d.recipient, self.renderer.render(d).subject)
        d.status, d.attempts, d.sent_at, d.next_attempt_at = "sent", d.attempts + 1, now, None
        await self.emit_sent(unit, d, now)

    async def emit_sent(self, unit: Unit, d: Delivery, now: dt.datetime) -> None:
        await unit.emit(NotificationSent(
            delivery_id=d.id, complaint_id=d.complaint_id, case_id=d.case_id,
            recipient=d.recipient, channel=d.channel, sent_at=now, incident_id=d.incident_id,
        ), subject=refs_of(d).subject)
