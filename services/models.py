"""The gateway's own table: API keys, stored as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class ApiKeyRecord(Base):
    __tablename__ = "gateway_api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    rate_per_s: Mapped[float | None] = mapped_column(Float)
    burst: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


metadata = Base.metadata


class ConsoleUser(Base):
    """A person who signs in to the command center; the role decides the scopes."""

    __tablename__ = "gateway_console_users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    pii: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ConsoleSession(Base):
    """A signed-in browser; the cookie holds the secret, this row only its hash."""

    __tablename__ = "gateway_console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)


class SavedView(Base):
    """A named board filter of one user (the query string of the board's URL)."""

    __tablename__ = "gateway_console_views"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
