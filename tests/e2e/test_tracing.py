"""One complaint is one trace: the gateway's traceparent (given or made) reaches every event
it causes, hop after hop (intake -> triage -> notify), each with a span of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared import tracing
from shared.bus import BusMessage, MemoryBus
from shared.events import Envelope
from shared.events.schemas import ComplaintReceived, ComplaintTriaged, NotificationSent
from tests.support import Conditions, System

TRACE, PARENT = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
CHAIN = (ComplaintReceived.topic, ComplaintTriaged.topic, NotificationSent.topic)
SEVERE = {"channel": "hotline", "content": "热水器爆炸，有人受伤住院"}  # level 1: three recipients


class Watcher(Conditions):
    """A consumer group of its own on the embedded broker: sees every event as it is."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, Envelope]] = []

    async def observe(self, delivery: BusMessage) -> None:
        self.events.append((delivery.topic, delivery.envelope))
        self._changed()

    def about(self, complaint_id: str) -> dict[str, list[Envelope]]:
        found: dict[str, list[Envelope]] = {}
        for topic, event in self.events:
            if event.subject == complaint_id:
                found.setdefault(topic, []).append(event)
        return found

    async def chain_of(self, complaint_id: str, sent: int) -> dict[str, list[Envelope]]:
        """Wait until the complaint's whole chain (and `sent` notifications) was seen."""
        def complete() -> bool:
            seen = self.about(complaint_id)
            return all(seen.get(t) for t in CHAIN) and len(seen[CHAIN[-1]]) >= sent
        await self.wait_for(complete)
        return self.about(complaint_id)


@pytest.fixture
async def watcher(system: System) -> AsyncIterator[Watcher]:
    watching = Watcher()
    intake_bus = system.embedded.services["intake"].state.runtime.bus
    assert isinstance(intake_bus, MemoryBus)
    bus = MemoryBus(intake_bus.broker)
    bus.subscribe(CHAIN, "trace-watcher", watching.observe)
    await bus.start()
    yield watching
    await bus.stop()


def spans(chain: dict[str, list[Envelope]]) -> list[tracing.Span]:
    found = []
    for events in chain.values():
        for event in events:
            span = tracing.parse(event.traceparent)
            assert span is not None, f"{event.type} has no valid traceparent"
            found.append(span)
    return found


async def _post(system: System, headers: dict[str, str]) -> str:
    answer = await system.client.post("/api/v1/complaints", json=SEVERE, headers=headers)
    assert answer.status_code == 202, answer.text
    complaint_id: str = answer.json()["id"]
    return complaint_id


async def test_the_callers_trace_runs_through_every_hop(
    system: System, watcher: Watcher
) -> None:
    complaint_id = await _post(system, {"traceparent": f"00-{TRACE}-{PARENT}-01"})
    chain = await watcher.chain_of(complaint_id, sent=3)
    found = spans(chain)
    assert len(found) == 5  # received, triaged, and one sent per recipient
    assert {s.trace_id for s in found} == {TRACE}
    assert {s.flags for s in found} == {1}
    span_ids = [s.span_id for s in found]
    assert len(set(span_ids)) == len(span_ids) and PARENT not in span_ids
    # On the wire the record's traceparent header says the same as its envelope.
    broker = system.embedded.services["intake"].state.runtime.bus.broker
    record = next(r for r in broker.records(ComplaintReceived.topic)
                  if Envelope.from_bytes(r.value).subject == complaint_id)
    header = dict(record.headers)["traceparent"].decode()
    assert header == chain[ComplaintReceived.topic][0].traceparent


async def test_without_a_traceparent_the_gateway_starts_one_trace(
    system: System, watcher: Watcher
) -> None:
    first = await _post(system, {})
    second = await _post(system, {})
    traces = []
    for complaint_id in (first, second):
        found = spans(await watcher.chain_of(complaint_id, sent=3))
        assert len({s.trace_id for s in found}) == 1
        assert len({s.span_id for s in found}) == len(found)
        traces.append(found[0].trace_id)
    assert traces[0] != traces[1]  # one trace per request


async def test_a_malformed_traceparent_is_ignored_and_a_new_trace_begins(
    system: System, watcher: Watcher
) -> None:
    for value in ("not-a-traceparent", f"00-{'0' * 32}-{PARENT}-01",
                  f"00-{TRACE}-{PARENT}-01-extra", f"ff-{TRACE}-{PARENT}-01",
                  f"00-{TRACE.upper()}-{PARENT}-01"):
        complaint_id = await _post(system, {"traceparent": value})  # 202, never a 500
        found = spans(await watcher.chain_of(complaint_id, sent=3))
        assert len({s.trace_id for s in found}) == 1, value
        assert found[0].trace_id not in (TRACE, TRACE.upper(), "0" * 32), value
