"""What lets an idle deployment sleep without making events late: the outbox relay is woken
by the commit (in its process, and across processes by LISTEN/NOTIFY on PostgreSQL) rather
than by its poll, takes bigger batches while behind, and a Kafka consumer's fetch wait is
long only while nothing flows, without losing or reordering a record."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import text

from deploy.tansu import Tansu
from shared.bus import BusMessage, MemoryBroker, MemoryBus, RetryPolicy
from shared.bus.base import Record
from shared.bus.kafka import CLIENT_PACED_REQUEST_WAIT_MS, MAX_POLL_RECORDS, KafkaBus
from shared.db import Database
from shared.events import make_event
from shared.outbox import add_to_outbox
from shared.settings import BusSettings
from tests.support import (
    MAX_ATTEMPTS,
    PARTITIONS,
    BusFactory,
    Db,
    Happened,
    Probe,
    assert_once_in_order,
    events_for,
    eventually,
    happened_class,
    new_topic,
    on_topic,
)

# The relays' fallback poll in these tests: far longer than any wait for an event below,
# so an event that arrives in time was sent because something woke the relay.
POLL_S = 60.0
IN_TIME_S = POLL_S / 6


def long_polling(probe: Probe) -> Probe:
    probe.runtime.relay.idle_poll_s = POLL_S
    return probe


async def test_a_commit_is_on_the_bus_long_before_the_idle_poll(
    db: Db, bus_factory: BusFactory
) -> None:
    probe = long_polling(Probe(db.url, bus_factory(), new_topic(), schema=db.schema))
    relay = probe.runtime.relay
    await probe.runtime.start()
    try:
        await probe.emit([Happened(key="first", n=0)])
        await probe.tally.applied(1)  # the consumers are up
        await asyncio.wait_for(relay.waiting.wait(), IN_TIME_S)  # idle, polling in a minute
        await probe.emit([Happened(key="k", n=1), Happened(key="k", n=2)])
        await probe.tally.applied(3, within=IN_TIME_S)
        assert [n for _, n, _, _ in await probe.effects()] == [0, 1, 2]
    finally:
        await probe.runtime.stop()


@pytest.mark.postgres
async def test_notify_wakes_the_relay_of_another_engine(pg_url: str, pg_schema: str) -> None:
    """Rows committed through another engine (another replica, whose own relay died before
    sending them) are sent by this relay at once: the writer's NOTIFY wakes its LISTEN."""
    bus = MemoryBus(MemoryBroker(PARTITIONS))
    probe = long_polling(Probe(pg_url, bus, new_topic(), schema=pg_schema))
    relay = probe.runtime.relay
    assert relay.listens
    writer = Database(pg_url, schema=pg_schema)
    await probe.runtime.start()
    try:
        await asyncio.wait_for(relay.listening.wait(), IN_TIME_S)
        await asyncio.wait_for(relay.waiting.wait(), IN_TIME_S)
        events = [make_event(on_topic(probe.topic, e), source="/probe", subject=e.key)
                  for e in events_for(keys=3, per_key=2)]
        async with writer.transaction() as session:
            await add_to_outbox(session, probe.runtime.outbox,
                                [(e.type, e) for e in events], announce="another replica")
        await probe.tally.applied(len(events), within=IN_TIME_S)
        assert_once_in_order(await probe.effects(), events_for(keys=3, per_key=2))
        assert await relay.backlog() == 0
    finally:
        await probe.runtime.stop()
        await writer.dispose()


@pytest.mark.postgres
async def test_the_relay_listens_again_after_its_connection_dies(
    pg_url: str, pg_schema: str
) -> None:
    bus = MemoryBus(MemoryBroker(PARTITIONS))
    probe = long_polling(Probe(pg_url, bus, new_topic(), schema=pg_schema))
    relay = probe.runtime.relay
    writer = Database(pg_url, schema=pg_schema)
    await probe.runtime.start()
    try:
        await asyncio.wait_for(relay.listening.wait(), IN_TIME_S)
        async with writer.session() as session:  # as a failover or an admin would
            killed = await session.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN %'"))
        assert killed == 1
        await eventually(lambda: not relay.listening.is_set(), "the LISTEN connection lost",
                         within=IN_TIME_S)
        await asyncio.wait_for(relay.listening.wait(), IN_TIME_S)
        await asyncio.wait_for(relay.waiting.wait(), IN_TIME_S)
        event = make_event(on_topic(probe.topic, Happened(key="k", n=1)), source="/probe",
                           subject="k")
        async with writer.transaction() as session:
            await add_to_outbox(session, probe.runtime.outbox, [(event.type, event)],
                                announce="another replica")
        await probe.tally.applied(1, within=IN_TIME_S)
    finally:
        await probe.runtime.stop()
        await writer.dispose()


