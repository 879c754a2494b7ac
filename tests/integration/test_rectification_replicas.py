"""Overdue rectification reminders with two triage replicas on one PostgreSQL database:
both check the same due rows at the same moment, in small batches, and every corrective
action is reminded exactly once (rows claimed FOR UPDATE SKIP LOCKED, `reminded_at` set in
the transaction that writes the event to the outbox)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shared.bus import MemoryBroker
from shared.events.schemas import ComplaintReceived, RectificationOverdue
from shared.runtime import ServiceRuntime
from triage_svc import rectification
from triage_svc.main import create_app
from triage_svc.models import Rectification
from triage_svc.service import open_case
from triage_svc.settings import TriageSettings

pytestmark = pytest.mark.postgres
ACTIONS = 60


@pytest.fixture
async def replicas(pg_database: str, tmp_path: Path) -> AsyncIterator[list[FastAPI]]:
    broker = MemoryBroker()
    async with contextlib.AsyncExitStack() as stack:
        apps = []
        for _ in range(2):
            # The periodic check is left to the test (an hour apart), which runs it itself.
            app = create_app(TriageSettings(database_url=pg_database, data_dir=tmp_path,
                                            timer_interval_s=3600), broker=broker)
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps.append(app)
        yield apps


async def _remind_all(runtime: ServiceRuntime, now: datetime) -> int:
    total = 0
    while True:
        found = await rectification.remind_overdue(runtime, now, batch=4)
        total += found
        if found == 0:
            return total
        await asyncio.sleep(0)


async def test_each_overdue_rectification_is_reminded_once_by_two_replicas(
        replicas: list[FastAPI]) -> None:
    runtimes: list[ServiceRuntime] = [app.state.runtime for app in replicas]
    first = runtimes[0]
    now = datetime.now(UTC)
    async with first.unit() as unit:
        complaint_id = uuid.uuid4().hex
        case = await open_case(unit, ComplaintReceived(
            complaint_id=complaint_id, channel="hotline", content="叫号机坏了",
            received_at=now), replicas[0].state.rules)
        unit.session.add_all([Rectification(
            id=uuid.uuid4().hex, case_id=case.id, action=f"整改 {n}", owner="case-owner",
            due_at=now - timedelta(minutes=n), created_by="ops", created_at=now)
            for n in range(ACTIONS)])
    counts = await asyncio.gather(*[_remind_all(r, now) for r in runtimes])
    assert sum(counts) == ACTIONS and min(counts) > 0, counts  # both shared the work
    async with first.db.session() as session:
        rows = (await session.execute(select(first.outbox.c.envelope).where(
            first.outbox.c.topic == RectificationOverdue.topic))).scalars().all()
        reminded = (await session.scalars(select(Rectification.reminded_at))).all()
    per_action = Counter(json.loads(row)["data"]["rectification_id"] for row in rows)
    assert len(per_action) == ACTIONS and set(per_action.values()) == {1}
    assert all(at is not None for at in reminded)
    # A later check finds nothing left to remind.
    assert await _remind_all(runtimes[1], now + timedelta(hours=1)) == 0
