"""A delivery keeps its cause's trace: the webhook request carries `traceparent` with the
cause's trace id, and so does `notification.sent`, though the dispatcher sends later and
outside the cause's transaction (one complaint, one trace)."""

from __future__ import annotations

from pathlib import Path

from shared.events import make_event
from shared.events.schemas import NotificationSent
from tests.notify.peers import (
    HttpPeer,
    general_affairs_roster,
    notify_settings,
    running,
    triaged,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CAUSE = f"00-{TRACE}-00f067aa0ba902b7-01"


async def test_the_webhook_and_notification_sent_continue_the_causes_trace(
        tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(
            notify_settings(tmp_path, general_affairs_roster(peer.url("/ga")))) as notify:
        await notify.send(make_event(triaged(2), source="/test", subject="c" * 32,
                                     traceparent=CAUSE))
        got = await peer.next()
        [sent] = await notify.until_published(NotificationSent, 1)
    version, trace_id, span_id, flags = got.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", TRACE, "01")
    assert span_id != CAUSE.split("-")[2]  # a span of its own, in the cause's trace
    assert sent.traceparent is not None and sent.traceparent.split("-")[1] == TRACE
