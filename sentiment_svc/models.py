from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.inbox import inbox_table
from shared.outbox import outbox_table


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


metadata = Base.metadata
outbox = outbox_table(metadata, "sentiment")
inbox = inbox_table(metadata, "sentiment")