class CountingBus(MemoryBus):
    """A memory bus that remembers how many records each publish carried."""

    def __init__(self, broker: MemoryBroker) -> None:
        super().__init__(broker, RetryPolicy(max_attempts=MAX_ATTEMPTS, backoff_s=0.01,
                                             backoff_max_s=0.05))
        self.batches: list[int] = []

    async def publish_records(self, items: Sequence[tuple[str, Record]]) -> None:
        self.batches.append(len(items))
        await super().publish_records(items)


async def test_the_relay_takes_bigger_batches_while_behind(db: Db) -> None:
    bus = CountingBus(MemoryBroker(PARTITIONS))
    probe = long_polling(Probe(db.url, bus, new_topic(), schema=db.schema))
    relay = probe.runtime.relay
    relay.batch_size = relay.batch = 100
    relay.batch_max = 400
    await probe.runtime.start()
    try:
        await asyncio.wait_for(relay.waiting.wait(), IN_TIME_S)
        events = events_for(keys=1200, per_key=1)
        await probe.emit(events)  # one commit, 1,200 rows of as many keys
        await probe.tally.applied(len(events), within=IN_TIME_S)
        assert bus.batches == [100, 200, 400, 400, 100]
        assert relay.batch == 100  # back to the usual size once a batch was not full
        assert_once_in_order(await probe.effects(), events)
    finally:
        await probe.runtime.stop()


def paced_bus(bootstrap: str, pacing: str, busy_wait_ms: int = 20) -> KafkaBus:
    settings = BusSettings(
        kind="kafka", kafka_bootstrap_servers=bootstrap, kafka_partitions=PARTITIONS,
        max_attempts=MAX_ATTEMPTS, retry_backoff_ms=10, retry_backoff_max_ms=50,
        kafka_connect_timeout_s=5, kafka_session_timeout_ms=2000,
        kafka_heartbeat_interval_ms=300, kafka_fetch_pacing=pacing,
        kafka_fetch_max_wait_ms=busy_wait_ms, kafka_fetch_idle_wait_ms=400,
        kafka_fetch_idle_after_ms=300,
    )
    return KafkaBus(settings, client_id=f"test-paced-{pacing}")


@pytest.mark.kafka
@pytest.mark.parametrize("pacing", ["client", "broker"])
async def test_a_fetch_wait_that_follows_the_traffic_loses_and_reorders_nothing(
    db: Db, tansu: Tansu, pacing: str
) -> None:
    bus = paced_bus(tansu.bootstrap, pacing)
    probe = Probe(db.url, bus, new_topic(), schema=db.schema)
    await probe.runtime.start()
    try:
        [subscription] = bus.subscriptions
        pace = subscription.pace
        assert pace.adaptive and pace.client_paced == (pacing == "client")
        assert subscription.consumer is not None
        fetcher = subscription.consumer._fetcher

        def broker_wait() -> int:
            wait: int = fetcher._fetch_max_wait_ms
            return wait

        expected: list[Happened] = []
        for burst in range(3):  # each burst comes to a consumer gone idle
            events = events_for(keys=8, per_key=5, start=burst * 5)
            expected += events
            for i in range(0, len(events), 8):  # several commits, as traffic would
                await probe.emit(events[i:i + 8])
            await probe.tally.applied(len(expected))
            await eventually(lambda: pace.wait_ms == 400, "the consumer idle again",
                             within=10)
            # Client pacing asks the broker for (almost) no wait and holds fetches back
            # itself; broker pacing puts the idle wait in the request.
            assert broker_wait() == (CLIENT_PACED_REQUEST_WAIT_MS if pacing == "client"
                                     else 400)
        # Idle after the first burst, then busy and idle again after each other one.
        assert pace.changes >= 5
        assert_once_in_order(await probe.effects(), expected)
        assert probe.tally.outcomes["duplicate"] == 0
    finally:
        await probe.runtime.stop()


async def publish_one_per_batch(bootstrap: str, topic: str, ns: range,
                                partitions: Sequence[int] = range(PARTITIONS),
                                producers: int = 1) -> None:
    """Events `ns` on each of `partitions`, each in a record batch of its own, as complaints
    posted one at a time reach the log: every producer waits for each send, so none merges
    two into one batch; `producers` share each partition's events to write them faster."""
    clients = [AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
               for _ in range(producers)]
    await asyncio.gather(*(client.start() for client in clients))

    async def fill(client: AIOKafkaProducer, partition: int, part: range) -> None:
        key = f"p{partition}"
        for n in part:
            event = make_event(on_topic(topic, Happened(key=key, n=n)), source="/probe",
                               subject=key)
            await client.send_and_wait(topic, event.to_bytes(), key=key.encode(),
                                       partition=partition)

    try:
        await asyncio.gather(*(fill(client, partition, ns[i::producers])
                               for partition in partitions
                               for i, client in enumerate(clients)))
    finally:
        await asyncio.gather(*(client.stop() for client in clients))


