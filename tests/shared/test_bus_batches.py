"""Batched consumption: a run of records applies in one call; a failing batch falls back to
one record at a time, so a poison record is dead-lettered alone."""

from __future__ import annotations

import asyncio

import sqlalchemy

from shared.bus import BusMessage, MemoryBroker, MemoryBus, RetryPolicy, dlq_topic
from shared.events import make_event
from tests.support import Happened, Probe, eventually, new_topic, on_topic

POLICY = RetryPolicy(max_attempts=2, backoff_s=0.001, backoff_max_s=0.002)


async def _publish(bus: MemoryBus, topic: str, events: list[Happened]) -> None:
    for data in events:
        await bus.publish(topic, make_event(on_topic(topic, data), source="/test", subject="k"))


async def test_a_run_of_records_goes_to_the_batch_handler_at_once() -> None:
    broker, topic = MemoryBroker(1), new_topic()
    batches: list[list[int]] = []
    done = asyncio.Event()

    async def one(_: BusMessage) -> None:
        raise AssertionError("the batch handler should have taken them")

    async def many(deliveries: list[BusMessage]) -> None:
        batches.append([int(d.envelope.data["n"]) for d in deliveries])
        if sum(map(len, batches)) == 5:
            done.set()

    producer = MemoryBus(broker)
    await _publish(producer, topic, [Happened(key="k", n=i) for i in range(5)])
    consumer = MemoryBus(broker, POLICY)
    consumer.subscribe([topic], "g", one, many)
    await consumer.start()
    await asyncio.wait_for(done.wait(), 5)
    await consumer.stop()
    assert batches == [[0, 1, 2, 3, 4]]


async def test_failing_batch_falls_back_and_dead_letters_only_the_poison() -> None:
    broker, topic = MemoryBroker(1), new_topic()
    applied: list[int] = []
    done = asyncio.Event()

    async def one(delivery: BusMessage) -> None:
        if delivery.envelope.data["poison"]:
            raise ValueError("poison")
        applied.append(int(delivery.envelope.data["n"]))
        if len(applied) == 2:
            done.set()

    async def many(_: list[BusMessage]) -> None:
        raise ValueError("one of them is poison")

    await _publish(MemoryBus(broker), topic, [
        Happened(key="k", n=0), Happened(key="k", n=1, poison=True), Happened(key="k", n=2)])
    consumer = MemoryBus(broker, POLICY)
    consumer.subscribe([topic], "g", one, many)
    await consumer.start()
    await asyncio.wait_for(done.wait(), 5)
    await consumer.stop()
    assert applied == [0, 2]
    dead = broker.records(dlq_topic(topic))
    assert len(dead) == 1 and dict(dead[0].headers)["beacon-attempts"] == b"2"


async def test_same_event_twice_in_one_batch_applies_once(sqlite_url: str) -> None:
    broker, topic = MemoryBroker(1), new_topic()
    event = make_event(on_topic(topic, Happened(key="k", n=7)), source="/test", subject="k")
    producer = MemoryBus(broker)
    await producer.publish(topic, event)
    await producer.publish(topic, event)
    probe = Probe(sqlite_url, MemoryBus(broker), topic)
    await probe.runtime.start()
    try:
        await probe.tally.wait_for(lambda: sum(probe.tally.outcomes.values()) == 2)
        assert probe.tally.outcomes == {"applied": 1, "duplicate": 1}
        assert await probe.effect_count() == 1
    finally:
        await probe.runtime.stop()


async def test_a_many_handler_gets_the_fresh_events_once_in_order(sqlite_url: str) -> None:
    broker, topic = MemoryBroker(1), new_topic()
    events = [make_event(on_topic(topic, Happened(key="k", n=i)), source="/test", subject="k")
              for i in range(5)]
    producer = MemoryBus(broker)
    for event in [*events[:3], events[1], *events[3:]]:  # event 1 twice
        await producer.publish(topic, event)
    probe = Probe(sqlite_url, MemoryBus(broker), topic, many=True)
    await probe.runtime.start()
    try:
        await probe.tally.wait_for(lambda: sum(probe.tally.outcomes.values()) == 6)
        assert probe.tally.outcomes == {"applied": 5, "duplicate": 1}
        assert probe.batches == [[0, 1, 2, 3, 4]]
        assert [n for _, n, _, _ in await probe.effects()] == [0, 1, 2, 3, 4]
    finally:
        await probe.runtime.stop()


