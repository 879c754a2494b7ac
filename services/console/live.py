"""Live updates: the console consumes the events it shows and pushes short notices over
Server-Sent Events; the page then refetches its fragments through the ordinary
scope-checked handlers, so a notice never carries what its reader may not see.

Each console replica has a consumer group of its own, so every replica sees every event.
Notices carry ids `<epoch>-<seq>`; a browser that reconnects with `Last-Event-ID` gets what
it missed from a bounded buffer, or one `refresh` notice when the buffer no longer reaches
back (or it was another replica, or this one restarted)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from shared.bus import Bus, BusMessage
from shared.events.schemas import (
    CaseEscalated,
    CaseUpdated,
    ComplaintTriaged,
    IncidentOpened,
    IncidentUpdated,
    NotificationAcknowledged,
    NotificationFailed,
    NotificationSent,
    OpinionAlert,
    StatementApproved,
)

log = logging.getLogger("beacon.console")

# Topic → the page element that shows it. Individual mention scores are left out: a burst
# of thousands would flush the buffer; the opinion page follows alerts and incidents.
TOPIC_KIND = {
    ComplaintTriaged.topic: "case", CaseUpdated.topic: "case", CaseEscalated.topic: "case",
    IncidentOpened.topic: "incident", IncidentUpdated.topic: "incident",
    NotificationSent.topic: "notification", NotificationFailed.topic: "notification",
    NotificationAcknowledged.topic: "notification",
    OpinionAlert.topic: "alert", StatementApproved.topic: "statement",
}
SUBSCRIBER_QUEUE = 256


@dataclass(frozen=True)
class Notice:
    id: str
    kind: str
    data: dict[str, Any]

    def sse(self) -> dict[str, str]:
        return {"id": self.id, "event": self.kind, "data": json.dumps(self.data)}


def notice_data(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a page needs to decide what to refetch: ids, level, drill; never text."""
    keep = ("case_id", "complaint_id", "incident_id", "response_level", "previous_level",
            "drill", "action", "state", "statement_id", "warning_level", "delivery_id")
    return {"topic": topic, **{k: data[k] for k in keep if k in data}}


class LiveHub:
    def __init__(self, buffer: int) -> None:
        self.epoch = secrets.token_hex(4)
        self._seq = 0
        self._buffer: deque[Notice] = deque(maxlen=buffer)
        self._subscribers: set[asyncio.Queue[Notice | None]] = set()

    def attach(self, bus: Bus, group: str) -> None:
        """Subscribe this replica's own group to every topic a page shows."""
        bus.subscribe(list(TOPIC_KIND), group, self._on_event)

    async def _on_event(self, delivery: BusMessage) -> None:
        self.publish(TOPIC_KIND[delivery.topic],
                     notice_data(delivery.topic, delivery.envelope.data))

    def publish(self, kind: str, data: dict[str, Any]) -> Notice:
        self._seq += 1
        notice = Notice(f"{self.epoch}-{self._seq}", kind, data)
        self._buffer.append(notice)
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(notice)
            except asyncio.QueueFull:  # a reader that fell behind catches up by replay
                self._subscribers.discard(queue)
                _end(queue)
        return notice

    def missed(self, last_id: str | None) -> list[Notice] | None:
        """Notices after `last_id`; None when the buffer cannot tell (refresh instead)."""
        if not last_id:
            return []
        epoch, _, seq_text = last_id.partition("-")
        if epoch != self.epoch or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        if seq > self._seq:
            return None
        oldest = self._seq - len(self._buffer) + 1
        if seq + 1 < oldest:
            return None
        return [n for n in self._buffer if int(n.id.partition("-")[2]) > seq]

    def latest_id(self) -> str:
        return f"{self.epoch}-{self._seq}"

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[Notice | None]]:
        queue: asyncio.Queue[Notice | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def end_streams(self) -> None:
        """End every open stream (shutdown): browsers reconnect, elsewhere or later, and
        replay what they missed."""
        for queue in list(self._subscribers):
            self._subscribers.discard(queue)
            _end(queue)

    @property
    def listeners(self) -> int:
        return len(self._subscribers)


def _end(queue: asyncio.Queue[Notice | None]) -> None:
    """Tell a reader that fell behind to reconnect: drop its backlog, leave an end mark."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)


async def stream(hub: LiveHub, last_id: str | None, heartbeat_s: float,
                 allowed: frozenset[str]) -> AsyncGenerator[dict[str, str], None]:
    """The SSE stream of one browser: missed notices (or `refresh`), then live ones, with
    a `ping` every `heartbeat_s` so proxies and the page know the line is alive."""
    async with hub.subscription() as queue:
        missed = hub.missed(last_id)
        if missed is None:
            yield {"id": hub.latest_id(), "event": "refresh", "data": "{}"}
            missed = []
        else:
            yield {"event": "hello", "data": json.dumps({"id": hub.latest_id()})}
        for notice in missed:
            if notice.kind in allowed:
                yield notice.sse()
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), heartbeat_s)
            except TimeoutError:
                yield {"event": "ping", "data": "{}"}  # an event: EventSource hides comments
                continue
            if item is None:  # dropped for falling behind: the browser reconnects
                return
            if item.kind in allowed:
                yield item.sse()
