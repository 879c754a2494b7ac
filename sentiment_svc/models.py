from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, LargeBinary, MetaData, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.inbox import inbox_table
from shared.outbox import outbox_table

# Spike scopes of drill mentions ("drill:overall", "drill:topic:…"), apart from the real ones.
DRILL_SCOPE_PREFIX = "drill:"
DRILL_SCOPES = DRILL_SCOPE_PREFIX + "%"


class Base(DeclarativeBase):
    metadata = MetaData()


class Mention(Base):
    __tablename__ = "sentiment_mentions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(String(2000), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    reach: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(5))
    sentiment_label: Mapped[str] = mapped_column(String(10))
    sentiment_score: Mapped[float] = mapped_column(Float)
    risk_level: Mapped[int] = mapped_column(Integer)
    risk_score: Mapped[int] = mapped_column(Integer)
    risk_reasons: Mapped[list[str]] = mapped_column(JSON)
    cluster_id: Mapped[str] = mapped_column(String(32), index=True)
    topic_id: Mapped[str] = mapped_column(String(32), index=True)
    # A drill's mention (应急演练): out of the report, trends, buckets and real alerts.
    drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Story(Base):
    """Near-copies of one text (the mention's `cluster_id`); the signature finds its reposts.
    `revision`: the intake revision (`IntakeRevision`) of the batch that opened it."""

    __tablename__ = "sentiment_stories"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    topic_id: Mapped[str] = mapped_column(String(32), index=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    first_mention_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)


class Topic(Base):
    """Stories about one matter; `revision`: that of the batch that last moved its centroid."""

    __tablename__ = "sentiment_topics"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    centroid: Mapped[dict[str, float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)


class IntakeRevision(Base):
    """One row (id 1): how many mention batches have committed, over every replica. A batch
    adds one to it first thing in its transaction, which locks the row until the commit, so
    the batches of all replicas take turns; a replica whose story and topic indexes are older
    than the revision before its own loads the stories and topics stamped since."""

    __tablename__ = "sentiment_intake_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(Integer)


class SpikeStateRow(Base):
    """Spike detector state per scope ("overall" or "topic:<id>"): baselines survive restarts."""

    __tablename__ = "sentiment_spike_states"

    scope: Mapped[str] = mapped_column(String(60), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Bucket(Base):
    """Mentions and negatives per time bucket, for the trends page."""

    __tablename__ = "sentiment_buckets"

    bucket_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    negative: Mapped[int] = mapped_column(Integer)


class Alert(Base):
    __tablename__ = "sentiment_alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(60))
    topic_id: Mapped[str | None] = mapped_column(String(32))
    warning_level: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)


class ComplaintRow(Base):
    """Sentiment's own index of complaints, from complaint events (no personal data)."""

    __tablename__ = "sentiment_complaints"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    department: Mapped[str | None] = mapped_column(String(200))
    product: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    open: Mapped[bool] = mapped_column(Boolean, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class StatementSeen(Base):
    """A unified statement (统一口径) as notify's events told sentiment of it, for the
    public-opinion report ("发布的统一口径"): sentiment never reads notify's tables."""

    __tablename__ = "sentiment_statements"

    statement_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500), default="")
    approved_by: Mapped[str] = mapped_column(String(100), default="")
    approved_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    distributed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recipients: Mapped[int | None] = mapped_column(Integer)
    drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class MentionLink(Base):
    __tablename__ = "sentiment_mention_links"

    mention_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    similarity: Mapped[float] = mapped_column(Float)
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime)


metadata = Base.metadata
outbox = outbox_table(metadata, "sentiment")
inbox = inbox_table(metadata, "sentiment")
