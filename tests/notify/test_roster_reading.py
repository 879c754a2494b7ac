"""Who is on duty and how levels route are for every operator (cases:read); the channel
addresses of staff (phone numbers, mailboxes) are personal data, shown to admin only.
Editing the roster stays admin's."""

from __future__ import annotations

from pathlib import Path

from tests.notify.peers import ADMIN, notify_settings, running

ROSTER = """
[[member]]
id = "duty-room"
name = "值班室"
roles = ["duty_room"]
[member.channels]
sms = "13800000000"
email = "duty@example.org"
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
READER = {"x-beacon-scopes": "cases:read", "x-beacon-owner": "duty", "x-beacon-key-id": "k1"}
NOBODY = {"x-beacon-scopes": "complaints:write", "x-beacon-owner": "hotline",
          "x-beacon-key-id": "k2"}


async def test_a_reader_sees_roles_and_routing_but_no_addresses(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        answer = await notify.client.get("/api/v1/roster", headers=READER)
        assert answer.status_code == 200, answer.text
        roster = answer.json()
        [member] = roster["members"]
        assert member["roles"] == ["duty_room"] and roster["routing"]["1"] == ["duty_room"]
        assert set(member["channels"]) == {"dingtalk", "email", "sms"}
        assert all(c["address"] is None for c in member["channels"].values())
        assert member["channels"]["dingtalk"]["signed"] is True
        assert "13800000000" not in answer.text and "duty@example.org" not in answer.text
        assert "SECx" not in answer.text

        duty = await notify.client.get("/api/v1/roster/duty", headers=READER,
                                       params={"on": "2026-10-01"})
        assert duty.status_code == 200, duty.text
        assert [s["member"] for s in duty.json()["items"]] == ["duty-room"]


async def test_admin_sees_the_addresses(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        roster = (await notify.client.get("/api/v1/roster", headers=ADMIN)).json()
    channels = roster["members"][0]["channels"]
    assert channels["sms"]["address"] == "13800000000"
    assert channels["email"]["address"] == "duty@example.org"
    assert "secret" not in str(roster)


async def test_reading_needs_cases_read_and_editing_stays_admin(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        for path in ("/api/v1/roster", "/api/v1/roster/duty"):
            refused = await notify.client.get(path, headers=NOBODY)
            assert refused.status_code == 403, path
        edit = await notify.client.put("/api/v1/roster/duty", headers=READER,
                                       json={"items": []})
        assert edit.status_code == 403
        member = await notify.client.put(
            "/api/v1/roster/members/x", headers=READER,
            json={"name": "x", "roles": ["duty_room"]})
        assert member.status_code == 403