@pytest.mark.kafka
@pytest.mark.parametrize("pacing", ["client", "broker"])
async def test_a_busy_consumer_takes_a_backlog_in_full_polls(
    tansu: Tansu, pacing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tansu answers a fetch that asks for 1 ms with what it read in that millisecond, some
    tens of record batches on a busy machine. Client pacing used to ask that of every fetch,
    so a consumer behind got a sliver per poll and kept falling behind (the 20/s soak). Now
    only the first poll after idle is short: the rest bring a full poll or all that is left,
    as broker pacing's do."""
    per_partition = 500
    total = PARTITIONS * per_partition
    topic = new_topic()
    bus = paced_bus(tansu.bootstrap, pacing, busy_wait_ms=500)
    await bus.ensure_topics({topic})
    await publish_one_per_batch(tansu.bootstrap, topic, range(per_partition))
    polls: list[int] = []  # records per poll that brought any
    getmany = AIOKafkaConsumer.getmany

    async def counted(consumer: AIOKafkaConsumer, *partitions: TopicPartition,
                      timeout_ms: int = 0, max_records: int | None = None
                      ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        got: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = await getmany(
            consumer, *partitions, timeout_ms=timeout_ms, max_records=max_records)
        if got:
            polls.append(sum(len(records) for records in got.values()))
        return got

    monkeypatch.setattr(AIOKafkaConsumer, "getmany", counted)
    handled: list[BusMessage] = []
    all_in = asyncio.Event()

    async def handle_many(messages: list[BusMessage]) -> None:
        handled.extend(messages)
        if len(handled) >= total:
            all_in.set()

    async def handle(message: BusMessage) -> None:
        await handle_many([message])

    bus.subscribe([topic], "backlog", handle, handle_many)
    await bus.start()
    try:
        await asyncio.wait_for(all_in.wait(), 60)
        left, short = total, []
        for size in polls:
            if size < min(MAX_POLL_RECORDS, left):
                short.append(size)
            left -= size
        # The first poll after idle; and one more where a partition's rest was still on
        # its way when the poll drained the others.
        assert len(short) <= 2, polls
        for partition in range(PARTITIONS):  # once each, in order
            ns = [happened_class(topic).model_validate(m.envelope.data).n
                  for m in handled if m.partition == partition]
            assert ns == list(range(per_partition))
    finally:
        await bus.stop()


# Record batches on one partition: on the 2-vCPU test machines Tansu (0.6, memory storage)
# takes 2 ms to read a partition of 1,000 and 8 ms one of 3,000 when asked for the records
# at its end, and a fetch that asks for 1 ms then comes back empty (with the partition's
# highwater): how 10 minutes at 15/s (about 1,500 on each partition of complaint.received)
# stalled every client-paced consumer of it.
LONG_LOG = 3000


@pytest.mark.kafka
@pytest.mark.parametrize("pacing", ["client", "broker"])
async def test_a_consumer_at_the_end_of_a_long_log_takes_what_comes(
    tansu: Tansu, pacing: str
) -> None:
    """Client pacing asks for 1 ms once a fetch brought nothing, and Tansu answers that with
    what it read in the millisecond: at the end of a long in-memory log, nothing at all,
    though the answer's highwater says records are there. Such a consumer used to take
    that as idle, hold, ask for 1 ms again and never take another record (the soak's
    stall from window 7). Now an empty answer whose highwater is past the position is
    followed at once by a fetch the broker holds for the busy wait."""
    topic = new_topic()
    bus = paced_bus(tansu.bootstrap, pacing)
    await bus.ensure_topics({topic})
    await publish_one_per_batch(tansu.bootstrap, topic, range(LONG_LOG), [0], producers=8)
    handled: list[int] = []
    counts: dict[int, asyncio.Event] = {LONG_LOG: asyncio.Event(),
                                        LONG_LOG + 5: asyncio.Event()}

    async def handle_many(messages: list[BusMessage]) -> None:
        handled.extend(happened_class(topic).model_validate(m.envelope.data).n
                       for m in messages)
        for count, event in counts.items():
            if len(handled) >= count:
                event.set()

    async def handle(message: BusMessage) -> None:
        await handle_many([message])

    bus.subscribe([topic], "long-log", handle, handle_many)
    await bus.start()
    try:
        [subscription] = bus.subscriptions
        pace = subscription.pace
        # The log from its start: the first fetch already asks for 1 ms.
        await asyncio.wait_for(counts[LONG_LOG].wait(), 30)
        # Then idle at its end (the idle hold with client pacing) before the next come.
        await eventually(lambda: pace.wait_ms == 400, "the consumer idle", within=10)
        await publish_one_per_batch(tansu.bootstrap, topic, range(LONG_LOG, LONG_LOG + 5), [0])
        await asyncio.wait_for(counts[LONG_LOG + 5].wait(), 10)
        # Each once; the last five (one producer) in order after the rest.
        assert sorted(handled) == list(range(LONG_LOG + 5))
        assert handled[-5:] == list(range(LONG_LOG, LONG_LOG + 5))
    finally:
        await bus.stop()
