from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.inbox import inbox_table
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData()


# The event_type of a digest delivery. Not a bus topic (no event of it is published): the
# name of the digest's templates and the `type` a webhook receives, beside the topics that
# cause the other deliveries.
DIGEST_EVENT_TYPE = "notification.digest"


class Delivery(Base):
    """One message to one recipient on one channel, caused by one event.

    status: `pending` (due at next_attempt_at), `batched` (waits for its digest), `sent`,
    `dead` (every attempt failed: the dead-letter record). A digest is a delivery of its own
    (event_type `notification.digest`); the rows it carries point at it through digest_id.
    """

    __tablename__ = "notify_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    cause_event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(100))
    complaint_id: Mapped[str | None] = mapped_column(String(32), index=True)
    case_id: Mapped[str | None] = mapped_column(String(32), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(32), index=True)
    statement_id: Mapped[str | None] = mapped_column(String(32), index=True)
    escalation_id: Mapped[str | None] = mapped_column(String(64))
    digest_id: Mapped[str | None] = mapped_column(String(32), index=True)
    recipient: Mapped[str] = mapped_column(String(100))
    roles: Mapped[list[str]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(500))
    # What a circuit breaker and the per-endpoint concurrency bound are keyed on.
    endpoint: Mapped[str] = mapped_column(String(600))
    language: Mapped[str] = mapped_column(String(5))
    # The template's variables (the cause's payload; events carry no complainant data).
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The cause's trace: attempts and their events continue it (one complaint, one trace).
    traceparent: Mapped[str | None] = mapped_column(String(55))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # sha256 of the acknowledgement token; the token itself is never stored.
    ack_token_hash: Mapped[str] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        # One delivery per cause, recipient and channel, however often the cause is redelivered.
        Index("ux_notify_deliveries_once", "cause_event_id", "recipient", "channel", unique=True),
        Index("ux_notify_deliveries_ack", "ack_token_hash", unique=True),
        Index("ix_notify_deliveries_due", "status", "next_attempt_at"),
    )


class MemberRow(Base):
    """A person or group on the roster, with roles and {channel: {address, secret}}."""

    __tablename__ = "notify_members"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    channels: Mapped[dict[str, dict[str, str | None]]] = mapped_column(JSON)
    department: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DutyRow(Base):
    """The duty schedule (值班表): `member_id` holds `role` on `on_date`, hours [start, end)."""

    __tablename__ = "notify_duty"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    on_date: Mapped[date] = mapped_column(Date)
    start_hour: Mapped[int] = mapped_column(Integer)
    end_hour: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(100))
    member_id: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_notify_duty_day", "on_date", "role"),)


class CallbackRow(Base):
    """Where a hotline system (an API-key owner) wants its complaints' status changes."""

    __tablename__ = "notify_callbacks"

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ComplaintOwner(Base):
    """Which API-key owner filed a complaint (from complaint.received), for its callbacks."""

    __tablename__ = "notify_complaint_owners"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))


class CallbackSequence(Base):
    """The last `sequence` a complaint's callbacks used. Incremented by one upsert in the
    transaction that records the callback, so the row lock orders replicas and a restart
    continues where it stopped."""

    __tablename__ = "notify_callback_sequences"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer)


class CaseClocks(Base):
    """What is still due on a case, as triage last said (complaint.triaged, case.updated):
    the acknowledgement page tells the person who acknowledged."""

    __tablename__ = "notify_case_clocks"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    # [{"clock": "report", "due_at": "ISO 8601"}, ...], soonest first.
    outstanding: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StatementRow(Base):
    """The unified external statement (统一口径): draft, approved, distributed."""

    __tablename__ = "notify_statements"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(20))
    drafted_by: Mapped[str] = mapped_column(String(200))
    drafted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    distribute_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    distributed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DrillIncident(Base):
    """An incident opened by a drill (incident.opened's flag), so that its statements say
    so: notify never reads triage's tables."""

    __tablename__ = "notify_drill_incidents"

    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MetaRow(Base):
    """Small facts about this service's data, e.g. that the roster was seeded."""

    __tablename__ = "notify_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))



# The event_type of a scheduled brief's deliveries (日报, 周报): its templates' name.
BRIEF_EVENT_TYPE = "brief"


class BriefRow(Base):
    """A scheduled brief for one period, claimed once across notify's replicas by inserting
    this row (its id is the kind and the period); the figures triage and sentiment send are
    kept here until it is delivered, once, under this row's lock."""

    __tablename__ = "notify_briefs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # daily-20261201
    kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Delivered with what has come by then, if not every figure came before.
    wait_until: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10), default="requested")  # delivered
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # per source
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_notify_briefs_status_wait", "status", "wait_until"),)


metadata = Base.metadata
outbox = outbox_table(metadata, "notify")
inbox = inbox_table(metadata, "notify")
