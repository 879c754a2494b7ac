"""Live updates: notices from the events, replay after a reconnect, a refresh when the
buffer no longer reaches back, and a buffer and readers that stay bounded."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from deploy.loopback import served
from services.console import board
from services.console.live import LiveHub, stream
from shared.events.schemas import ComplaintTriaged
from tests.support import ADMIN, PASSWORD, ConsoleWorld, sign_in, sse_events


def _hub_with(count: int, buffer: int = 10) -> LiveHub:
    hub = LiveHub(buffer)
    for i in range(count):
        hub.publish("case", {"case_id": f"c{i}"})
    return hub


def test_missed_notices_come_back_in_order() -> None:
    hub = _hub_with(5)
    missed = hub.missed(f"{hub.epoch}-2")
    assert missed is not None
    assert [n.data["case_id"] for n in missed] == ["c2", "c3", "c4"]
    assert hub.missed(hub.latest_id()) == []
    assert hub.missed(None) == []


def test_a_reconnect_beyond_the_buffer_or_to_another_replica_refreshes() -> None:
    hub = _hub_with(25, buffer=10)  # notices 1-15 have left the buffer
    assert hub.missed(f"{hub.epoch}-3") is None
    assert hub.missed(f"{hub.epoch}-15") is not None  # 16 is the oldest kept
    assert hub.missed("another-5") is None
    assert hub.missed(f"{hub.epoch}-999") is None
    assert hub.missed("garbage") is None


def test_the_buffer_stays_bounded() -> None:
    hub = _hub_with(5000, buffer=100)
    missed = hub.missed(f"{hub.epoch}-4900")
    assert missed is not None and len(missed) == 100


async def test_a_reader_that_falls_behind_is_ended_not_buffered_without_bound() -> None:
    hub = LiveHub(10_000)
    events = stream(hub, None, heartbeat_s=60, allowed=frozenset({"case"}))
    hello = await anext(events)
    assert hello["event"] == "hello"
    for i in range(1000):  # far past the reader's queue of 256, nobody reading
        hub.publish("case", {"case_id": f"c{i}"})
    assert hub.listeners == 0  # let go
    assert [e async for e in events] == []  # ends at once: the browser reconnects, replays
    await events.aclose()


async def test_heartbeats_come_as_events() -> None:
    hub = LiveHub(10)
    events = stream(hub, None, heartbeat_s=0.05, allowed=frozenset({"case"}))
    assert (await anext(events))["event"] == "hello"
    assert (await anext(events))["event"] == "ping"  # EventSource never shows comments
    await events.aclose()


async def _next_notice(events: AsyncIterator[dict[str, str]], kind: str) -> dict[str, str]:
    async for event in events:
        if event.get("event") == kind:
            return event
    raise AssertionError(f"the stream ended before a {kind} notice")


async def test_a_new_case_reaches_a_connected_browser_and_a_reconnect_replays(
        world: ConsoleWorld) -> None:
    gateway = world.system.embedded.gateway
    async with served(gateway) as base, httpx.AsyncClient(base_url=base) as browser, \
            httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}) as api:
        await sign_in(browser, "duty", PASSWORD)
        async with browser.stream("GET", "/events", timeout=30) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            live = sse_events(answer)
            assert (await _next_notice(live, "hello"))["data"]
            posted = await api.post("/api/v1/complaints", json={
                "channel": "hotline", "content": "化工厂泄漏，周边居民头晕呕吐，有人送医"})
            complaint_id = posted.json()["id"]
            notice = await asyncio.wait_for(_next_notice(live, "case"), 10)
            data = json.loads(notice["data"])
            assert data["topic"] == ComplaintTriaged.topic and data["complaint_id"] == complaint_id
            assert data["response_level"] == 1
            assert "content" not in data  # notices carry ids, never text
            seen = notice["id"]
        # While this browser is away, three more cases arrive.
        for i in range(3):
            await api.post("/api/v1/complaints", json={"channel": "web",
                                                       "content": f"排队太久了 {i}"})
        await world.system.notified.applied(4)
        hub = gateway.state.console.hub
        async with browser.stream("GET", "/events", headers={"last-event-id": seen},
                                  timeout=30) as answer:
            again = sse_events(answer)
            first = await anext(again)
            assert first["event"] == "hello"  # the buffer reaches back: no refresh
            replayed = [e async for e in _until_latest(again, hub.latest_id())]
            ids = [int(e["id"].rpartition("-")[2]) for e in replayed]
            assert ids == list(range(int(seen.rpartition("-")[2]) + 1, ids[-1] + 1))
            kinds = {json.loads(e["data"])["topic"] for e in replayed}
            assert ComplaintTriaged.topic in kinds
            triaged = [e for e in replayed
                       if json.loads(e["data"])["topic"] == ComplaintTriaged.topic]
            assert len(triaged) == 3
        async with browser.stream("GET", "/events", headers={"last-event-id": "gone-1"},
                                  timeout=30) as stale:
            assert (await anext(sse_events(stale)))["event"] == "refresh"


async def _until_latest(events: AsyncIterator[dict[str, str]], latest: str
                        ) -> AsyncIterator[dict[str, str]]:
    async for event in events:
        if "id" in event:
            yield event
            if event["id"] == latest:
                return


async def test_the_stream_needs_a_session(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        answer = await browser.get("/events")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


async def test_a_notice_during_the_pages_reads_is_replayed_from_the_page(
        world: ConsoleWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """A case triaged while the board reads its lanes is in neither the page nor, unless
    the page's mark is taken before the reads, the replay: the lane would stay stale."""
    hub = world.system.embedded.gateway.state.console.hub
    read_lanes = board.lanes

    async def lanes_while_a_case_lands(*args: Any) -> list[dict[str, Any]]:
        hub.publish("case", {"topic": ComplaintTriaged.topic, "case_id": "landed",
                             "response_level": 1})
        return await read_lanes(*args)

    monkeypatch.setattr(board, "lanes", lanes_while_a_case_lands)
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        page = (await browser.get("/board")).text
    since = re.search(r'data-live-since="([^"]+)"', page)
    assert since is not None
    replay = hub.missed(since.group(1))
    assert replay is not None and [n.data["case_id"] for n in replay] == ["landed"]
