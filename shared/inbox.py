"""Inbox: the ids of events a consumer has already applied, written in the same transaction
as the effect, so a redelivered event changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UtcDateTime


def inbox_table(metadata: MetaData, prefix: str) -> Table:
    return Table(
        f"{prefix}_inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
    )


async def claim_event(session: AsyncSession, table: Table, consumer: str, event_id: str) -> bool:
    """Record the event as processed by `consumer`; False when it already was.

    On PostgreSQL a concurrent duplicate waits for the first transaction and then sees the row.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def claim_events(
    session: AsyncSession, table: Table, consumer: str, event_ids: list[str]
) -> set[str]:
    """Record many events at once; return the ids that were new (one statement)."""
    if not event_ids:
        return set()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = datetime.now(UTC)
    statement = (
        insert(table)
        .values([{"consumer": consumer, "event_id": e, "processed_at": now}
                 for e in dict.fromkeys(event_ids)])
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return set((await session.scalars(statement)).all())
