from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.inbox import inbox_table
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData()


class Case(Base):
    __tablename__ = "triage_cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(32), unique=True)
    response_level: Mapped[int] = mapped_column(Integer, index=True)
    category: Mapped[str] = mapped_column(String(30))
    level_reasons: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), index=True)
    department: Mapped[str | None] = mapped_column(String(200))
    drill: Mapped[bool] = mapped_column(default=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledge_by: Mapped[datetime] = mapped_column(UtcDateTime)
    first_contact_by: Mapped[datetime] = mapped_column(UtcDateTime)
    report_by: Mapped[datetime] = mapped_column(UtcDateTime)
    resolve_by: Mapped[datetime] = mapped_column(UtcDateTime)
    incident_id: Mapped[str | None] = mapped_column(String(32))
    rules_version: Mapped[int] = mapped_column(Integer)
    # History inputs: a keyed hash of the complainant (never their data) and the product.
    complainant_key: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(200))
    # Workflow: who handles it (首问责任制), what the complainant was told, how satisfied.
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(100))
    answer: Mapped[str | None] = mapped_column(String(5000))
    satisfaction: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_triage_cases_complainant_opened", "complainant_key", "opened_at"),
        Index("ix_triage_cases_target_opened", "department", "product", "opened_at"),
    )


class TimelineEntry(Base):
    """Every change to a case: who, when, what, why."""

    __tablename__ = "triage_timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("triage_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(2000))


metadata = Base.metadata
outbox = outbox_table(metadata, "triage")
inbox = inbox_table(metadata, "triage")
