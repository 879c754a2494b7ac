"""The drill service's own tables: runs, their scheduled injections, and a read model of what
the run caused, built from the events it consumes (never from another service's tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.inbox import inbox_table
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData()


metadata = Base.metadata


class Run(Base):
    """One drill run: `running`, then `finished` (its length of drill time passed and every
    injection was made) or `stopped` (ended early)."""

    __tablename__ = "drill_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scenario_name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON)  # as it ran (files change)
    speed: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(10), index=True)
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stopped_by: Mapped[str | None] = mapped_column(String(200))


class Injection(Base):
    """A complaint or a mention the runner posts through the public API when it is due."""

    __tablename__ = "drill_injections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # complaint, mention
    ref: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending, posted, failed (the API refused it), cancelled (the run stopped first)
    status: Mapped[str] = mapped_column(String(10), index=True)
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result_id: Mapped[str | None] = mapped_column(String(32), index=True)
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class DrillCase(Base):
    """A drill complaint's case as the events tell it (triage owns the case itself)."""

    __tablename__ = "drill_cases"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    ref: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[str | None] = mapped_column(String(32), index=True)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    triaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response_level: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(40))
    acknowledge_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_contact_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolve_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    state: Mapped[str | None] = mapped_column(String(20))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    first_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)


class DrillMention(Base):
    """A drill mention, known from `mention.scored` by its marker URL."""

    __tablename__ = "drill_mentions"

    mention_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sentiment_label: Mapped[str] = mapped_column(String(10))
    risk_level: Mapped[int | None] = mapped_column(Integer)


class DrillIncident(Base):
    __tablename__ = "drill_incidents"

    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    response_level: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DrillStatement(Base):
    """A statement (统一口径) about one of the run's incidents."""

    __tablename__ = "drill_statements"

    statement_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(32))
    drafted_by: Mapped[str | None] = mapped_column(String(200))
    drafted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    distribute_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    distributed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recipients: Mapped[int | None] = mapped_column(Integer)


class DrillActivity(Base):
    """What happened in the run, in order: acknowledgements, escalations (skip-level among
    them), incidents; the report's evidence."""

    __tablename__ = "drill_activity"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the event's id
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(30))
    complaint_id: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(Text)
    step: Mapped[int | None] = mapped_column(Integer)


outbox = outbox_table(metadata, "drill")
inbox = inbox_table(metadata, "drill")
