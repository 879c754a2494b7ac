"""Scheduled briefs with two notify replicas on Tansu and PostgreSQL, with triage and
sentiment answering over Kafka: every period's brief is requested once and delivered once
although both replicas check the schedule at the same moments, again and again, one
replica stops mid-way and a new one joins. The checks run at simulated moments (five days
of March); the replicas' own timers, on the real clock, are held back so that the bounded
wait (measured from a simulated moment) does not run out at once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from deploy.tansu import Tansu
from notify_svc.main import create_app as create_notify
from notify_svc.models import BRIEF_EVENT_TYPE, BriefRow, Delivery
from notify_svc.settings import NotifySettings
from sentiment_svc.main import create_app as create_sentiment
from sentiment_svc.settings import SentimentSettings
from shared.events.schemas import BriefRequested
from shared.settings import BusSettings
from tests.support import brief_roster, events_on_the_log, eventually
from triage_svc.main import create_app as create_triage
from triage_svc.settings import TriageSettings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

ROSTER = brief_roster(wait_s=120, weekly="monday 09:00")
# Monday 2 March 2026, 09:00 in Shanghai, and the four days after: five daily briefs
# (1 to 5 March) and one weekly report (23 February to 1 March).
MOMENTS = [dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC) + dt.timedelta(days=d)
           for d in range(5)]
SIMULATED = {f"daily-2026030{d}" for d in range(1, 6)} | {"weekly-20260223"}


def _notify(tmp_path: Path, pg_url: str, schema: str, bus: BusSettings) -> FastAPI:
    roster = tmp_path / "roster.toml"
    roster.write_text(ROSTER, encoding="utf-8")
    return create_notify(NotifySettings(
        data_dir=tmp_path, database_url=pg_url, bus=bus, roster_file=roster,
        ack_secret="test-ack-secret-0123456789", brief_poll_s=3600,
        dispatch_poll_s=0.05), schema=schema)


async def _checks(replicas: list[FastAPI], moment: dt.datetime) -> None:
    """Every replica checks the schedule at the same moment, twice each, all at once."""
    await asyncio.gather(*(app.state.notifier.check_briefs(app.state.runtime, now=moment)
                           for app in replicas * 2))


async def test_each_brief_is_requested_and_delivered_once(
        own_tansu: Tansu, pg_url: str, pg_schema: str, tmp_path: Path) -> None:
    bus = BusSettings(kind="kafka", kafka_bootstrap_servers=own_tansu.bootstrap,
                      kafka_partitions=4, kafka_connect_timeout_s=5,
                      kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=300)
    triage = create_triage(TriageSettings(
        data_dir=tmp_path, bus=bus, database_url=f"sqlite+aiosqlite:///{tmp_path / 't.db'}"))
    sentiment = create_sentiment(SentimentSettings(
        data_dir=tmp_path, bus=bus, database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}"))
    first, second = (_notify(tmp_path, pg_url, pg_schema, bus) for _ in range(2))
    async with contextlib.AsyncExitStack() as stack:
        for app in (triage, sentiment, second):
            await stack.enter_async_context(app.router.lifespan_context(app))
        stoppable = contextlib.AsyncExitStack()
        await stoppable.enter_async_context(first.router.lifespan_context(first))

        db = second.state.runtime.db

        async def briefs() -> list[BriefRow] | None:
            async with db.session() as session:
                rows = list((await session.scalars(select(BriefRow))).all())
            return rows if all(r.status == "delivered" for r in rows) else None

        async def day(replicas: list[FastAPI], moment: dt.datetime) -> None:
            # A day passes between two moments: its briefs are out before the next one.
            await _checks(replicas, moment)
            await eventually(briefs, f"the briefs due {moment}", within=60)

        for moment in MOMENTS[:2]:
            await day([first, second], moment)
        await stoppable.aclose()  # one replica leaves mid-way ...
        third = _notify(tmp_path, pg_url, pg_schema, bus)  # ... and a new one joins
        await stack.enter_async_context(third.router.lifespan_context(third))
        for moment in MOMENTS[2:]:
            await day([second, third], moment)
        rows = await eventually(briefs, "every brief delivered")
        async with db.session() as session:
            deliveries = Counter((await session.scalars(
                select(Delivery.cause_event_id).where(
                    Delivery.event_type == BRIEF_EVENT_TYPE))).all())
            total = await session.scalar(select(func.count()).select_from(BriefRow))

        async def published() -> bool:
            return all([await app.state.runtime.relay.backlog() == 0 for app in (second, third)])

        await eventually(published, "outboxes drained")
        events = await events_on_the_log(own_tansu.bootstrap, BriefRequested.topic)

    assert total == len(SIMULATED) and {r.id for r in rows} == SIMULATED
    # Each was delivered when both services had answered (no wait ran out).
    assert all(set(r.figures) == {"triage", "sentiment"} for r in rows)
    # One leader, one channel: one delivery per brief, and one request each on the log.
    assert deliveries == {f"brief:{r.id}": 1 for r in rows}
    requested = Counter(e.payload().brief_id for e in events)  # type: ignore[attr-defined]
    assert requested == {r.id: 1 for r in rows}
