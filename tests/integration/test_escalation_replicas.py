"""Escalation timers with two triage replicas on Tansu and PostgreSQL, in real time: every
step of every case fires exactly once although both replicas check the same timers, one
replica stops mid-way and a new one joins. Clocks are seconds long (the rules file accepts
"2s" for drills and tests)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from deploy.tansu import Tansu
from shared.bus.kafka import KafkaBus
from shared.events import make_event
from shared.events.schemas import CaseEscalated, ComplaintReceived
from shared.settings import BusSettings
from tests.support import events_on_the_log, eventually
from triage_svc.main import create_app
from triage_svc.models import Case, Escalation
from triage_svc.rules import DEFAULT_RULES
from triage_svc.settings import TriageSettings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

CASES = 30
# A level-4 complaint climbs: general affairs when `resolve` runs out, then (nobody
# acknowledges) leadership group and superior authority, each after `ack_within`.
STEPS_PER_CASE = 3
SHORT_CLOCKS = {"acknowledge": "1s", "first_contact": "2s", "report": "2s", "resolve": "3s"}


def _short_rules(path: Path) -> Path:
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    for clock, value in SHORT_CLOCKS.items():
        text = re.sub(rf"(?m)^{clock} = \"[^\"]+\"", f'{clock} = "{value}"', text)
    text = re.sub(r'(?m)^([1-4]) = "\d+[mh]"', r'\1 = "2s"', text)  # [escalation.ack_within]
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def _database(pg_url: str) -> AsyncIterator[str]:
    name = f"esc_{uuid.uuid4().hex[:10]}"
    admin_dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    admin = await asyncpg.connect(admin_dsn + "/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _replica(url: str, bus: BusSettings, rules: Path, data_dir: Path) -> FastAPI:
    return create_app(TriageSettings(database_url=url, bus=bus, rules_file=rules,
                                     timer_interval_s=0.2, data_dir=data_dir))


async def test_two_replicas_fire_each_escalation_exactly_once(
        own_tansu: Tansu, pg_url: str, tmp_path: Path) -> None:
    bus = BusSettings(kind="kafka", kafka_bootstrap_servers=own_tansu.bootstrap,
                      kafka_partitions=4, kafka_connect_timeout_s=5,
                      kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=300)
    rules = _short_rules(tmp_path / "rules.toml")
    async with _database(pg_url) as url, contextlib.AsyncExitStack() as stack:
        first, second = (_replica(url, bus, rules, tmp_path) for _ in range(2))
        stoppable = contextlib.AsyncExitStack()
        await stoppable.enter_async_context(first.router.lifespan_context(first))
        await stack.enter_async_context(second.router.lifespan_context(second))

        producer = KafkaBus(bus, client_id="test-hotline")
        await producer.start()
        stack.push_async_callback(producer.stop)
        await producer.publish_batch([(ComplaintReceived.topic, make_event(ComplaintReceived(
                complaint_id=uuid.uuid4().hex, channel="hotline",
                content=f"发票开错了，需要重新开具（第{i}张）", received_at=datetime.now(UTC)),
            source="/test", subject=f"c{i}")) for i in range(CASES)])

        db = second.state.runtime.db

        async def fired() -> int:
            async with db.session() as session:
                return int(await session.scalar(select(func.count()).select_from(Escalation)
                                                .where(Escalation.status == "fired")) or 0)

        async def some_fired() -> bool:
            return await fired() > 0

        async def all_fired() -> bool:
            return await fired() >= CASES * STEPS_PER_CASE

        await eventually(some_fired, "first escalations", within=60)
        await stoppable.aclose()  # one replica leaves mid-way ...
        third = _replica(url, bus, rules, tmp_path)  # ... and a new one joins
        await stack.enter_async_context(third.router.lifespan_context(third))
        await eventually(all_fired, "every step of every case", within=90)

        async with db.session() as session:
            cases = int(await session.scalar(select(func.count()).select_from(Case)) or 0)
            steps = Counter((await session.scalars(select(Escalation.step).where(
                Escalation.status == "fired"))).all())
        assert cases == CASES
        assert steps == {1: CASES, 2: CASES, 3: CASES}

        async def published() -> bool:  # outboxes drained before reading the log
            return all([await app.state.runtime.relay.backlog() == 0 for app in (second, third)])

        await eventually(published, "outboxes drained")
        events = await events_on_the_log(own_tansu.bootstrap, CaseEscalated.topic)
    ids = Counter(e.payload().escalation_id for e in events)  # type: ignore[attr-defined]
    assert len(ids) == CASES * STEPS_PER_CASE and set(ids.values()) == {1}
    reasons = Counter(e.payload().reason for e in events)  # type: ignore[attr-defined]
    assert reasons == {"deadline_missed": CASES, "not_acknowledged": 2 * CASES}
