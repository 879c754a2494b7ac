"""Transactional outbox: events are rows written with the change they describe; a relay
publishes them in order and marks them sent.

Several relays may run (one per replica). Each claims rows with FOR UPDATE SKIP LOCKED on
PostgreSQL, and only a key's oldest unsent row is ever claimable, so one aggregate's events
reach the bus in the order they were written even with many relays.

A relay does not poll while idle: the unit that wrote rows wakes its own process's relay
when it has committed (`OutboxRelay.wake`), and on PostgreSQL it also sends a NOTIFY in its
transaction, which every relay of the service LISTENs for, so another replica's relay
takes over rows whose writer died before sending them. The idle poll (OUTBOX_IDLE_POLL_S)
is the fallback for rows nothing announced. While batches come back full the relay doubles
its batch, up to OUTBOX_BATCH_MAX, and goes back to OUTBOX_BATCH_SIZE once one is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared import metrics
from shared.bus import Bus, BusLogLost, BusUnavailable
from shared.bus.base import stored_record
from shared.db import Database, UtcDateTime, is_unavailable
from shared.events import Envelope

log = logging.getLogger("beacon.outbox")
# How long a relay waits after another process's NOTIFY before it looks (see _on_notify).
NOTIFY_DELAY_S = 0.1


def outbox_table(metadata: MetaData, prefix: str) -> Table:
    table = Table(
        f"{prefix}_outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("event_key", String(200), nullable=False),
        Column("envelope", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("published_at", UtcDateTime, nullable=True),
    )
    pending = table.c.published_at.is_(None)
    Index(f"ix_{prefix}_outbox_pending", table.c.event_key, table.c.seq,
          postgresql_where=pending, sqlite_where=pending)
    Index(f"ix_{prefix}_outbox_published", table.c.published_at)
    return table


async def add_to_outbox(
    session: AsyncSession, table: Table, events: list[tuple[str, Envelope]],
    *, announce: str | None = None,
) -> None:
    """Write events in the caller's transaction, in one statement; they are published in
    this order after the transaction commits. With `announce` (PostgreSQL only: the
    relay's `announcement`), a NOTIFY on the table's channel with that payload goes out when
    the transaction commits, and not if it rolls back."""
    if not events:
        return
    now = datetime.now(UTC)
    rows = [{"event_id": event.id, "topic": topic, "event_key": event.subject,
             "envelope": event.model_dump_json(exclude_none=True), "created_at": now}
            for topic, event in events]
    # One row (a complaint accepted) as a plain execute: asyncpg's executemany path costs
    # more CPU than the statement for a single row.
    await session.execute(insert(table), rows[0] if len(rows) == 1 else rows)
    if announce is not None:
        await session.execute(select(func.pg_notify(channel_of(table), announce)))


def channel_of(table: Table) -> str:
    """The LISTEN/NOTIFY channel of an outbox table: its name (`intake_outbox`)."""
    return table.name


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        table: Table,
        bus: Bus,
        *,
        service: str,
        batch_size: int = 500,
        batch_max: int = 4000,
        idle_poll_s: float = 5.0,
        retention_s: float = 86400.0,
        replay_s: float = 3600.0,
        listen: bool = True,
    ) -> None:
        self.db, self.table, self.bus, self.service = db, table, bus, service
        self.replay_s = replay_s  # how far back a broker that lost its log is refilled
        self.batch_size, self.idle_poll_s, self.retention_s = batch_size, idle_poll_s, retention_s
        self.batch_max = max(batch_max, batch_size)
        self.batch = batch_size  # the next batch's limit: grows while batches come back full
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._last_cleanup = 0.0
        self._replay_due = False
        self.listens = listen and not db.is_sqlite
        # This relay's NOTIFY payload: its own commits' notifications it ignores (the
        # in-process wake came first); another process's wake it.
        self.token = uuid.uuid4().hex
        self._listener: asyncio.Task[None] | None = None
        self._notified: asyncio.TimerHandle | None = None
        self.listening = asyncio.Event()  # set while LISTEN is in force (tests await it)
        self.waiting = asyncio.Event()  # set while idle, waiting for a wake or the poll

    @property
    def announcement(self) -> str | None:
        """What a unit passes to `add_to_outbox(announce=...)`: this relay's token where
        relays LISTEN (PostgreSQL), else None (no NOTIFY)."""
        return self.token if self.listens else None

    def wake(self) -> None:
        self._wakeup.set()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """Another process committed outbox rows. Its own relay was woken at once and most
        likely sends them, so this one looks a little later, at most once per
        NOTIFY_DELAY_S however many arrive: under load that is a few claims a second more,
        and after a writer died its rows still go out within that delay."""
        if payload == self.token or self._notified is not None:
            return
        loop = asyncio.get_running_loop()

        def wake() -> None:
            self._notified = None
            self.wake()

        self._notified = loop.call_later(NOTIFY_DELAY_S, wake)

    async def _listen(self) -> None:
        """LISTEN on the table's channel for as long as the relay runs, on a connection of
        its own (taken from the pool, which it leaves closed); on a lost connection, again
        after a pause (meanwhile the idle poll covers)."""
        channel = channel_of(self.table)
        failures = 0
        while True:
            lost = asyncio.Event()
            try:
                async with self.db.engine.connect() as conn:
                    fairy = await conn.get_raw_connection()
                    driver: Any = fairy.driver_connection
                    try:
                        await driver.add_listener(channel, self._on_notify)
                        driver.add_termination_listener(lambda _c, lost=lost: lost.set())
                        self.listening.set()
                        if failures:
                            log.info("listening for outbox notifications again")
                        failures = 0
                        self.wake()  # whatever was announced while nobody listened
                        await lost.wait()
                    finally:
                        self.listening.clear()
                        # Never back into the pool with a LISTEN on it.
                        await conn.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.warning("cannot listen for outbox notifications (%s); polling every "
                                "%.1fs meanwhile", type(exc).__name__, self.idle_poll_s)
            await asyncio.sleep(min(0.5 * 2 ** min(failures, 4), 5.0))

    async def publish_pending(self) -> int:
        """Publish one batch (of up to `batch` rows); return how many were sent. Raises
        BusUnavailable."""
        o = self.table
        earlier = o.alias("earlier")
        head_of_key = ~exists().where(
            earlier.c.event_key == o.c.event_key,
            earlier.c.published_at.is_(None),
            earlier.c.seq < o.c.seq,
        )
        query = (
            select(o.c.seq, o.c.topic, o.c.event_key, o.c.envelope)
            .where(o.c.published_at.is_(None), head_of_key)
            .order_by(o.c.seq)
            .limit(self.batch)
        )
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=o)
        async with self.db.transaction() as session:
            rows = (await session.execute(query)).all()
            if not rows:
                return 0
            await self.bus.verify_log()  # raises BusLogLost before anything newer is sent
            # The stored JSON is the message: no parse and re-serialise on the hot path.
            items = [(r.topic, stored_record(r.event_key, r.topic, r.envelope.encode()))
                     for r in rows]
            await self.bus.publish_records(items)
            await session.execute(
                update(o).where(o.c.seq.in_([r.seq for r in rows]))
                .values(published_at=datetime.now(UTC))
            )
        for topic, _ in items:
            metrics.EVENTS_PUBLISHED.labels(self.service, topic).inc()
        return len(rows)

    async def backlog(self) -> int:
        async with self.db.session() as session:
            count = await session.scalar(
                select(func.count()).select_from(self.table)
                .where(self.table.c.published_at.is_(None))
            )
        return int(count or 0)

    async def replay_recent(self, window_s: float) -> int:
        """Mark rows sent in the last window as unsent again (for a bus that lost its log)."""
        since = datetime.now(UTC) - timedelta(seconds=window_s)
        async with self.db.transaction() as session:
            result = await session.execute(
                update(self.table).where(self.table.c.published_at >= since)
                .values(published_at=None)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def start(self) -> None:
        self._running = True
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")
        if self.listens:
            self._listener = asyncio.create_task(self._listen(),
                                                 name=f"outbox-listen-{self.service}")

    async def stop(self, within: float | None = None) -> None:
        """Publish what can be published, then stop. Past `within` seconds the flush is cut short:
        the rows not marked sent stay for the next relay (a repeat of a row the broker got
        is a no-op for the consumers' inboxes)."""
        self._running = False
        self._wakeup.set()
        if self._notified is not None:
            self._notified.cancel()
            self._notified = None
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._listener, within)
            self._listener = None
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, within)
            except TimeoutError:
                log.warning("outbox flush cut short after %.1fs; unsent events wait in the "
                            "outbox for the next relay", within)
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                if self._replay_due:
                    replayed = await self.replay_recent(self.replay_s)
                    self._replay_due = False
                    log.warning("sending %d recent events again", replayed)
                sent = await self.publish_pending()
                self._size_next(sent)
                if failures:
                    log.info("bus reachable again; outbox relay resumed")
                failures = 0
                await self._cleanup()
            except BusLogLost:
                # This batch was not marked sent; what was sent lately goes again first, in
                # its order, then this batch.
                self._replay_due = True
                sent = 1  # publish again at once
            except BusUnavailable as exc:
                failures += 1
                if failures == 1:
                    log.warning("bus unavailable, events stay in the outbox: %s", exc)
                sent = 0
            except Exception as exc:
                failures += 1
                if not is_unavailable(exc):
                    log.exception("outbox relay error")
                elif failures == 1:
                    log.warning("database unavailable (%s); the relay waits for it",
                                type(exc).__name__)
                sent = 0
            if not self._running and (sent == 0 or failures):
                return
            if sent == 0:
                delay = self.idle_poll_s if not failures else min(0.1 * 2**failures, 5.0)
                self.waiting.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), delay)
                self.waiting.clear()
                self._wakeup.clear()

    def _size_next(self, sent: int) -> None:
        """A full batch means a backlog: take twice as many next time (fewer round trips,
        and the broker gets bigger produce batches), up to `batch_max`; otherwise the usual
        size again, so a lone commit's rows never wait behind a big claim."""
        if sent >= self.batch:
            self.batch = min(self.batch * 2, self.batch_max)
        elif self.batch != self.batch_size:
            self.batch = self.batch_size

    async def _cleanup(self) -> None:
        now = time.monotonic()
        if now - self._last_cleanup < 60:
            return
        self._last_cleanup = now
        cutoff = datetime.now(UTC) - timedelta(seconds=self.retention_s)
        async with self.db.transaction() as session:
            await session.execute(delete(self.table).where(self.table.c.published_at < cutoff))
