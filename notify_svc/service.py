"""Deciding who hears of what, and recording each delivery. No HTTP here.

Handlers only record `pending` deliveries (or `batched` ones for the digest) inside the
event's transaction; the dispatcher sends them after the commit, so a slow peer never holds
a transaction open and a redelivered event finds its deliveries already recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import rosterdb
from notify_svc.models import (
    DIGEST_EVENT_TYPE,
    CallbackSequence,
    CaseClocks,
    ComplaintOwner,
    Delivery,
    StatementRow,
)
from notify_svc.roster import Member, Routing
from notify_svc.settings import NotifySettings
from notify_svc.templating import Message, Templates
from shared import tracing
from shared.complaint_status import complaint_status
from shared.events import Envelope
from shared.events.schemas import (
    CaseEscalated,
    CaseUpdated,
    ComplaintTriaged,
    IncidentOpened,
    IncidentUpdated,
    NotificationAcknowledged,
    NotificationSent,
    StatementApproved,
)
from shared.runtime import Unit

log = logging.getLogger("beacon.notify")

# Per 统一口径 in plan-media-complaint-duties-and-timelines.txt: "报公司领导批准确认后，综合部将
# 在0.5小时内将解释口径发送给相关部门的接口人" — distribution is due half an hour after approval.
STATEMENT_DISTRIBUTION = dt.timedelta(minutes=30)


class AckTokens:
    """A delivery's token is HMAC(secret, delivery id): every attempt carries the same one
    without the database holding it (only its sha256 is stored, for lookup)."""

    def __init__(self, secret: str) -> None:
        self.key = secret.encode()

    def token_for(self, delivery_id: str) -> str:
        return hmac.new(self.key, delivery_id.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class AckError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


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
class Target:
    recipient: str
    roles: tuple[str, ...]
    channel: str
    address: str
    language: str


async def next_sequence(session: AsyncSession, complaint_id: str) -> int:
    """The complaint's next callback sequence (1, 2, ...), taken by one upsert: the row
    stays locked until the transaction ends, so two replicas never take the same number,
    and a rolled-back transaction gives its number back."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(CallbackSequence).values(complaint_id=complaint_id, last_sequence=1)
    taken = await session.scalar(statement.on_conflict_do_update(
        index_elements=["complaint_id"],
        set_={"last_sequence": CallbackSequence.last_sequence + 1},
    ).returning(CallbackSequence.last_sequence))
    return int(taken or 0)


def refs_of(d: Delivery) -> Refs:
    subject = d.complaint_id or d.case_id or d.incident_id or d.statement_id or d.id
    return Refs(subject, d.complaint_id, d.case_id, d.incident_id, d.statement_id,
                d.escalation_id)


