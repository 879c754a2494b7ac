"""Routing reads the roster, the duty schedule and the callbacks from a cache: an edit on
any replica invalidates it on every replica (a version token the edit sets in its own
transaction), and a run of events is routed with the tables read once, not per event."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from notify_svc.models import CaseClocks, ComplaintOwner
from shared.bus import MemoryBus
from shared.events import make_event
from shared.events.schemas import ClockDue
from tests.notify.peers import ADMIN, NOW, HttpPeer, Notify, notify_settings, running, triaged

ROSTER = """
[[member]]
id = "duty-a"
roles = ["duty_room"]
channels = { log = "duty-a" }
[routing]
1 = ["duty_room"]
2 = ["duty_room"]
3 = ["duty_room"]
4 = ["duty_room"]
[digest]
levels = []
"""
MEMBER_B = {"name": "值班室 B", "roles": ["duty_room"], "channels": {"log": {"address": "b"}}}


async def _reached(notify: Notify, complaint_id: str) -> set[str]:
    await notify.publish(triaged(1, complaint_id=complaint_id), complaint_id)
    return {d["recipient"] for d in await notify.deliveries(complaint_id=complaint_id)}


def _loads(notify: Notify) -> int:
    return int(notify.app.state.notifier.router.roster.loads)


@pytest.mark.postgres
async def test_an_edit_on_one_replica_reaches_the_other_replicas_routing(
        tmp_path: Path, pg_url: str, pg_schema: str) -> None:
    settings = notify_settings(tmp_path, ROSTER, database_url=pg_url)
    async with running(settings, schema=pg_schema) as one, \
            running(settings, schema=pg_schema) as other:
        assert await _reached(one, "a" * 32) == {"duty-a"}
        loads = _loads(one)
        assert await _reached(one, "b" * 32) == {"duty-a"}
        assert _loads(one) == loads  # nothing changed: the tables were not read again

        put = await other.client.put("/api/v1/roster/members/duty-b", headers=ADMIN,
                                     json=MEMBER_B)
        assert put.status_code == 200, put.text
        assert await _reached(one, "c" * 32) == {"duty-a", "duty-b"}
        assert _loads(one) == loads + 1

        # The schedule too: today (and tomorrow, should the day turn meanwhile) only B.
        today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
        duty = await other.client.put("/api/v1/roster/duty", headers=ADMIN, json={"items": [
            {"date": str(day), "start_hour": 0, "end_hour": 24, "role": "duty_room",
             "member": "duty-b"} for day in (today, today + dt.timedelta(days=1))]})
        assert duty.status_code == 200, duty.text
        assert await _reached(one, "d" * 32) == {"duty-b"}

        gone = await other.client.delete("/api/v1/roster/members/duty-b", headers=ADMIN)
        assert gone.status_code == 204
        cleared = await other.client.put("/api/v1/roster/duty", headers=ADMIN,
                                         json={"items": []})
        assert cleared.status_code == 200, cleared.text
        assert await _reached(one, "e" * 32) == {"duty-a"}


async def test_a_batch_is_routed_as_one_by_one_would(tmp_path: Path) -> None:
    """Ten triaged events taken as one batch: each reaches the roster, each filing hotline
    is remembered (its callback numbered 1), each case's clocks are kept, and the roster
    was read once for all of them."""
    ids = [f"{i:032x}" for i in range(10)]
    due = [ClockDue(clock="report", due_at=NOW + dt.timedelta(hours=i)) for i in range(10)]
    async with HttpPeer() as peer, running(notify_settings(tmp_path, ROSTER)) as notify:
        answer = await notify.client.put("/api/v1/callbacks/hotline-a", headers=ADMIN,
                                         json={"url": peer.url("/status"),
                                               "secret": "hotline-a-secret"})
        assert answer.status_code == 200, answer.text
        loads = _loads(notify)
        events = [make_event(triaged(2, complaint_id=c, case_id=c, submitted_by="hotline-a")
                             .model_copy(update={"outstanding": [due[i]]}),
                             source="/test", subject=c) for i, c in enumerate(ids)]
        before = len(notify.handled.seen)
        await MemoryBus(notify.broker).publish_batch([(e.type, e) for e in events])
        await notify.handled.until(lambda: len(notify.handled.seen) >= before + len(ids))
        got = [json.loads((await peer.next()).body) for _ in ids]
        reached = {c: {(d["recipient"], d["channel"]) for d in
                       await notify.deliveries(complaint_id=c)} for c in ids}
        async with notify.app.state.runtime.db.session() as session:
            owners = dict((await session.execute(
                select(ComplaintOwner.complaint_id, ComplaintOwner.owner))).all())
            clocks = {row.case_id: row.outstanding
                      for row in (await session.scalars(select(CaseClocks))).all()}
    assert _loads(notify) - loads == 1
    assert sorted(c["complaint_id"] for c in got) == ids
    assert {c["sequence"] for c in got} == {1}
    assert all(r == {("duty-a", "log"), ("hotline:hotline-a", "callback")}
               for r in reached.values())
    assert owners == dict.fromkeys(ids, "hotline-a")
    assert clocks == {c: [due[i].model_dump(mode="json")] for i, c in enumerate(ids)}
