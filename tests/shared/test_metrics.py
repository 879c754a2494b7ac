"""Metrics a user expects: dead letters counted, consumer lag that rises while a consumer is
behind and falls to 0 when it caught up (memory bus and a real broker), the outbox backlog,
and request figures labelled by route template, on every /metrics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import httpx
import pytest
from prometheus_client import REGISTRY

from deploy.tansu import Tansu
from shared.bus import Bus, BusMessage, BusUnavailable, MemoryBroker, MemoryBus, RetryPolicy
from shared.bus.base import Record
from shared.bus.kafka import KafkaBus
from shared.events import make_event
from shared.events.schemas import ComplaintReceived, ComplaintTriaged
from shared.settings import BusSettings
from tests.support import Happened, Probe, System, eventually, new_topic, on_topic

POLICY = RetryPolicy(max_attempts=2, backoff_s=0.001, backoff_max_s=0.002)


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def lag_of(service: str, topic: str) -> int | None:
    """The consumer lag a scrape reads for one service's topic (summed over partitions),
    None when no partition of it is reported."""
    found = [s.value for metric in REGISTRY.collect() if metric.name == "beacon_consumer_lag"
             for s in metric.samples
             if s.labels["service"] == service and s.labels["topic"] == topic]
    return int(sum(found)) if found else None


async def _publish(bus: Bus, topic: str, events: Sequence[Happened]) -> None:
    await bus.publish_batch(
        [(topic, make_event(on_topic(topic, e), source="/test", subject=e.key)) for e in events])


class Gate:
    """A handler that stops at its first event until released; counts what it handled."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.handled = 0

    async def handle(self, _delivery: BusMessage) -> None:
        self.entered.set()
        await self.release.wait()
        self.handled += 1


async def test_a_poison_event_counts_one_dead_letter(sqlite_url: str) -> None:
    broker, topic = MemoryBroker(1), new_topic()
    probe = Probe(sqlite_url, MemoryBus(broker, POLICY), topic)
    service = "probe"  # the topic is this test's own, so the series is too
    await probe.runtime.start()
    try:
        assert sample("beacon_dead_letters_total", service=service, topic=topic) == 0
        # Two good events around a poison one, on one key: when the second good one is
        # applied, the poison one was dead-lettered (one partition, in order).
        await probe.emit([Happened(key="k", n=0), Happened(key="k", n=1, poison=True)])
        await probe.tally.applied(1)
        await probe.emit([Happened(key="k", n=2)])
        await probe.tally.applied(2)
    finally:
        await probe.runtime.stop()
    assert len(broker.records(topic + ".dlq")) == 1
    assert sample("beacon_dead_letters_total", service=service, topic=topic) == 1


async def test_memory_lag_rises_while_behind_and_returns_to_zero() -> None:
    broker, topic = MemoryBroker(2), new_topic()
    await _publish(MemoryBus(broker), topic, [Happened(key="k", n=i) for i in range(5)])
    gate = Gate()
    consumer = MemoryBus(broker, POLICY)
    consumer.service = service = f"lag-{uuid.uuid4().hex[:6]}"
    consumer.subscribe([topic], "g", gate.handle)
    assert lag_of(service, topic) is None  # nothing owned yet
    await consumer.start()
    try:
        await asyncio.wait_for(gate.entered.wait(), 5)
        assert lag_of(service, topic) == 5  # the batch in hand counts until committed
        await _publish(MemoryBus(broker), topic, [Happened(key="k", n=5)])
        assert lag_of(service, topic) == 6
        gate.release.set()
        # The commit follows the handler with no event of its own to await: poll it.
        await eventually(lambda: lag_of(service, topic) == 0, "the lag back to 0", within=5)
        assert gate.handled == 6
    finally:
        await consumer.stop()
    assert lag_of(service, topic) is None  # a stopped consumer owns nothing


class _Unreachable(MemoryBus):
    async def publish_records(self, items: Sequence[tuple[str, Record]]) -> None:
        raise BusUnavailable("broker down (test)")


