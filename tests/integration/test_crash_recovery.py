"""Nothing lost: a crash between commit and publish, a failing publish, a broker outage,
and several relays on one outbox."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from deploy.tansu import Tansu
from shared.bus import BusUnavailable, MemoryBroker, MemoryBus, Record
from shared.events import Envelope
from tests.support import (
    BusFactory,
    Db,
    Probe,
    assert_once_in_order,
    events_for,
    eventually,
    kafka_bus,
    new_topic,
)

ROOT = Path(__file__).resolve().parents[2]


async def test_process_killed_between_commit_and_publish_loses_nothing(
    db: Db, bus_factory: BusFactory
) -> None:
    topic = new_topic()
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("crash_child.py")),
        db.url, db.schema or "-", topic, "50",
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = await child.communicate()
    assert child.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert b"committed-and-publishing" in out

    probe = Probe(db.url, bus_factory(), topic, schema=db.schema)
    await probe.runtime.start()
    try:
        await probe.tally.applied(50)
        assert_once_in_order(await probe.effects(), events_for(keys=10, per_key=5))
    finally:
        await probe.runtime.stop()


async def until_drained(probe: Probe, within: float = 10.0) -> None:
    """Poll the outbox (the relay's commit has no event to await) until it is empty."""

    async def drained() -> bool:
        return not await probe.runtime.relay.backlog()

    await eventually(drained, "the relay drained the outbox", within=within, every=0.02)


class FlakyBus(MemoryBus):
    """Refuses the first `failures` publishes, like a broker that is down."""

    def __init__(self, broker: MemoryBroker, failures: int) -> None:
        super().__init__(broker)
        self.failures = failures
        self.refused = asyncio.Event()

    async def publish_records(self, items: Sequence[tuple[str, Record]]) -> None:
        if self.failures > 0:
            self.failures -= 1
            self.refused.set()
            raise BusUnavailable("injected: broker down")
        await super().publish_records(items)


async def test_failed_publish_keeps_events_until_the_bus_answers(db: Db) -> None:
    bus = FlakyBus(MemoryBroker(4), failures=3)
    probe = Probe(db.url, bus, new_topic(), schema=db.schema)
    await probe.runtime.start()
    try:
        expected = events_for(keys=5, per_key=4)
        await probe.emit(expected)
        await bus.refused.wait()
        await probe.tally.applied(len(expected))
        assert bus.failures == 0
        assert_once_in_order(await probe.effects(), expected)
        assert await probe.runtime.relay.backlog() == 0
    finally:
        await probe.runtime.stop()


@pytest.mark.kafka
async def test_publishing_resumes_when_the_broker_comes_back(db: Db, own_tansu: Tansu) -> None:
    """Tansu restarts empty (memory-only): what sat in the outbox survives and flows."""
    probe = Probe(db.url, kafka_bus(own_tansu.bootstrap), new_topic(), schema=db.schema)
    await probe.runtime.start()
    try:
        await eventually(lambda: bool(probe.runtime.bus.assignment()), "partitions assigned")
        before = events_for(keys=5, per_key=2)
        await probe.emit(before)
        await probe.tally.applied(len(before))
        # The relay marks rows sent after the broker acknowledged them, which may be after a
        # consumer applied them: let it finish so the outbox holds only what follows.
        await until_drained(probe)

        own_tansu.stop(kill=True)
        during = events_for(keys=5, per_key=4, start=2)
        for start in range(0, len(during), 5):
            await probe.emit(during[start:start + 5])
        assert await probe.runtime.relay.backlog() == len(during)

        own_tansu.start()
        await probe.tally.applied(len(before) + len(during), within=90)
        assert_once_in_order(await probe.effects(), before + during)
        assert await probe.runtime.relay.backlog() == 0
    finally:
        await probe.runtime.stop()


@pytest.mark.postgres
async def test_parallel_relays_publish_each_event_once_in_key_order(
    pg_url: str, pg_schema: str
) -> None:
    """Two replicas' relays drain one outbox (FOR UPDATE SKIP LOCKED): no event twice, and
    each key's events reach the bus in the order they were written."""
    broker, topic = MemoryBroker(4), new_topic()
    replicas = [Probe(pg_url, MemoryBus(broker), topic, schema=pg_schema, label=str(i))
                for i in range(2)]
    await replicas[0].runtime.db.create_all(replicas[0].runtime.metadata)
    expected = events_for(keys=10, per_key=30)
    for start in range(0, len(expected), 10):
        await replicas[0].emit(expected[start:start + 10])
    for replica in replicas:
        replica.runtime.relay.batch_size = 7

    async def drain(bus_owner: Probe) -> int:
        sent = 0
        while (batch := await bus_owner.runtime.relay.publish_pending()) or \
                await bus_owner.runtime.relay.backlog():
            sent += batch
            await asyncio.sleep(0)  # let the other relay in between batches
        return sent

    try:
        counts = await asyncio.gather(*(drain(r) for r in replicas))
        published = [Envelope.from_bytes(r.value) for r in broker.records(topic)]
        assert sum(counts) == len(expected) == len(published)
        assert len({e.id for e in published}) == len(published)
        assert all(count > 0 for count in counts), counts
        by_key: dict[str, list[int]] = {}
        for event in published:
            by_key.setdefault(event.subject, []).append(int(event.data["n"]))
        assert all(ns == sorted(ns) for ns in by_key.values())
    finally:
        for replica in replicas:
            await replica.runtime.db.dispose()




@pytest.mark.kafka
async def test_events_the_broker_lost_unconsumed_are_sent_again(
    db: Db, own_tansu: Tansu
) -> None:
    """Tansu acknowledged events, then restarted empty before anyone consumed them: the
    relay notices the lost log on its next publish and sends its recent events again, so
    the consumer, started afterwards, applies every event once and in order."""
    topic = new_topic()
    # The producer consumes another topic: nothing reads `topic` before the restart.
    producer = Probe(db.url, kafka_bus(own_tansu.bootstrap), new_topic(), schema=db.schema)
    producer.topic = topic
    await producer.runtime.start()
    consumer: Probe | None = None
    try:
        before = events_for(keys=4, per_key=3)
        await producer.emit(before)
        await until_drained(producer)

        own_tansu.stop(kill=True)
        own_tansu.start()
        after = events_for(keys=4, per_key=2, start=3)
        await producer.emit(after)

        consumer = Probe(db.url, kafka_bus(own_tansu.bootstrap), topic, schema=db.schema)
        await consumer.runtime.start()
        await consumer.tally.applied(len(before) + len(after), within=60)
        assert_once_in_order(await consumer.effects(), before + after)
        await until_drained(producer, within=30)
    finally:
        if consumer is not None:
            await consumer.runtime.stop()
        await producer.runtime.stop()


@pytest.mark.kafka
async def test_a_consumer_ahead_of_a_log_that_restarted_reads_it_from_the_start(
    db: Db, own_tansu: Tansu
) -> None:
    """After Tansu restarts empty, a consumer's position (say 10) lies past the new log's end
    (1): it must go back to the start rather than wait there and skip the new log's first
    records. Nothing is replayed here (everything before was consumed), so only new events
    exist on the new log."""
    probe = Probe(db.url, kafka_bus(own_tansu.bootstrap), new_topic(), schema=db.schema)
    probe.runtime.relay.replay_s = 0.0
    await probe.runtime.start()
    try:
        await eventually(lambda: bool(probe.runtime.bus.assignment()), "partitions assigned")
        before = events_for(keys=4, per_key=10)
        await probe.emit(before)
        await probe.tally.applied(len(before))
        await until_drained(probe)

        own_tansu.stop(kill=True)
        own_tansu.start()
        after = events_for(keys=4, per_key=1, start=10)
        await probe.emit(after)
        await probe.tally.applied(len(before) + len(after), within=60)
        assert_once_in_order(await probe.effects(), before + after)
    finally:
        await probe.runtime.stop()