async def test_a_failing_many_handler_falls_back_to_one_by_one(sqlite_url: str) -> None:
    broker, topic = MemoryBroker(1), new_topic()
    await _publish(MemoryBus(broker), topic, [
        Happened(key="k", n=0), Happened(key="k", n=1, poison=True), Happened(key="k", n=2)])
    probe = Probe(sqlite_url, MemoryBus(broker, POLICY), topic, many=True)
    await probe.runtime.start()
    try:
        await probe.tally.wait_for(lambda: probe.tally.outcomes.get("applied", 0) == 2)
        assert probe.batches == [[0, 1, 2]]  # tried once at once, rolled back
        assert [n for _, n, _, _ in await probe.effects()] == [0, 2]
        await eventually(lambda: len(broker.records(dlq_topic(topic))) == 1 or None,
                         "the poison dead-lettered")
    finally:
        await probe.runtime.stop()


async def test_events_a_service_does_not_want_are_skipped_without_an_inbox_row(
        sqlite_url: str) -> None:
    broker, topic = MemoryBroker(1), new_topic()
    await _publish(MemoryBus(broker), topic, [Happened(key="k", n=i) for i in range(6)])
    probe = Probe(sqlite_url, MemoryBus(broker), topic, many=True,
                  wants=lambda event: int(event.data["n"]) % 2 == 0)
    await probe.runtime.start()
    try:
        await probe.tally.wait_for(lambda: sum(probe.tally.outcomes.values()) == 6)
        assert probe.tally.outcomes == {"applied": 3, "skipped": 3}
        assert [n for _, n, _, _ in await probe.effects()] == [0, 2, 4]
        assert await probe.claimed() == 3
    finally:
        await probe.runtime.stop()


async def test_a_batch_wanting_nothing_opens_no_transaction(sqlite_url: str) -> None:
    broker, topic = MemoryBroker(1), new_topic()
    probe = Probe(sqlite_url, MemoryBus(broker), topic, many=True, wants=lambda _: False)
    await probe.runtime.start()
    opened: list[object] = []  # transactions begun from here on: the events come after
    sqlalchemy.event.listen(probe.runtime.db.engine.sync_engine, "begin", opened.append)
    await _publish(MemoryBus(broker), topic, [Happened(key="k", n=i) for i in range(4)])
    try:
        await probe.tally.wait_for(lambda: sum(probe.tally.outcomes.values()) == 4)
        assert opened == []
        assert probe.tally.outcomes == {"skipped": 4}
        assert await probe.claimed() == 0 and await probe.effect_count() == 0
    finally:
        await probe.runtime.stop()


async def test_a_poison_batch_falls_back_one_by_one_and_still_skips_the_unwanted(
        sqlite_url: str) -> None:
    broker, topic = MemoryBroker(1), new_topic()
    await _publish(MemoryBus(broker), topic, [
        Happened(key="k", n=0), Happened(key="k", n=1), Happened(key="k", n=2, poison=True),
        Happened(key="k", n=3), Happened(key="k", n=4)])
    probe = Probe(sqlite_url, MemoryBus(broker, POLICY), topic, many=True,
                  wants=lambda event: int(event.data["n"]) != 3)
    await probe.runtime.start()
    try:
        await probe.tally.wait_for(lambda: sum(probe.tally.outcomes.values()) == 4)
        assert probe.tally.outcomes == {"applied": 3, "skipped": 1}
        assert [n for _, n, _, _ in await probe.effects()] == [0, 1, 4]
        assert len(broker.records(dlq_topic(topic))) == 1
    finally:
        await probe.runtime.stop()
