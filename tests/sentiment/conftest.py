"""A sentiment app of the test's own on SQLite and the memory bus, with a clock the test sets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sentiment_svc.main import create_app
from sentiment_svc.settings import SentimentSettings
from sentiment_svc.state import MentionIntakeState
from shared.bus import BusMessage, MemoryBroker
from shared.events import Envelope, EventPayload
from shared.runtime import ServiceRuntime
from tests.support import as_gateway

START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Sentiment:
    app: FastAPI
    client: httpx.AsyncClient
    broker: MemoryBroker
    clock: Clock
    applied: list[BusMessage] = field(default_factory=list)
    _waiters: list[tuple[Callable[[], bool], asyncio.Event]] = field(default_factory=list)

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    @property
    def intake_state(self) -> MentionIntakeState:
        state: MentionIntakeState = self.app.state.intake_state
        return state

    def observe(self, _outcome: str, delivery: BusMessage) -> None:
        self.applied.append(delivery)
        for condition, event in self._waiters:
            if condition():
                event.set()

    async def consumed(self, n: int) -> None:
        """Wait (bounded) until the app's consumers have applied n events."""
        event = asyncio.Event()
        self._waiters.append((lambda: len(self.applied) >= n, event))
        if len(self.applied) < n:
            await asyncio.wait_for(event.wait(), 10)

    async def emitted(self, event: type[EventPayload]) -> list[Envelope]:
        """Events of the `event` class in sentiment's outbox (what it committed to publish)."""
        from sqlalchemy import select

        table = self.runtime.outbox
        async with self.runtime.db.session() as session:
            rows = (await session.execute(select(table).where(table.c.topic == event.topic)
                                          .order_by(table.c.seq))).mappings().all()
        return [Envelope.from_bytes(r["envelope"].encode()) for r in rows]

    async def post(self, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post("/api/v1/mentions", json=body)


@pytest.fixture
async def sentiment(tmp_path: Path) -> AsyncIterator[Sentiment]:
    broker = MemoryBroker()
    settings = SentimentSettings(data_dir=tmp_path,
                                 database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    app = create_app(settings, broker=broker)
    clock = Clock()
    app.state.intake_state.clock = clock
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sentiment",
            auth=as_gateway(app)) as client:
        s = Sentiment(app, client, broker, clock)
        s.runtime.listeners.append(s.observe)
        yield s
