"""Deliveries a handler records are claimed as they are written and sent after the commit
(Dispatcher.lease): once per batch however often it is redelivered, never for a rolled-back
transaction, and never by a second replica while the first holds the lease."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from deploy.support import until
from notify_svc.models import Delivery
from notify_svc.recording import Recipient, Refs
from shared.bus import MemoryBus
from shared.events import make_event
from tests.notify.peers import Behaviour, HttpPeer, notify_settings, running, triaged

ROSTER = """
[[member]]
id = "m"
roles = ["leadership_group"]
channels = {{ webhook = "{hook}" }}
[routing]
1 = ["leadership_group"]
2 = ["leadership_group"]
3 = ["leadership_group"]
4 = ["leadership_group"]
"""


async def test_a_batch_and_its_redelivery_send_each_delivery_once(tmp_path: Path) -> None:
    """Three events in one batch, two about one case and one about another: one delivery
    each, sent once on its first attempt; the same batch again records and sends nothing."""
    a, b = "a" * 32, "b" * 32
    events = [make_event(triaged(level, complaint_id=c, case_id=c), source="/test", subject=c)
              for level, c in ((1, a), (2, b), (3, a))]
    async with HttpPeer() as peer:
        settings = notify_settings(tmp_path, ROSTER.format(hook=peer.url("/hook")))
        async with running(settings) as notify:
            bus = MemoryBus(notify.broker)
            await bus.publish_batch([(e.type, e) for e in events])
            await notify.handled.until(lambda: len(notify.handled.seen) >= 3)
            got = [(await peer.next()).json()["id"] for _ in events]
            await notify.outcomes.until(lambda: notify.count("sent") >= 3)
            await bus.publish_batch([(e.type, e) for e in events])  # redelivered
            await notify.handled.until(lambda: len(notify.handled.seen) >= 6)
            items = [*await notify.deliveries(complaint_id=a),
                     *await notify.deliveries(complaint_id=b)]
    assert [outcome for outcome, _ in notify.handled.seen] == ["applied"] * 3 + ["duplicate"] * 3
    assert sorted(got) == sorted(i["id"] for i in items) and len(items) == 3
    assert {(i["status"], i["attempts"]) for i in items} == {("sent", 1)}
    assert len(peer.attempts) == 3
    assert notify.count("sent") == 3


async def test_a_rolled_back_transaction_hands_nothing_over(tmp_path: Path) -> None:
    async with HttpPeer() as peer:
        settings = notify_settings(tmp_path, ROSTER.format(hook=peer.url("/hook")))
        async with running(settings) as notify:
            runtime, recorder = notify.app.state.runtime, notify.app.state.notifier.recorder
            rolled, kept = (make_event(triaged(1, complaint_id=c), source="/test", subject=c)
                            for c in ("r" * 32, "k" * 32))

            def to(path: str) -> list[Recipient]:
                return [Recipient("m", ("leadership_group",), "webhook", peer.url(path), "zh")]

            with pytest.raises(RuntimeError):
                async with runtime.unit() as unit:
                    await recorder.record(unit, rolled, to("/rolled"), Refs("r" * 32),
                                          rolled.data)
                    raise RuntimeError("the transaction fails after the delivery was recorded")
            async with runtime.unit() as unit:
                await recorder.record(unit, kept, to("/kept"), Refs("k" * 32), kept.data)
            got = await peer.next()
            await notify.outcomes.until(notify.sent())
            async with runtime.db.session() as session:
                causes = set((await session.scalars(select(Delivery.cause_event_id))).all())
    assert got.path == "/kept" and [r.path for r in peer.attempts] == ["/kept"]
    assert causes == {kept.id}


@pytest.mark.postgres
async def test_a_second_replica_does_not_claim_a_handed_over_delivery(
    tmp_path: Path, pg_url: str, pg_schema: str,
) -> None:
    async with HttpPeer() as peer:
        slow = peer.behaviour["/slow"] = Behaviour(delay=1.0, fail_times=0)
        settings = notify_settings(tmp_path, ROSTER.format(hook=peer.url("/slow")),
                                   database_url=pg_url)
        async with running(settings, schema=pg_schema) as first, \
                running(settings, schema=pg_schema) as second:
            await first.publish(triaged(1), "c" * 32)
            await until(lambda: slow.seen >= 1, within=10, what="the send is in flight")
            claimed, due = await second.app.state.dispatcher.claim(10, [])
            [row] = await second.deliveries(complaint_id="c" * 32)
            await first.outcomes.until(first.sent())
            [done] = await second.deliveries(complaint_id="c" * 32)
    assert (claimed, due) == ([], 0)  # leased by the first as it was written
    assert row["status"] == "pending" and row["attempts"] == 1
    assert done["status"] == "sent" and done["attempts"] == 1
    assert len(peer.attempts) == 1 and second.count("sent") == 0
