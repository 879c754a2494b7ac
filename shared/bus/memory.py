"""In-process bus with the semantics that matter: partitions, per-key order, consumer groups,
offsets committed after the handler, redelivery of what failed, a dead-letter topic.

One `MemoryBroker` per process plays the cluster; each `MemoryBus` is a client of it.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shared import metrics
from shared.bus.base import (
    BatchHandler,
    Bus,
    Handler,
    Record,
    RetryPolicy,
    Subscriber,
    dlq_topic,
    process_records,
)

log = logging.getLogger("beacon.bus.memory")

MAX_BATCH = 500  # records handed to a batch handler at once, like Kafka's max_poll_records


def partition_for(key: bytes | None, partitions: int, fallback: int) -> int:
    if key is None:
        return fallback % partitions
    return zlib.crc32(key) % partitions


@dataclass
class _Partition:
    records: list[Record] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def append(self, record: Record) -> int:
        self.records.append(record)
        self.wake()
        return len(self.records) - 1

    def wake(self) -> None:
        """Wake every worker waiting on this partition; each re-checks what it should do."""
        self.changed.set()
        self.changed = asyncio.Event()


class MemoryBroker:
    """The shared log: topics of partitions, committed offsets and group membership."""

    def __init__(self, partitions: int = 6) -> None:
        self.partitions = partitions
        self.topics: dict[str, list[_Partition]] = {}
        self.committed: dict[tuple[str, str, int], int] = {}
        self.groups: dict[str, list[_Member]] = defaultdict(list)
        self._round_robin = 0

    def topic(self, name: str) -> list[_Partition]:
        if name not in self.topics:
            self.topics[name] = [_Partition() for _ in range(self.partitions)]
        return self.topics[name]

    def append(self, topic: str, record: Record) -> tuple[int, int]:
        parts = self.topic(topic)
        self._round_robin += 1
        index = partition_for(record.key, len(parts), self._round_robin)
        return index, parts[index].append(record)

    def records(self, topic: str) -> list[Record]:
        """Every record of a topic, partition by partition (for tests and tools)."""
        return [r for p in self.topic(topic) for r in p.records]

    async def join(self, member: _Member) -> None:
        self.groups[member.group].append(member)
        await self._rebalance(member.group)

    async def leave(self, member: _Member, within: float | None = None) -> None:
        """The member drains what it owns (its batches in hand get `within` seconds), then
        the rest of its group rebalances."""
        self.groups[member.group].remove(member)
        await member.assign(set(), drain_within=within)
        await self._rebalance(member.group)

    async def _rebalance(self, group: str) -> None:
        """Round-robin the group's partitions; members drain what they lose before others start."""
        members = self.groups[group]
        wanted: dict[int, set[tuple[str, int]]] = {id(m): set() for m in members}
        topics = sorted({t for m in members for t in m.topics})
        slots = [(t, p) for t in topics for p in range(len(self.topic(t)))]
        for i, slot in enumerate(slots):
            owners = [m for m in members if slot[0] in m.topics]
            if owners:
                wanted[id(owners[i % len(owners)])].add(slot)
        for m in members:  # revoke first, so no partition has two owners at once
            await m.assign(m.assigned & wanted[id(m)])
        for m in members:
            await m.assign(wanted[id(m)])


class _Member:
    def __init__(
        self, bus: MemoryBus, topics: Sequence[str], group: str, subscriber: Subscriber
    ) -> None:
        self.bus, self.topics, self.group = bus, tuple(topics), group
        self.subscriber = subscriber
        self.workers: dict[tuple[str, int], asyncio.Task[None]] = {}
        self.stopping: set[tuple[str, int]] = set()

    @property
    def assigned(self) -> set[tuple[str, int]]:
        return set(self.workers)

    async def assign(self, slots: set[tuple[str, int]], *,
                     drain_within: float | None = None) -> None:
        revoked = self.assigned - slots
        tasks = [self.workers.pop(slot) for slot in revoked]
        self.stopping |= revoked
        for slot in revoked:
            self.bus.broker.topic(slot[0])[slot[1]].wake()
        await self._drain(tasks, 30.0 if drain_within is None else drain_within)
        self.stopping -= revoked
        for slot in slots - self.assigned:
            self.workers[slot] = asyncio.create_task(self._work(*slot))

    async def _drain(self, tasks: list[asyncio.Task[None]], within: float) -> None:
        # Each worker finishes the batch in hand, then sees `stopping` and returns; one that
        # is not done within the bound is cancelled, its batch uncommitted.
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=within)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("group %s: %d batch(es) in hand cut off after %.1fs, left uncommitted",
                        self.group, len(pending), within)
            await asyncio.gather(*pending, return_exceptions=True)

    async def _work(self, topic: str, partition: int) -> None:
        broker = self.bus.broker
        part = broker.topic(topic)[partition]
        key = (self.group, topic, partition)
        while (topic, partition) not in self.stopping:
            offset = broker.committed.get(key, 0)
            if offset >= len(part.records):
                await part.changed.wait()
                continue
            end = min(len(part.records), offset + MAX_BATCH)
            dead = await process_records(
                self.subscriber, list(enumerate(part.records[offset:end], start=offset)),
                topic=topic, partition=partition, policy=self.bus.policy,
            )
            for letter in dead:
                broker.append(dlq_topic(topic), letter)
            self.bus._dead_lettered(topic, len(dead))
            broker.committed[key] = end


class MemoryBus(Bus):
    def __init__(self, broker: MemoryBroker, policy: RetryPolicy | None = None) -> None:
        self.broker = broker
        self.policy = policy or RetryPolicy()
        self.members: list[_Member] = []
        self.started = False
        self.consuming = False
        metrics.CONSUMER_LAG.track(self)

    @property
    def loses_log_on_restart(self) -> bool:
        return True

    def subscribe(self, topics: Sequence[str], group: str, handler: Handler,
                  batch_handler: BatchHandler | None = None) -> None:
        if self.started:
            raise RuntimeError("subscribe before start")
        self.members.append(_Member(self, topics, group, Subscriber(handler, batch_handler)))
        self._declare_topics(topics)

    async def start(self) -> None:
        self.started = True
        for member in self.members:
            await self.broker.join(member)
        self.consuming = True

    async def stop_consuming(self, within: float | None = None) -> None:
        if not self.consuming:
            return
        self.consuming = False
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        for member in self.members:
            left = None if deadline is None else max(deadline - loop.time(), 0.1)
            await self.broker.leave(member, left)

    async def stop(self, within: float | None = None) -> None:
        await self.stop_consuming(within)
        self.started = False

    async def publish_records(self, items: Sequence[tuple[str, Record]]) -> None:
        for topic, record in items:
            self.broker.append(topic, record)

    async def ping(self) -> None:
        return None

    def assignment(self) -> set[tuple[str, int]]:
        return {slot for member in self.members for slot in member.assigned}

    def consumer_lag(self) -> Mapping[tuple[str, str, int], int]:
        """The log's end minus the group's committed offset, per partition owned now: what
        was appended and is not yet handled (the batch in hand included)."""
        lag = {}
        for member in self.members:
            for topic, partition in member.assigned:
                end = len(self.broker.topic(topic)[partition].records)
                done = self.broker.committed.get((member.group, topic, partition), 0)
                lag[(member.group, topic, partition)] = max(end - done, 0)
        return lag
