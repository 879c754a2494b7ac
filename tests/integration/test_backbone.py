"""The event backbone's guarantees: outbox -> bus -> inbox, on every database and bus."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from sqlalchemy import select

from shared.bus import MemoryBus, dlq_topic
from shared.bus.kafka import KafkaBus
from shared.events import Envelope
from tests.support import (
    MAX_ATTEMPTS,
    PARTITIONS,
    BusFactory,
    Db,
    Happened,
    Probe,
    Tally,
    assert_once_in_order,
    events_for,
    eventually,
    new_topic,
)


async def test_every_event_applied_once_in_key_order(db: Db, bus_factory: BusFactory) -> None:
    probe = Probe(db.url, bus_factory(), new_topic(), schema=db.schema)
    await probe.runtime.start()
    try:
        expected = []
        for batch in range(10):  # ten transactions of eight keys each
            events = events_for(keys=8, per_key=1, start=batch)
            expected += events
            await probe.emit(events)
        await probe.tally.applied(len(expected))
        assert_once_in_order(await probe.effects(), expected)
        assert await probe.runtime.relay.backlog() == 0
    finally:
        await probe.runtime.stop()


async def test_redelivered_event_has_one_effect(db: Db, bus_factory: BusFactory) -> None:
    bus = bus_factory()
    probe = Probe(db.url, bus, new_topic(), schema=db.schema)
    await probe.runtime.start()
    try:
        await probe.emit([Happened(key="k", n=1)])
        await probe.tally.applied(1)
        async with probe.runtime.db.session() as session:
            raw = await session.scalar(select(probe.runtime.outbox.c.envelope))
        assert raw is not None
        event = Envelope.model_validate_json(raw)
        await bus.publish(probe.topic, event)
        await bus.publish(probe.topic, event)
        await probe.tally.wait_for(lambda: probe.tally.outcomes["duplicate"] >= 2)
        assert probe.tally.outcomes["applied"] == 1
        assert await probe.effect_count() == 1
    finally:
        await probe.runtime.stop()


async def _dead_letters(bus: object, topic: str) -> list[dict[str, bytes]]:
    if isinstance(bus, MemoryBus):
        return [dict(r.headers) for r in bus.broker.records(dlq_topic(topic))]
    assert isinstance(bus, KafkaBus)
    consumer = AIOKafkaConsumer(
        dlq_topic(topic), bootstrap_servers=bus.settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest", group_id=None,
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=10_000, max_records=10)
        return [dict(m.headers) for msgs in batch.values() for m in msgs]
    finally:
        await consumer.stop()


async def test_poison_event_goes_to_dead_letter_and_does_not_block(
    db: Db, bus_factory: BusFactory
) -> None:
    bus = bus_factory()
    probe = Probe(db.url, bus, new_topic(), schema=db.schema)
    await probe.runtime.start()
    try:
        # The poison event heads key k0; the event behind it on the same key must still run.
        await probe.emit([Happened(key="k0", n=0, poison=True), Happened(key="k1", n=0)])
        await probe.emit([Happened(key="k0", n=1)])
        await probe.tally.applied(2)
        applied = sorted((key, n) for key, n, _, _ in await probe.effects())
        assert applied == [("k0", 1), ("k1", 0)]
        dead = await _dead_letters(bus, probe.topic)
        assert len(dead) == 1
        assert dead[0]["beacon-attempts"] == str(MAX_ATTEMPTS).encode()
        assert b"poison event n=0" in dead[0]["beacon-error"]
        assert dead[0]["beacon-original-topic"] == probe.topic.encode()
    finally:
        await probe.runtime.stop()


async def test_two_consumers_split_partitions_with_one_effect_each(
    db: Db, bus_factory: BusFactory
) -> None:
    topic, tally = new_topic(), Tally()
    first = Probe(db.url, bus_factory(), topic, schema=db.schema, label="a", tally=tally)
    second = Probe(db.url, bus_factory(), topic, schema=db.schema, label="b", tally=tally)
    await first.runtime.start()
    await second.runtime.start()
    try:
        a, b = first.runtime.bus, second.runtime.bus
        await eventually(lambda: bool(a.assignment()) and bool(b.assignment())
                         and len(a.assignment() | b.assignment()) == PARTITIONS,
                         "every partition assigned across both replicas")
        assert not a.assignment() & b.assignment()
        expected = events_for(keys=40, per_key=5)
        for start in range(0, len(expected), 40):
            await first.emit(expected[start:start + 40])
        await tally.applied(len(expected))
        rows = await first.effects()
        assert_once_in_order(rows, expected)
        assert {label for *_, label in rows} == {"a", "b"}
    finally:
        await first.runtime.stop()
        await second.runtime.stop()