async def test_outbox_backlog_reports_unpublished_events(sqlite_url: str) -> None:
    topic = new_topic()
    probe = Probe(sqlite_url, _Unreachable(MemoryBroker(1)), topic)
    await probe.runtime.start()
    try:
        await probe.emit([Happened(key="k", n=i) for i in range(3)])
        await probe.runtime._report_backlog()  # the job the runtime runs every 5 s
        assert sample("beacon_outbox_backlog", service="probe") == 3
    finally:
        await probe.runtime.stop()


def _kafka(bootstrap: str) -> KafkaBus:
    settings = BusSettings(
        kind="kafka", kafka_bootstrap_servers=bootstrap, kafka_partitions=2, max_attempts=2,
        retry_backoff_ms=10, retry_backoff_max_ms=50, kafka_connect_timeout_s=5,
        kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=300,
    )
    return KafkaBus(settings, client_id=f"test-{uuid.uuid4().hex[:6]}")


@pytest.mark.kafka
async def test_kafka_lag_rises_while_behind_and_returns_to_zero(tansu: Tansu) -> None:
    topic = new_topic()
    producer = _kafka(tansu.bootstrap)
    await producer.start()
    gate = Gate()
    consumer = _kafka(tansu.bootstrap)
    consumer.service = service = f"lag-{uuid.uuid4().hex[:6]}"
    consumer.subscribe([topic], f"g-{uuid.uuid4().hex[:6]}", gate.handle)
    try:
        await _publish(producer, topic, [Happened(key="k", n=i) for i in range(5)])
        await consumer.start()
        await asyncio.wait_for(gate.entered.wait(), 30)
        assert lag_of(service, topic) == 5  # highwater 5, nothing committed
        gate.release.set()
        await eventually(lambda: lag_of(service, topic) == 0 and gate.handled == 5,
                         "5 handled, lag 0", within=30)
        # New records behind a consumer that keeps up: back to 0 once they are committed.
        await _publish(producer, topic, [Happened(key="k", n=i) for i in range(5, 8)])
        await eventually(lambda: gate.handled == 8 and lag_of(service, topic) == 0,
                         "8 handled, lag 0", within=30)
    finally:
        gate.release.set()
        await consumer.stop()
        await producer.stop()


async def test_every_metrics_endpoint_has_the_families_with_bounded_labels(
    system: System,
) -> None:
    accepted = await system.client.post(
        "/api/v1/complaints", json={"channel": "web", "content": "营业厅排队时间太长"})
    complaint_id = accepted.json()["id"]
    await system.notified.applied(1)
    assert (await system.client.get(f"/api/v1/complaints/{complaint_id}")).status_code == 200
    await system.client.request("BREW", f"/api/v1/complaints/{complaint_id}")

    families = ("beacon_http_requests_total", "beacon_http_request_seconds",
                "beacon_consumer_lag", "beacon_outbox_backlog", "beacon_dead_letters_total")
    pages = {"gateway": (await system.client.get("/metrics")).text}
    for name, app in system.embedded.services.items():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=f"http://{name}") as direct:
            pages[name] = (await direct.get("/metrics")).text
    for name, page in pages.items():
        for family in families:
            assert f"# TYPE {family} " in page, (name, family)
        assert complaint_id not in page, name  # never a raw path as a label

    assert sample("beacon_http_requests_total", service="intake", method="GET",
                  route="/api/v1/complaints/{complaint_id}", status="200")
    assert sample("beacon_http_requests_total", service="gateway", method="GET",
                  route="/api/v1/complaints/{rest}", status="200")
    assert sample("beacon_http_requests_total", service="gateway", method="other",
                  route="/api/v1/{path}", status="405")
    lag = sample("beacon_consumer_lag", service="triage", group="triage",
                 topic=ComplaintReceived.topic, partition="0")
    assert lag is not None and lag >= 0
    assert sample("beacon_dead_letters_total", service="notify",
                  topic=ComplaintTriaged.topic) == 0
