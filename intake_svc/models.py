from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.inbox import inbox_table
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData()


class Complaint(Base):
    __tablename__ = "intake_complaints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    external_ref: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    location: Mapped[str | None] = mapped_column(String(500))
    target_department: Mapped[str | None] = mapped_column(String(200))
    target_product: Mapped[str | None] = mapped_column(String(200))
    people_count: Mapped[int] = mapped_column(default=1)
    media_involved: Mapped[bool] = mapped_column(default=False)
    drill: Mapped[bool] = mapped_column(default=False)
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # Complainant data, AES-GCM sealed; see shared.privacy.
    complainant_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    complainant_phone: Mapped[bytes | None] = mapped_column(LargeBinary)
    complainant_email: Mapped[bytes | None] = mapped_column(LargeBinary)
    complainant_id_number: Mapped[bytes | None] = mapped_column(LargeBinary)
    complainant_key: Mapped[str | None] = mapped_column(String(64))
    # Retention: when the personal data above was purged (the sealed fields are then null).
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ux_intake_complaints_external_ref", "submitted_by", "external_ref", unique=True),
    )


class SealedText(Base):
    """The complaint's text as typed, AES-GCM sealed, when it held personal data (the
    complaint row and the event carry it masked; see shared.pii_text)."""

    __tablename__ = "intake_sealed_text"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[bytes | None] = mapped_column(LargeBinary)


class IdempotencyKey(Base):
    __tablename__ = "intake_idempotency_keys"

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    complaint_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ArchivedComplaint(Base):
    """A complaint whose case triage archived (`case.updated` archived): its personal data
    is purged once `purge_after` has passed (retention, `PII_RETENTION_DAYS`)."""

    __tablename__ = "intake_archived"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    archived_at: Mapped[datetime] = mapped_column(UtcDateTime)
    purge_after: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AtRiskComplainant(Base):
    """A complainant pre-registered as at risk of escalating (易造成升级投诉…提前报备), by
    the keyed hash of one contact (never the contact itself). Their next complaint is
    raised one level, which uses the pre-registration up (`used_by`)."""

    __tablename__ = "intake_at_risk"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    phone_key: Mapped[str | None] = mapped_column(String(64), index=True)
    email_key: Mapped[str | None] = mapped_column(String(64), index=True)
    note: Mapped[str] = mapped_column(String(1000))
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_by: Mapped[str | None] = mapped_column(String(32))
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


metadata = Base.metadata
outbox = outbox_table(metadata, "intake")
inbox = inbox_table(metadata, "intake")