class Notifier:
    def __init__(self, settings: NotifySettings, rules: Routing, templates: Templates,
                 tokens: AckTokens) -> None:
        self.settings, self.rules, self.templates, self.tokens = (
            settings, rules, templates, tokens)
        self.zone = ZoneInfo(settings.timezone)
        self.base = settings.public_base()

    # -- what each event causes ---------------------------------------------------------

    async def handle(self, unit: Unit, event: Envelope) -> None:
        data = event.payload()
        if isinstance(data, ComplaintTriaged):
            await self._triaged(unit, event, data)
        elif isinstance(data, CaseEscalated):
            refs = Refs(data.complaint_id, data.complaint_id, data.case_id,
                        escalation_id=data.escalation_id)
            await self.route(unit, event, [data.step_role], refs, None)
        elif isinstance(data, CaseUpdated):
            await self.remember_owner(unit.session, data.complaint_id, data.submitted_by)
            await self.remember_clocks(unit.session, data.case_id, data.state, data)
            await self._callback(unit, event, data, data.state, data.action)
        elif isinstance(data, IncidentOpened) or (
                isinstance(data, IncidentUpdated) and data.action == "raised"):
            # A raised incident reaches its new level's people (members joining do not).
            roles = self.rules.roles_for_incident(data.kind, data.response_level)
            refs = Refs(data.incident_id, incident_id=data.incident_id)
            await self.route(unit, event, roles, refs, None)
        elif isinstance(data, StatementApproved):
            await self._statement(unit, event, data)

    @staticmethod
    async def remember_owner(session: AsyncSession, complaint_id: str,
                             owner: str | None) -> None:
        """Which hotline filed the complaint (the events say), for its status callbacks."""
        if not owner:
            return
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(insert(ComplaintOwner).values(
            complaint_id=complaint_id, owner=owner).on_conflict_do_nothing())

    @staticmethod
    async def remember_clocks(session: AsyncSession, case_id: str, state: str,
                              data: ComplaintTriaged | CaseUpdated) -> None:
        """What is still due on the case, for the acknowledgement page."""
        if data.outstanding is None:
            return
        values = {"state": state, "updated_at": dt.datetime.now(dt.UTC),
                  "outstanding": [d.model_dump(mode="json") for d in data.outstanding]}
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(insert(CaseClocks).values(case_id=case_id, **values)
                              .on_conflict_do_update(index_elements=["case_id"], set_=values))

    async def _triaged(self, unit: Unit, event: Envelope, data: ComplaintTriaged) -> None:
        refs = Refs(data.complaint_id, data.complaint_id, data.case_id)
        # Level 4 (一般信息，影响较小) reaches the case owner in a digest, not one by one.
        batched = data.response_level in self.rules.digest_levels
        await self.route(unit, event, self.rules.levels.get(data.response_level, ()), refs,
                         data.department, batched=batched)
        await self.remember_owner(unit.session, data.complaint_id, data.submitted_by)
        await self.remember_clocks(unit.session, data.case_id, "triaged", data)
        await self._callback(unit, event, data, "triaged", "triaged")

    async def _statement(self, unit: Unit, event: Envelope, data: StatementApproved) -> None:
        refs = Refs(data.statement_id, incident_id=data.incident_id,
                    statement_id=data.statement_id)
        await self.route(unit, event, self.rules.statement, refs, None)
        row = await unit.session.get(StatementRow, data.statement_id)
        if row is not None:
            row.status, row.distributed_at = "distributed", dt.datetime.now(dt.UTC)

    # -- routing ------------------------------------------------------------------------

    async def members_for(self, unit: Unit, roles: Sequence[str],
                          department: str | None) -> list[tuple[Member, tuple[str, ...]]]:
        """Everyone holding one of `roles`. Where the duty schedule covers a role at this
        hour, only those on duty (值班); where a department is named and some holders belong
        to it, only those (the department's own head or 接口人)."""
        members = await rosterdb.load_members(unit.session)
        local = dt.datetime.now(self.zone)
        on_duty = await rosterdb.on_duty(unit.session, roles, local)
        chosen: dict[str, set[str]] = {}
        for role in roles:
            holders = [m for m in members if role in m.roles]
            if role in on_duty:
                holders = [m for m in members if m.id in on_duty[role]]
            same = [m for m in holders if department and m.department == department]
            for member in same or holders:
                chosen.setdefault(member.id, set()).add(role)
        return [(m, tuple(sorted(chosen[m.id]))) for m in members if m.id in chosen]

    async def route(self, unit: Unit, event: Envelope, roles: Sequence[str], refs: Refs,
                    department: str | None, *, batched: bool = False) -> list[Delivery]:
        """Record a delivery on every channel of everyone the roles reach (level 1: 立即,
        all channels at once)."""
        reached = await self.members_for(unit, roles, department)
        if not reached:
            log.warning("%s %s reaches nobody: no roster member holds %s",
                        event.type, event.id, ", ".join(roles))
        targets = [Target(m.id, matched, channel, endpoint.address, m.language)
                   for m, matched in reached
                   for channel, endpoint in sorted(m.channels.items())]
        return await self.record(unit, event, targets, refs, event.data, batched=batched)

    async def _callback(self, unit: Unit, event: Envelope, data: ComplaintTriaged | CaseUpdated,
                        state: str, action: str) -> None:
        """Tell the hotline that filed the complaint, so it can tell the complainant. Each
        callback of a complaint takes the next `sequence` (see `next_sequence`)."""
        session = unit.session
        owner = await session.get(ComplaintOwner, data.complaint_id)
        if owner is None:
            return
        callback = await rosterdb.callback_for(session, owner.owner)
        if callback is None:
            return
        recorded = await session.scalar(select(Delivery.id).where(
            Delivery.cause_event_id == event.id, Delivery.channel == "callback"))
        if recorded is not None:  # a redelivered event: its callback has its sequence
            return
        answer = data.answer if isinstance(data, CaseUpdated) else None
        context = {
            "complaint_id": data.complaint_id, "case_id": data.case_id,
            "external_ref": data.external_ref, "sequence": await next_sequence(
                session, data.complaint_id),
            "status": complaint_status(state) or "in_progress", "state": state,
            "action": action, "response_level": data.response_level,
            "answer": answer, "answer_version": (
                data.answer_version if isinstance(data, CaseUpdated) else None),
            "drill": data.drill, "event_type": event.type, "at": event.time.isoformat()}
        target = Target(f"hotline:{owner.owner}", ("hotline",), "callback", callback.url, "zh")
        await self.record(unit, event, [target],
                          Refs(data.complaint_id, data.complaint_id, data.case_id), context)

    # -- recording ----------------------------------------------------------------------

    async def record(self, unit: Unit, event: Envelope, targets: Sequence[Target], refs: Refs,
                     context: dict[str, Any], *, batched: bool = False) -> list[Delivery]:
        rows = await unit.session.execute(
            select(Delivery.recipient, Delivery.channel)
            .where(Delivery.cause_event_id == event.id))
        existing = {(recipient, channel) for recipient, channel in rows}
        now = dt.datetime.now(dt.UTC)
        made = []
        for t in targets:
            if (t.recipient, t.channel) in existing:
                continue
            delivery = self.new_delivery(event.id, event.type, t, refs, context, now)
            delivery.status = "batched" if batched else "pending"
            unit.session.add(delivery)
            made.append(delivery)
            if t.channel == "log" and not batched:
                await self.send_to_log(unit, delivery, now)
        return made

    def new_delivery(self, cause_id: str, event_type: str, t: Target, refs: Refs,
                     context: dict[str, Any], now: dt.datetime) -> Delivery:
        delivery_id = uuid.uuid4().hex
        return Delivery(
            id=delivery_id, cause_event_id=cause_id, event_type=event_type,
            complaint_id=refs.complaint_id, case_id=refs.case_id, incident_id=refs.incident_id,
            statement_id=refs.statement_id, escalation_id=refs.escalation_id,
            recipient=t.recipient, roles=list(t.roles), channel=t.channel, address=t.address,
            endpoint=self.endpoint(t.channel, t.address), language=t.language, context=context,
            status="pending", attempts=0, next_attempt_at=now, created_at=now,
            ack_token_hash=AckTokens.hash(self.tokens.token_for(delivery_id)),
            traceparent=span.traceparent if (span := tracing.current()) else None,
        )

    def endpoint(self, channel: str, address: str) -> str:
        if channel == "email":
            return f"smtp:{self.settings.smtp_host}:{self.settings.smtp_port}"
        if channel == "sms":
            return f"sms:{self.settings.sms_url}"
        return f"{channel}:{address}"[:600]

    def render(self, d: Delivery, language: str | None = None) -> Message:
        if d.channel == "callback":
            return Message("", "", "", "")
        return self.templates.render(d.event_type, language or d.language, {
            "d": d.context, "links": self.links(d), "drill": bool(d.context.get("drill")),
        })

    def links(self, d: Delivery) -> dict[str, str]:
        base = self.base
        return {
            "base": base,
            "case": f"{base}/api/v1/cases/{d.case_id}",
            "incident": f"{base}/api/v1/incidents/{d.incident_id}",
            "statement": f"{base}/api/v1/statements/{d.statement_id}",
            "ack": self.ack_url(d.id),
        }

    def ack_url(self, delivery_id: str) -> str:
        token = quote(self.tokens.token_for(delivery_id))
        return f"{self.base}/api/v1/notifications/ack?token={token}"

    async def send_to_log(self, unit: Unit, d: Delivery, now: dt.datetime) -> None:
        """The `log` channel: the delivery is its record and a log line; it cannot fail."""
        log.info("notify %s via log: %s", d.recipient, self.render(d).subject)
        d.status, d.attempts, d.sent_at, d.next_attempt_at = "sent", d.attempts + 1, now, None
        await self.emit_sent(unit, d, now)

    async def emit_sent(self, unit: Unit, d: Delivery, now: dt.datetime) -> None:
        await unit.emit(NotificationSent(
            delivery_id=d.id, complaint_id=d.complaint_id, case_id=d.case_id,
            recipient=d.recipient, channel=d.channel, sent_at=now,
        ), subject=refs_of(d).subject)

    # -- acknowledgement ----------------------------------------------------------------

    async def acknowledge(self, unit: Unit, *, by: str | None, token: str | None = None,
                          delivery_id: str | None = None) -> Delivery:
        """Mark a delivery acknowledged and publish it under who gave it (triage stops
        skip-level escalation, and the first acknowledgement acknowledges the case).
        Unknown token or id: 404. Already acknowledged: 409 (a token works once). A
        token older than NOTIFY_ACK_TOKEN_TTL_S: 410."""
        query = select(Delivery)
        if token is not None:
            query = query.where(Delivery.ack_token_hash == AckTokens.hash(token))
        else:
            query = query.where(Delivery.id == delivery_id)
        row = (await unit.session.scalars(query.with_for_update())).first()
        if row is None:
            raise AckError(404, "unknown acknowledgement token" if token is not None
                           else f"no delivery {delivery_id}")
        if token is not None and (expired := self.token_expired_at(row)) is not None:
            raise AckError(410, f"this acknowledgement link expired at {expired.isoformat()}; "
                           "acknowledge in the command center or call the duty desk")
        if row.acknowledged_at is not None:
            once = "; a token works once" if token is not None else ""
            raise AckError(409, "this delivery was already acknowledged at "
                           f"{row.acknowledged_at.isoformat()} by {row.acknowledged_by}{once}")
        now = dt.datetime.now(dt.UTC)
        acked = [row]
        if row.event_type == DIGEST_EVENT_TYPE:  # it acknowledges every complaint it carried
            acked += (await unit.session.scalars(
                select(Delivery).where(Delivery.digest_id == row.id))).all()
        for d in acked:
            d.acknowledged_at, d.acknowledged_by = now, by or row.recipient
            if d.event_type != DIGEST_EVENT_TYPE:
                await self._emit_ack(unit, d, now)
        return row

    @staticmethod
    async def still_due(session: AsyncSession, d: Delivery) -> list[dict[str, str]] | None:
        """What is still due on the delivery's case once it is acknowledged (the
        acknowledge clock is met by the first acknowledgement), as triage last said; None
        when the delivery is about no case or triage has not said yet."""
        if d.case_id is None:
            return None
        clocks = await session.get(CaseClocks, d.case_id)
        if clocks is None:
            return None
        return [c for c in clocks.outstanding
                if c["clock"] != "acknowledge" or d.acknowledged_at is None]

    def token_expired_at(self, d: Delivery) -> dt.datetime | None:
        """When the delivery's token expired, or None while it still works."""
        ends = d.created_at + dt.timedelta(seconds=self.settings.ack_token_ttl_s)
        return ends if ends <= dt.datetime.now(dt.UTC) else None

    async def _emit_ack(self, unit: Unit, d: Delivery, now: dt.datetime) -> None:
        await unit.emit(NotificationAcknowledged(
            delivery_id=d.id, cause_event_id=d.cause_event_id, cause_type=d.event_type,
            complaint_id=d.complaint_id, case_id=d.case_id, incident_id=d.incident_id,
            escalation_id=d.escalation_id, recipient=d.recipient, roles=list(d.roles),
            acknowledged_at=now, acknowledged_by=d.acknowledged_by,
        ), subject=refs_of(d).subject)

    # -- level-4 digest -----------------------------------------------------------------

    async def make_digests(self, unit: Unit) -> list[Delivery]:
        """One digest per recipient and channel for everything batched since the last."""
        query = (select(Delivery).where(Delivery.status == "batched",
                                        Delivery.digest_id.is_(None))
                 .order_by(Delivery.created_at))
        if unit.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        groups: dict[tuple[str, str], list[Delivery]] = {}
        for row in (await unit.session.scalars(query)).all():
            groups.setdefault((row.recipient, row.channel), []).append(row)
        now = dt.datetime.now(dt.UTC)
        digests = []
        for (recipient, channel), rows in groups.items():
            roles = tuple(sorted({r for row in rows for r in row.roles}))
            target = Target(recipient, roles, channel, rows[-1].address, rows[-1].language)
            digest = self.new_delivery(f"digest:{uuid.uuid4().hex}", DIGEST_EVENT_TYPE, target,
                                       Refs(recipient), {"items": [r.context for r in rows]},
                                       now)
            unit.session.add(digest)
            for row in rows:
                row.digest_id = digest.id
            if channel == "log":
                await self.send_to_log(unit, digest, now)
                self.settle_members(rows, "sent", now, None)
            digests.append(digest)
        return digests

    @staticmethod
    def settle_members(rows: Sequence[Delivery], status: str, now: dt.datetime,
                       error: str | None) -> None:
        for row in rows:
            row.status, row.last_error = status, error
            if status == "sent":
                row.sent_at = now
