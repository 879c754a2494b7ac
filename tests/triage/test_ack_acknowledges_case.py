"""Acknowledging a notification and acknowledging the case: the first acknowledgement of
one of the case's notifications by someone the roster reached acknowledges the case, under
that person's name (an operator recording it by phone is recorded as the operator); later
ones only go on the timeline."""

from __future__ import annotations

from typing import Any

from tests.support import System, eventually


async def _level_one(system: System) -> tuple[str, list[dict[str, Any]]]:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "热水器爆炸，有人受伤住院"})
    complaint_id: str = posted.json()["id"]
    found: list[dict[str, Any]] = []

    async def notified() -> bool:
        answer = await system.client.get("/api/v1/notifications",
                                         params={"complaint_id": complaint_id})
        found[:] = answer.json()["items"]
        return len(found) >= 2

    await eventually(notified, "level 1 reaches several people")
    return complaint_id, found


async def _case(system: System, complaint_id: str) -> dict[str, Any]:
    view = (await system.client.get(f"/api/v1/complaints/{complaint_id}")).json()
    case: dict[str, Any] = (await system.client.get(
        f"/api/v1/cases/{view['case']['id']}")).json()
    return case


async def test_an_operator_acknowledgement_acknowledges_the_case_under_the_operator(
        system: System) -> None:
    complaint_id, deliveries = await _level_one(system)
    ops = system.as_key("operator")
    first = await system.client.post(f"/api/v1/notifications/{deliveries[0]['id']}/ack",
                                     headers=ops)
    assert first.status_code == 200, first.text
    assert first.json()["acknowledged_by"] == "ops"

    async def acknowledged() -> bool:
        return bool((await _case(system, complaint_id))["state"] == "acknowledged")

    await eventually(acknowledged, "the case is acknowledged")
    repeat = await system.client.post(f"/api/v1/notifications/{deliveries[0]['id']}/ack",
                                      headers=ops)
    assert repeat.status_code == 409
    assert "already acknowledged" in repeat.json()["detail"]
    assert "by ops" in repeat.json()["detail"]
    assert "token" not in repeat.json()["detail"]  # no token was used

    second = await system.client.post(f"/api/v1/notifications/{deliveries[1]['id']}/ack",
                                      headers=ops)
    assert second.status_code == 200

    async def both_on_timeline() -> bool:
        timeline = (await _case(system, complaint_id))["timeline"]
        return bool(sum(t["action"] == "notification_acknowledged" for t in timeline) == 2)

    await eventually(both_on_timeline, "both acknowledgements are on the timeline")
    case = await _case(system, complaint_id)
    entries = [(t["action"], t["actor"]) for t in case["timeline"]
               if t["action"] in ("acknowledged", "notification_acknowledged")]
    # The first acknowledges the case; the second finds it acknowledged already.
    assert entries == [("notification_acknowledged", "ops"), ("acknowledged", "ops"),
                       ("notification_acknowledged", "ops")]
    [by_ack] = [t for t in case["timeline"] if t["action"] == "acknowledged"]
    assert by_ack["detail"]["delivery_id"] == deliveries[0]["id"]


async def test_a_token_acknowledgement_acknowledges_the_case_under_the_recipient(
        system: System) -> None:
    complaint_id, deliveries = await _level_one(system)
    notifier = system.embedded.services["notify"].state.notifier
    target = deliveries[0]
    token = notifier.tokens.token_for(target["id"])
    pressed = await system.client.post("/api/v1/notifications/ack", json={"token": token},
                                       headers={"Authorization": ""})
    assert pressed.status_code == 200, pressed.text
    again = await system.client.post("/api/v1/notifications/ack", json={"token": token},
                                     headers={"Authorization": ""})
    assert again.status_code == 409 and "a token works once" in again.json()["detail"]

    async def acknowledged() -> bool:
        return bool((await _case(system, complaint_id))["state"] == "acknowledged")

    await eventually(acknowledged, "the case is acknowledged")
    case = await _case(system, complaint_id)
    [entry] = [t for t in case["timeline"] if t["action"] == "acknowledged"]
    assert entry["actor"] == target["recipient"]


async def test_a_case_past_acknowledgement_is_not_moved_back(system: System) -> None:
    complaint_id, deliveries = await _level_one(system)
    ops = system.as_key("operator")
    case = await _case(system, complaint_id)
    moved = await system.client.post(f"/api/v1/cases/{case['id']}/state", headers=ops,
                                     json={"state": "investigating"})
    assert moved.status_code == 200
    await system.client.post(f"/api/v1/notifications/{deliveries[0]['id']}/ack", headers=ops)

    async def on_timeline() -> bool:
        timeline = (await _case(system, complaint_id))["timeline"]
        return any(t["action"] == "notification_acknowledged" for t in timeline)

    await eventually(on_timeline, "the acknowledgement is on the timeline")
    after = await _case(system, complaint_id)
    assert after["state"] == "investigating"
    assert not any(t["action"] == "acknowledged" for t in after["timeline"])
