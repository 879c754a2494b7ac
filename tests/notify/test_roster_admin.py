"""The roster and duty schedule live in the database: seeded once from the file, then
edited through the admin API; the edits survive a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from notify_svc.roster import DutySlot
from tests.notify.peers import ADMIN, notify_settings, running

ROSTER = """
[[member]]
id = "duty-room"
roles = ["duty_room"]
[member.channels]
log = "duty-room"
dingtalk = { address = "https://oapi.dingtalk.com/robot/send?access_token=x", secret = "SECx" }
[[duty]]
date = 2026-10-01
start_hour = 8
end_hour = 20
role = "duty_room"
member = "duty-room"
[routing]
1 = ["duty_room"]
2 = ["duty_room"]
3 = ["duty_room"]
4 = ["duty_room"]
"""

NEW_MEMBER = {"name": "值班室 B", "roles": ["duty_room"], "language": "en",
              "channels": {"email": {"address": "duty-b@example.org"}}}


async def test_seeded_once_then_edited_and_kept_across_restarts(tmp_path: Path) -> None:
    settings = notify_settings(tmp_path, ROSTER)
    async with running(settings) as notify:
        roster = (await notify.client.get("/api/v1/roster", headers=ADMIN)).json()
        [member] = roster["members"]
        assert member["channels"]["dingtalk"]["signed"] is True
        assert "secret" not in str(roster)  # secrets are never shown
        assert roster["routing"]["1"] == ["duty_room"]

        put = await notify.client.put("/api/v1/roster/members/duty-b", headers=ADMIN,
                                      json=NEW_MEMBER)
        assert put.status_code == 200, put.text
        deleted = await notify.client.delete("/api/v1/roster/members/duty-room", headers=ADMIN)
        assert deleted.status_code == 204
        duty = await notify.client.put("/api/v1/roster/duty", headers=ADMIN, json={"items": [
            {"date": "2026-10-02", "start_hour": 0, "end_hour": 24, "role": "duty_room",
             "member": "duty-b"}]})
        assert duty.status_code == 200, duty.text

    async with running(settings) as notify:  # the same database: no second seeding
        roster = (await notify.client.get("/api/v1/roster", headers=ADMIN)).json()
        duty = (await notify.client.get("/api/v1/roster/duty", headers=ADMIN)).json()
    assert [m["id"] for m in roster["members"]] == ["duty-b"]
    assert duty["items"] == [{"date": "2026-10-02", "start_hour": 0, "end_hour": 24,
                              "role": "duty_room", "member": "duty-b"}]


async def test_replacing_the_roster_validates_and_needs_admin(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        no_admin = await notify.client.put("/api/v1/roster/members",
                                           headers={"x-beacon-scopes": "cases:read"}, json=[])
        bad_url = await notify.client.put("/api/v1/roster/members", headers=ADMIN, json=[
            {"id": "x", "name": "x", "roles": ["duty_room"],
             "channels": {"webhook": {"address": "ftp://nope"}}}])
        unknown_channel = await notify.client.put("/api/v1/roster/members", headers=ADMIN,
                                                  json=[{"id": "x", "name": "x", "roles": ["r"],
                                                         "channels": {"pager": {"address": "1"}}}])
        ok = await notify.client.put("/api/v1/roster/members", headers=ADMIN,
                                     json=[{"id": "only", **NEW_MEMBER}])
        bad_hours = await notify.client.put("/api/v1/roster/duty", headers=ADMIN, json={
            "items": [{"date": "2026-10-02", "start_hour": 24, "end_hour": 8, "role": "r",
                       "member": "only"}]})
        twice = await notify.client.put("/api/v1/roster/members", headers=ADMIN,
                                        json=[{"id": "a", **NEW_MEMBER}, {"id": "a", **NEW_MEMBER}])
        roster = (await notify.client.get("/api/v1/roster", headers=ADMIN)).json()
    assert no_admin.status_code == 403
    assert bad_url.status_code == 422 and unknown_channel.status_code == 422
    assert ok.status_code == 200 and [m["id"] for m in roster["members"]] == ["only"]
    assert bad_hours.status_code == 422 and twice.status_code == 409


def test_a_night_shift_runs_into_the_next_day() -> None:
    night = DutySlot(dt.date(2026, 10, 1), 20, 8, "duty_room", "duty-b")
    at = dt.datetime
    assert night.covers(at(2026, 10, 1, 20)) and night.covers(at(2026, 10, 2, 7))
    assert not night.covers(at(2026, 10, 1, 19)) and not night.covers(at(2026, 10, 2, 8))
    day = DutySlot(dt.date(2026, 10, 1), 8, 20, "duty_room", "duty-a")
    assert day.covers(at(2026, 10, 1, 8)) and not day.covers(at(2026, 10, 1, 20))
