"""The same delivery path on PostgreSQL (claims with FOR UPDATE SKIP LOCKED, migrations)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.notify.peers import Behaviour, HttpPeer, notify_settings, running, triaged

ROSTER = """
[[member]]
id = "ok"
roles = ["leadership_group"]
channels = {{ webhook = "{ok}", log = "ok" }}
[[member]]
id = "down"
roles = ["leadership_group"]
channels = {{ webhook = "{down}" }}
[routing]
1 = ["leadership_group"]
2 = ["leadership_group"]
3 = ["leadership_group"]
4 = ["leadership_group"]
"""


@pytest.mark.postgres
async def test_deliver_retry_dead_letter_and_ack_on_postgres(
    tmp_path: Path, pg_url: str, pg_schema: str,
) -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/down"] = Behaviour(status=500, fail_times=None)
        settings = notify_settings(tmp_path, ROSTER.format(ok=peer.url("/ok"),
                                                           down=peer.url("/down")),
                                   database_url=pg_url)
        async with running(settings, schema=pg_schema) as notify:
            event = await notify.publish(triaged(1), "c" * 32)
            await notify.send(event)
            got = await peer.next()
            await notify.outcomes.until(notify.sent("dead"))
            items = await notify.deliveries(complaint_id="c" * 32)
            token = parse_qs(urlsplit(got.json()["ack_url"]).query)["token"][0]
            first = await notify.client.post("/api/v1/notifications/ack", json={"token": token})
            again = await notify.client.post("/api/v1/notifications/ack", json={"token": token})
    assert {(i["recipient"], i["channel"], i["status"]) for i in items} == {
        ("ok", "webhook", "sent"), ("ok", "log", "sent"), ("down", "webhook", "dead")}
    assert first.status_code == 200 and again.status_code == 409
