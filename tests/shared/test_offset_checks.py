"""The Kafka consumer's check that the broker still has the offsets this member committed
(`_unless_broker_forgot`, before each batch): one poll's partitions are asked side by side,
not one after another (issue 18: a request per partition in turn was a round trip each per
poll), and each answer is acted on as before: kept when it matches, re-read from the
beginning when the broker lost it, fetched again next time when it cannot tell."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from shared.bus.base import BusMessage, Subscriber
from shared.bus.kafka import KafkaBus, _Subscription
from shared.settings import BusSettings


@dataclass
class Fetched:
    offset: int


@dataclass
class Broker:
    """What the group coordinator answers per partition; counts requests in flight."""

    offsets: dict[TopicPartition, int | None]
    failing: set[TopicPartition]
    in_flight: int = 0
    most_in_flight: int = 0
    seeks: list[tuple[TopicPartition, int | None]] = field(default_factory=list)

    async def committed(self, tp: TopicPartition) -> int | None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.05)
            if tp in self.failing:
                raise KafkaConnectionError("coordinator away")
            return self.offsets[tp]
        finally:
            self.in_flight -= 1

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))

    async def seek_to_beginning(self, tp: TopicPartition) -> None:
        self.seeks.append((tp, None))


async def test_a_polls_offsets_are_checked_side_by_side() -> None:
    async def handler(_: BusMessage) -> None:
        return None

    bus = KafkaBus(BusSettings(kind="kafka", kafka_bootstrap_servers="127.0.0.1:1"))
    subscription = _Subscription(bus, ["t"], "g", Subscriber(handler))
    tps = [TopicPartition("t", p) for p in range(6)]
    same, lost, unknown, fresh = tps[:3], tps[3], tps[4], tps[5]
    broker = Broker({tp: 10 for tp in tps} | {lost: None}, failing={unknown})
    subscription.consumer = cast(Any, broker)
    subscription.committed = {tp: 10 for tp in tps if tp != fresh}
    batches = {tp: [Fetched(10), Fetched(11)] for tp in tps}

    kept = await subscription._unless_broker_forgot(cast(Any, batches))

    assert broker.most_in_flight == 5  # every partition this member committed, at once
    assert list(kept) == [*same, fresh]  # a partition never committed is not asked
    assert broker.seeks == [(lost, None), (unknown, 10)]
    assert lost not in subscription.committed  # re-read from the beginning
