"""A database outage delays work and loses none: consumers hold their events (never
dead-letter them) until PostgreSQL answers again, and the HTTP answer meanwhile is a 503
with Retry-After, not a 500. The outage is real: a TCP gate in front of PostgreSQL drops
every connection and turns new ones away, as a restarting server does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text as make_statement
from sqlalchemy.engine import make_url

from shared.bus import MemoryBroker, MemoryBus, RetryPolicy, dlq_topic
from shared.db import Database, is_unavailable
from shared.problems import install_problem_handlers
from tests.support import Probe, TcpGate, assert_once_in_order, events_for, new_topic

pytestmark = pytest.mark.postgres


@pytest.fixture
async def gate(pg_url: str) -> AsyncIterator[TcpGate]:
    url = make_url(pg_url)
    opened = await TcpGate(url.host or "127.0.0.1", url.port or 5432).start()
    yield opened
    await opened.stop()


def through(gate: TcpGate, pg_url: str) -> str:
    return make_url(pg_url).set(port=gate.port).render_as_string(hide_password=False)


async def test_consumers_hold_events_through_an_outage(
    pg_url: str, pg_schema: str, gate: TcpGate
) -> None:
    broker, topic = MemoryBroker(4), new_topic()
    # Two tries before dead-lettering, so an outage counted as failures would show at once.
    policy = RetryPolicy(max_attempts=2, backoff_s=0.02, backoff_max_s=0.2)
    consumer = Probe(through(gate, pg_url), MemoryBus(broker, policy), topic, schema=pg_schema)
    # The producer reaches PostgreSQL directly, so events keep coming during the outage.
    producer = Probe(pg_url, MemoryBus(broker, policy), new_topic(), schema=pg_schema,
                     label="producer")
    producer.topic = topic
    await consumer.runtime.start()
    await producer.runtime.start()
    try:
        before = events_for(keys=4, per_key=2)
        await producer.emit(before)
        await consumer.tally.applied(len(before))

        gate.cut()
        during = events_for(keys=4, per_key=3, start=2)
        await producer.emit(during)
        await gate.turned_away_at_least(5)  # the consumer kept trying past its 2 tries
        gate.restore()

        await consumer.tally.applied(len(before) + len(during), within=60)
        assert_once_in_order(await consumer.effects(), before + during)
        assert broker.records(dlq_topic(topic)) == []
    finally:
        await producer.runtime.stop()
        await consumer.runtime.stop()


async def test_an_outage_answers_503_with_retry_after(pg_url: str, gate: TcpGate) -> None:
    db = Database(through(gate, pg_url))
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/probe")
    async def probe() -> dict[str, str]:
        await db.ping()
        return {"database": "up"}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/probe")).status_code == 200
            gate.cut()
            answer = await client.get("/probe")
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["detail"] == "the database is unavailable; retry shortly"
            gate.restore()
            assert (await client.get("/probe")).status_code == 200
    finally:
        await db.dispose()


async def test_unavailable_tells_outages_from_errors_of_the_work(pg_url: str) -> None:
    refused = Database(make_url(pg_url).set(port=1).render_as_string(hide_password=False))
    try:
        with pytest.raises(Exception) as outage:
            await refused.ping()
    finally:
        await refused.dispose()
    assert is_unavailable(outage.value)

    db = Database(pg_url)
    try:
        with pytest.raises(Exception) as bad_statement:
            async with db.session() as session:
                await session.execute(make_statement("SELECT no_such_column FROM pg_class"))
    finally:
        await db.dispose()
    assert not is_unavailable(bad_statement.value)
