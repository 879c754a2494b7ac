"""Kafka backend over aiokafka.

Offsets are committed per partition only after the handler (and so its database commit)
returned; a rebalance listener waits for the batch in hand before partitions move on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared import metrics
from shared.bus.base import (
    BatchHandler,
    Bus,
    BusLogLost,
    BusUnavailable,
    Handler,
    Record,
    RetryPolicy,
    Subscriber,
    dlq_topic,
    process_records,
)
from shared.settings import BusSettings

log = logging.getLogger("beacon.bus.kafka")

# How often an idle consumer (empty polls) refreshes its lag figure.
IDLE_LAG_EVERY_S = 2.0

# The most records one poll hands to the batch loop.
MAX_POLL_RECORDS = 500

# Where the outbox relay's probes go (KafkaBus.verify_log); no consumer reads it.
LOG_PROBE_TOPIC = "beacon.log-probe"


class _DrainOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Holds the rebalance until the batch in hand is handled and its offsets committed."""

    def __init__(self, subscription: _Subscription) -> None:
        self.subscription = subscription

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.subscription.inflight:
            for tp in revoked:
                self.subscription.committed.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        for tp in assigned:  # positions now come from the broker's committed offsets
            self.subscription.committed.pop(tp, None)
        log.info("assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))


class _FetchPace:
    """How one consumer's fetches wait for records: KAFKA_FETCH_MAX_WAIT_MS while records
    come, KAFKA_FETCH_IDLE_WAIT_MS once none came for KAFKA_FETCH_IDLE_AFTER_MS.

    Where the wait happens is KAFKA_FETCH_PACING. `broker`: in the fetch request (Apache
    Kafka answers as soon as a record arrives). `client`, for Tansu, which reads the
    partitions again and again while it holds a fetch: once a fetch brought nothing, the
    next asks for (almost) no wait and the client holds it back for the wait instead, a
    fraction of the broker's CPU while idle; once one brings records, the next ones ask the
    broker for the busy wait, as with `broker`, since Tansu answers a fetch of (almost) no
    wait with only what it read in that millisecond. So does one whose answer was empty
    but whose highwater is past the position: at the end of a long log Tansu reads nothing
    in a millisecond.

    Only when the next request goes out, and how long the broker may hold it, changes;
    positions, offsets and the records fetched are aiokafka's as before, so nothing is
    skipped or fetched twice. aiokafka (0.11-0.14) has no setting for either: its fetcher
    reads the wait from `_fetch_max_wait_ms` for every request it builds, and it sends the
    next request to a broker once `_proc_fetch_request` for the last one returned (whether
    it brought records). Those two, on this consumer's own fetcher, are what this changes.
    An aiokafka without them gets broker pacing with the busy wait throughout (logged).
    """

    def __init__(self, settings: BusSettings) -> None:
        self.busy_ms = settings.kafka_fetch_max_wait_ms
        self.idle_ms = settings.kafka_fetch_idle_wait_ms
        self.idle_after_s = settings.kafka_fetch_idle_after_ms / 1000
        self.client_paced = settings.kafka_fetch_pacing == "client" and _CAN_PACE
        if settings.kafka_fetch_pacing == "client" and not _CAN_PACE:
            log.warning("this aiokafka cannot hold fetches back; the broker holds each for "
                        "%d ms (KAFKA_FETCH_PACING=broker)", self.busy_ms)
        self.wait_ms = self.busy_ms
        self.changes = 0  # how often the wait changed (tests follow it)
        self._fetcher: object | None = None
        self._last_records = time.monotonic()

    @property
    def request_wait_ms(self) -> int:
        """The wait the consumer is built with (what its first request asks the broker)."""
        return CLIENT_PACED_REQUEST_WAIT_MS if self.client_paced else self.busy_ms

    @property
    def adaptive(self) -> bool:
        return self._fetcher is not None

    def attach(self, consumer: AIOKafkaConsumer) -> None:
        """Pace this consumer (just started) from now on."""
        self._fetcher, self.wait_ms = None, self.busy_ms
        self._last_records = time.monotonic()
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is None:
            return
        if self.client_paced:
            self._hold_between_fetches(fetcher)
        elif self.idle_ms == self.busy_ms:
            return
        elif getattr(fetcher, _FETCH_WAIT, None) != self.busy_ms:
            log.warning("this aiokafka has no fetch wait to change; every fetch waits "
                        "%d ms (KAFKA_FETCH_IDLE_WAIT_MS is not applied)", self.busy_ms)
            return
        self._fetcher = fetcher

    def _hold_between_fetches(self, fetcher: Any) -> None:
        send = fetcher._proc_fetch_request

        def paced(assignment: Any, node_id: int, request: Any) -> Coroutine[Any, Any, bool]:
            # Called as the request is built: what the fetcher holds now is what it asked.
            return held(assignment, node_id, request,
                        getattr(fetcher, _FETCH_WAIT, CLIENT_PACED_REQUEST_WAIT_MS))

        async def held(assignment: Any, node_id: int, request: Any, asked_ms: int) -> bool:
            brought: bool = await send(assignment, node_id, request)
            # Tansu answers a 1 ms fetch with what it read in that millisecond (tens of
            # record batches on a busy machine) and aiokafka asks for a partition's next
            # records only once these are consumed, so a busy consumer that asked 1 ms got
            # a sliver per poll and fell behind. While records come the broker holds the
            # fetch (answering with all it has once it has any); once one brings nothing,
            # the client holds them again. An empty answer is not "nothing there", though:
            # Tansu's memory storage reads a partition in time that grows with its log
            # (8 ms for 3,000 record batches), so at the end of a long log a 1 ms fetch
            # comes back empty every time, records there or not. Its highwater says which:
            # past the position, records wait, and the broker holds the next fetch.
            waiting = brought or _records_waiting(assignment, request)
            setattr(fetcher, _FETCH_WAIT,
                    self.busy_ms if waiting else CLIENT_PACED_REQUEST_WAIT_MS)
            # A fetch the broker held has waited already.
            if not waiting and asked_ms == CLIENT_PACED_REQUEST_WAIT_MS:
                try:  # nothing new: the next request to this broker waits
                    await asyncio.sleep(self.wait_ms / 1000)
                except asyncio.CancelledError:
                    # Closed or unassigned meanwhile: end as aiokafka's own does when
                    # cancelled (its close awaits this task and expects no error).
                    return False
            return brought

        fetcher._proc_fetch_request = paced  # this fetcher's own, shadowing the method

    def fetched(self, records: bool) -> None:
        """After each poll: whether it brought records."""
        if self._fetcher is None:
            return
        now = time.monotonic()
        if records:
            self._last_records = now
            wait = self.busy_ms
        elif now - self._last_records >= self.idle_after_s:
            wait = self.idle_ms
        else:
            return
        if wait != self.wait_ms:
            self.wait_ms = wait
            self.changes += 1
            if not self.client_paced:
                setattr(self._fetcher, _FETCH_WAIT, wait)


def _records_waiting(assignment: Any, request: Any) -> bool:
    """Whether a partition of this fetch has records past this consumer's position, by the
    highwater its answer carried (aiokafka keeps it per partition; Tansu sends it with an
    empty answer too)."""
    for topic, partitions in request.topics:
        for partition, _offset, _max_bytes in partitions:
            state = assignment.state_value(TopicPartition(topic, partition))
            if state is None or not state.has_valid_position or state.highwater is None:
                continue
            if state.highwater > state.position:
                return True
    return False


_FETCH_WAIT = "_fetch_max_wait_ms"
# What a client-paced fetch asks the broker to wait: Tansu (0.6) answers a fetch that asks
# for no wait at all with no partitions, records there or not; 1 ms it answers at once
# with what it has (about 3 ms of its CPU for 250 partitions, against 11 ms for a fetch
# held 50 ms and 22 ms for one held 500 ms).
CLIENT_PACED_REQUEST_WAIT_MS = 1
_CAN_PACE = callable(getattr(Fetcher, "_proc_fetch_request", None))


class _Subscription:
    def __init__(self, bus: KafkaBus, topics: Sequence[str], group: str, subscriber: Subscriber):
        self.bus, self.topics, self.group = bus, tuple(topics), group
        self.subscriber = subscriber
        self.inflight = asyncio.Lock()
        # What this member last committed per partition, to notice a broker that lost it.
        self.committed: dict[TopicPartition, int] = {}
        # Records not yet processed per owned partition (`beacon_consumer_lag`).
        self.lag: dict[TopicPartition, int] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self.running = False
        self.pace = _FetchPace(bus.settings)
        self.lag_due = 0.0  # when an idle poll next refreshes `lag`

    async def start(self) -> None:
        s = self.bus.settings
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=self.group,
            client_id=f"{self.bus.client_id}-{self.group}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=MAX_POLL_RECORDS,
            session_timeout_ms=s.kafka_session_timeout_ms,
            heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=self.pace.request_wait_ms,
            metadata_max_age_ms=s.kafka_metadata_max_age_ms,
        )
        self.consumer.subscribe(list(self.topics), listener=_DrainOnRevoke(self))
        await self.consumer.start()
        self.pace.attach(self.consumer)
        self.running = True
        self.task = asyncio.create_task(self._run(), name=f"consume-{self.group}")

    async def stop(self, within: float | None = None) -> None:
        """Stop fetching, let the batch in hand finish and commit its offsets, then leave
        the group (so the others rebalance at once, not after the session timeout). Past
        `within` seconds the batch is abandoned: uncommitted, it comes again to another member and
        the inbox turns what it already applied into no-ops."""
        self.running = False
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, within)
            except TimeoutError:
                log.warning("group %s: the batch in hand did not finish within %.1fs; "
                            "left uncommitted", self.group, within)
            except Exception:  # the loop had died: stop the rest all the same
                log.exception("group %s: the consumer loop had failed", self.group)
            self.task = None
        if self.consumer is not None:
            left = None if deadline is None else max(deadline - loop.time(), 0.5)
            try:
                await asyncio.wait_for(self.consumer.stop(), left)
            except (KafkaError, TimeoutError) as exc:
                log.warning("group %s: leaving the group failed: %r", self.group, exc)
            self.consumer = None

    async def _run(self) -> None:
        assert self.consumer is not None
        while self.running:
            try:
                batches = await self.consumer.getmany(timeout_ms=200)
            except KafkaError as exc:
                log.warning("fetch failed for group %s: %r", self.group, exc)
                await asyncio.sleep(self.bus.policy.backoff_s)
                continue
            # At once, before anything awaits: the fetcher builds its next request when
            # these records are taken, and it should wait the busy length.
            self.pace.fetched(any(batches.values()))
            if not self.running:
                break  # stopping: what was just fetched stays uncommitted for the group
            if not batches:
                # Idle, the lag changes only when the broker's end does: looked at now and
                # then, not at every empty poll (a position request per partition).
                if time.monotonic() >= self.lag_due:
                    self.lag_due = time.monotonic() + IDLE_LAG_EVERY_S
                    await self._note_lag(batches)
                continue
            async with self.inflight:
                batches = await self._unless_broker_forgot(batches)
                await self._note_lag(batches)
                # Partitions run side by side; records within one partition run in order.
                done = await asyncio.gather(
                    *(self._handle_partition(tp, msgs) for tp, msgs in batches.items())
                )
                await self._commit({tp: offset for tp, offset in done if offset is not None})

    async def _note_lag(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        """End offset minus done offset per owned partition: the highwater of the last fetch
        (aiokafka keeps it; no request), minus this member's last commit, else the first
        offset in hand, else (only when idle, never delaying a batch) its position."""
        assert self.consumer is not None
        ends = {tp: self.consumer.highwater(tp) for tp in self.consumer.assignment()}
        lag: dict[TopicPartition, int] = {}
        for tp, end in ends.items():
            if end is None:
                continue  # not fetched yet
            done = self.committed.get(tp)
            if done is None and batches.get(tp):
                done = batches[tp][0].offset
            if done is None and not batches:
                try:
                    done = await asyncio.wait_for(self.consumer.position(tp), 0.05)
                except (KafkaError, TimeoutError):
                    pass  # being reset or revoked: no figure this time
            if done is not None:
                lag[tp] = max(end - done, 0)
            elif tp in self.lag:
                lag[tp] = self.lag[tp]
        self.lag = lag

    def _note_committed(self, offsets: dict[TopicPartition, int]) -> None:
        assert self.consumer is not None
        owned = self.consumer.assignment()
        for tp, offset in offsets.items():
            end = self.consumer.highwater(tp) if tp in owned else None
            if end is not None:
                self.lag[tp] = max(end - offset, 0)

    async def _unless_broker_forgot(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """Drop batches from partitions whose committed offset the broker no longer has.

        A broker that restarted empty (Tansu as shipped; a Kafka cluster that lost its disks)
        renumbers the log from 0 while this consumer's position stays where it was: reading
        on would skip the new log's first records. Re-read from the beginning instead; the
        inbox makes the repeats no-ops.
        """
        assert self.consumer is not None
        consumer = self.consumer
        checked = [tp for tp in batches if tp in self.committed]

        async def committed(tp: TopicPartition) -> int | None:
            offset: int | None = await asyncio.wait_for(
                consumer.committed(tp), self.bus.settings.kafka_connect_timeout_s)
            return offset

        # Side by side: one round trip for the poll, not one per partition in turn.
        answers = dict(zip(checked, await asyncio.gather(
            *(committed(tp) for tp in checked), return_exceptions=True), strict=True))
        kept = {}
        for tp, messages in batches.items():
            expected = self.committed.get(tp)
            if expected is not None:
                actual = answers.get(tp)
                if isinstance(actual, BaseException):
                    if not isinstance(actual, KafkaError | TimeoutError):
                        raise actual
                    # Cannot tell now: fetch these records again next time.
                    self.consumer.seek(tp, messages[0].offset)
                    continue
                if actual != expected:
                    log.warning("broker lost the committed offset of %s[%d] (had %s, now %s); "
                                "re-reading it from the beginning", tp.topic, tp.partition,
                                expected, actual)
                    self.committed.pop(tp, None)
                    await self.consumer.seek_to_beginning(tp)
                    continue
            kept[tp] = messages
        return kept

    async def _handle_partition(
        self, tp: TopicPartition, messages: list[ConsumerRecord[bytes, bytes]]
    ) -> tuple[TopicPartition, int | None]:
        if not messages:
            return tp, None
        records = [
            (m.offset, Record(key=m.key, value=m.value or b"", headers=list(m.headers or ())))
            for m in messages
        ]
        dead = await process_records(self.subscriber, records, topic=tp.topic,
                                     partition=tp.partition, policy=self.bus.policy)
        if dead:
            await self.bus.publish_records([(dlq_topic(tp.topic), r) for r in dead])
            self.bus._dead_lettered(tp.topic, len(dead))
        next_offset = messages[-1].offset + 1
        return tp, next_offset

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        assert self.consumer is not None
        try:
            # aiokafka retries some commit errors without end (a broker that restarted
            # empty answers UnknownTopicOrPartition), so the wait is bounded.
            await asyncio.wait_for(self.consumer.commit(offsets),
                                   self.bus.settings.kafka_connect_timeout_s)
            self.committed.update(offsets)
            self._note_committed(offsets)
        except (KafkaError, TimeoutError) as exc:
            # Uncommitted records come again; the inbox turns the repeat into a no-op.
            log.warning("offset commit failed for group %s: %r", self.group, exc)


class KafkaBus(Bus):
    def __init__(self, settings: BusSettings, client_id: str = "beacon") -> None:
        self.settings = settings
        self.client_id = client_id
        self.policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            backoff_s=settings.retry_backoff_ms / 1000,
            backoff_max_s=settings.retry_backoff_max_ms / 1000,
        )
        self.subscriptions: list[_Subscription] = []
        self.producer: AIOKafkaProducer | None = None
        metrics.CONSUMER_LAG.track(self)
        self._known_topics: set[str] = set()
        self._topic_lock = asyncio.Lock()
        self._probe_offset: int | None = None  # the last probe record's offset

    def subscribe(self, topics: Sequence[str], group: str, handler: Handler,
                  batch_handler: BatchHandler | None = None) -> None:
        if self.producer is not None:
            raise RuntimeError("subscribe before start")
        self.subscriptions.append(
            _Subscription(self, topics, group, Subscriber(handler, batch_handler)))
        self._declare_topics(topics)

    async def start(self) -> None:
        s = self.settings
        self.producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            client_id=self.client_id,
            acks=int(s.kafka_acks) if s.kafka_acks != "all" else "all",
            linger_ms=s.kafka_linger_ms,
            compression_type=None if s.kafka_compression == "none" else s.kafka_compression,
            enable_idempotence=s.kafka_enable_idempotence,
            request_timeout_ms=int(s.kafka_connect_timeout_s * 1000),
            metadata_max_age_ms=s.kafka_metadata_max_age_ms,
        )
        try:
            await asyncio.wait_for(self.producer.start(), s.kafka_connect_timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            with contextlib.suppress(Exception):
                await self.producer.stop()
            self.producer = None
            raise BusUnavailable(
                f"Kafka at {s.kafka_bootstrap_servers} unreachable: {type(exc).__name__}"
            ) from exc
        topics = {t for sub in self.subscriptions for t in sub.topics}
        await self.ensure_topics(topics | {dlq_topic(t) for t in topics})
        for sub in self.subscriptions:
            await sub.start()

    async def stop_consuming(self, within: float | None = None) -> None:
        """Every subscription, side by side: stop fetching, finish and commit the batch in
        hand, leave the group. The producer stays (the outbox relay flushes through it)."""
        await asyncio.gather(*(sub.stop(within) for sub in self.subscriptions))

    async def stop(self, within: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        await self.stop_consuming(within)
        if self.producer is not None:
            left = None if deadline is None else max(deadline - loop.time(), 0.5)
            try:  # flushes what is still being sent
                await asyncio.wait_for(self.producer.stop(), left)
            except (KafkaError, TimeoutError) as exc:
                log.warning("stopping the producer failed: %r", exc)
            self.producer = None

    async def ensure_topics(self, topics: set[str]) -> None:
        """Create missing topics with the configured partition count (never auto-created)."""
        missing = topics - self._known_topics
        if not missing:
            return
        async with self._topic_lock:
            try:
                await asyncio.wait_for(self._create_topics(missing),
                                       self.settings.kafka_connect_timeout_s)
            except (KafkaError, OSError, TimeoutError) as exc:
                raise BusUnavailable(f"cannot create topics: {exc!r}") from exc
            self._known_topics |= missing

    async def _create_topics(self, topics: set[str]) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=f"{self.client_id}-admin",
            request_timeout_ms=int(self.settings.kafka_connect_timeout_s * 1000),
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [
                NewTopic(t, self.settings.kafka_partitions, self.settings.kafka_replication_factor)
                for t in sorted(topics - existing)
            ]
            if new:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
        finally:
            await admin.close()

    async def publish_records(self, items: Sequence[tuple[str, Record]]) -> None:
        if self.producer is None:
            raise BusUnavailable("bus not started")
        try:
            await self.ensure_topics({t for t, _ in items})
            futures = [
                await self.producer.send(topic, r.value, key=r.key, headers=r.headers)
                for topic, r in items
            ]
            await asyncio.gather(*futures)
        except (KafkaError, OSError) as exc:
            self._known_topics.clear()  # a broker that lost its disks lost its topics too
            raise BusUnavailable(f"publish failed: {exc!r}") from exc

    async def verify_log(self) -> None:
        """Publish one empty probe record to partition 0 of LOG_PROBE_TOPIC: offsets only grow
        on a log that keeps its records, so an offset not above the last probe's means the
        broker restarted empty (Tansu's memory storage) and lost what it had acknowledged."""
        if not self.settings.kafka_log_check:
            return
        if self.producer is None:
            raise BusUnavailable("bus not started")
        try:
            await self.ensure_topics({LOG_PROBE_TOPIC})
            sent = await (await self.producer.send(LOG_PROBE_TOPIC, b"", partition=0))
        except (KafkaError, OSError) as exc:
            self._known_topics.clear()
            raise BusUnavailable(f"log probe failed: {exc!r}") from exc
        last, self._probe_offset = self._probe_offset, sent.offset
        if last is not None and sent.offset <= last:
            # Topics went with the log: create them again before sending. A client may have
            # made Tansu create one meanwhile with its own partition count (4), so the
            # partitions to write to are read afresh rather than from before the restart.
            self._known_topics.clear()
            with contextlib.suppress(KafkaError, OSError):
                await self.producer.client.force_metadata_update()
            log.warning("the broker lost its log (probe offset %d after %d); recent events "
                        "will be sent again", sent.offset, last)
            raise BusLogLost(f"probe offset {sent.offset} after {last}")

    def assignment(self) -> set[tuple[str, int]]:
        return {
            (tp.topic, tp.partition)
            for sub in self.subscriptions if sub.consumer is not None
            for tp in sub.consumer.assignment()
        }

    def consumer_lag(self) -> Mapping[tuple[str, str, int], int]:
        lag = {}
        for sub in self.subscriptions:
            owned = sub.consumer.assignment() if sub.consumer is not None else set()
            for tp, behind in list(sub.lag.items()):
                if tp in owned:
                    lag[(sub.group, tp.topic, tp.partition)] = behind
        return lag

    async def ping(self) -> None:
        if self.producer is None:
            raise BusUnavailable("bus not started")
        try:
            await asyncio.wait_for(
                self.producer.client.fetch_all_metadata(), self.settings.kafka_connect_timeout_s
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            raise BusUnavailable(f"Kafka unreachable: {exc!r}") from exc
