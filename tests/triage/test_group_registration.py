"""A group complaint's registration (核心诉求、发生地点、当前情绪状态、2-3 名推选代表) and its
work group (应急小组), through the gateway: versions on the incident, `incident.updated`,
representatives by their own complaints (a complaint not in the group joins it), and the
bad input for each."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from shared.events.schemas import IncidentUpdated
from tests.support import System
from tests.triage.test_incidents import Triage
from triage_svc import severity


@pytest.fixture(autouse=True)
def levels_from_the_rules_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(severity, "load_model", lambda *_args: None)


async def _group(triage: Triage) -> tuple[dict[str, Any], dict[str, Any]]:
    """A group incident (one complaint for six households) and its one member."""
    member = await triage.file("楼上装修噪音太大，我们几户都受不了", 1, people_count=6)
    [incident] = await triage.incidents(kind="group")
    return incident, member


async def _post(system: System, path: str, body: dict[str, Any], status: int = 200,
                key: str = "operator") -> dict[str, Any]:
    answer = await system.client.post(path, json=body, headers=system.as_key(key))
    assert answer.status_code == status, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def _incident_updates(triage: Triage, incident_id: str) -> list[dict[str, Any]]:
    runtime = triage.runtime
    async with runtime.db.session() as session:
        rows = (await session.execute(select(runtime.outbox.c.envelope).where(
            runtime.outbox.c.topic == IncidentUpdated.topic))).scalars().all()
    found = [json.loads(row)["data"] for row in rows]
    return [d for d in found if d["incident_id"] == incident_id]


REGISTRATION = {"core_demands": "停止夜间施工，赔偿损失", "place": "阳光小区3栋",
                "emotional_state": "agitated", "note": "十余人聚集在物业前台"}


async def test_a_group_is_registered_with_its_representatives(system: System) -> None:
    triage = Triage(system)
    incident, member = await _group(triage)
    other = await triage.file("物业不管装修噪音，我代表邻居们投诉", 2,
                              target={"department": "别的物业"})
    path = f"/api/v1/incidents/{incident['id']}/registration"
    shown = await _post(system, path, {**REGISTRATION, "representatives": [
        member["complaint_id"], other["complaint_id"]]})
    registration = shown["registration"]
    assert (registration["version"], registration["author"]) == (1, "ops")
    assert registration["body"]["core_demands"] == "停止夜间施工，赔偿损失"
    assert registration["body"]["representatives"] == [member["complaint_id"],
                                                       other["complaint_id"]]
    # A representative's complaint outside the group joins it, at the group's level.
    assert sorted(shown["complaint_ids"]) == sorted([member["complaint_id"],
                                                     other["complaint_id"]])
    joined = await triage.case(other["id"])
    assert joined["incident_id"] == incident["id"]
    assert joined["response_level"] <= incident["response_level"]

    again = await _post(system, path, {**REGISTRATION, "emotional_state": "calm",
                                       "representatives": [member["complaint_id"],
                                                           other["complaint_id"]]})
    assert again["registration"]["version"] == 2
    assert [r["kind"] for r in again["records"]] == ["registration", "registration"]
    read = (await system.client.get(f"/api/v1/incidents/{incident['id']}")).json()
    assert read["registration"]["body"]["emotional_state"] == "calm"
    updates = [u for u in await _incident_updates(triage, incident["id"])
               if u["action"] == "registered"]
    assert [(u["record_version"], u["actor"]) for u in updates] == [(1, "ops"), (2, "ops")]
    [joined_event] = [u for u in await _incident_updates(triage, incident["id"])
                      if u["action"] == "members_added"]
    assert joined_event["added_complaint_ids"] == [other["complaint_id"]]
    assert read["people_count"] == incident["people_count"] + 1  # the representative's


async def test_bad_registrations_are_refused(system: System) -> None:
    triage = Triage(system)
    incident, member = await _group(triage)
    path = f"/api/v1/incidents/{incident['id']}/registration"
    one = [member["complaint_id"]]
    for bad in ({**REGISTRATION, "representatives": one},
                {**REGISTRATION, "representatives": one * 4},
                {**REGISTRATION, "emotional_state": "furious", "representatives": one * 2},
                {**REGISTRATION, "place": " ", "representatives": one * 2},
                {**REGISTRATION, "names": ["x"], "representatives": one * 2}):
        await _post(system, path, bad, status=422)
    await _post(system, path, {**REGISTRATION, "representatives": one * 2}, status=409)
    await _post(system, path, {**REGISTRATION, "representatives": [
        member["complaint_id"], "f" * 32]}, status=404)
    await _post(system, "/api/v1/incidents/nope/registration",
                {**REGISTRATION, "representatives": [member["complaint_id"], "f" * 32]},
                status=404)
    assert (await system.client.get(f"/api/v1/incidents/{incident['id']}")).json()[
        "registration"] is None


async def test_a_work_group_is_assigned_and_a_closed_group_takes_none(system: System) -> None:
    triage = Triage(system)
    incident, _ = await _group(triage)
    path = f"/api/v1/incidents/{incident['id']}/work-group"
    shown = await _post(system, path, {
        "leader": "zhang.zong", "deputy": "li.jingli",
        "on_site": {"lead": "wang.anbao", "members": ["zhao", "qian"]},
        "negotiation": {"lead": "sun.kefu"}})
    group = shown["work_group"]["body"]
    assert group["leader"] == "zhang.zong"
    assert group["on_site"] == {"lead": "wang.anbao", "members": ["zhao", "qian"]}
    assert group["negotiation"] == {"lead": "sun.kefu", "members": []}
    assert "logistics" not in group
    [update] = [u for u in await _incident_updates(triage, incident["id"])
                if u["action"] == "work_group_assigned"]
    assert update["record_version"] == 1
    for bad in ({"leader": " "}, {"leader": "x", "press": {"lead": "y"}},
                {"leader": "x", "on_site": {"members": ["y"]}}):
        await _post(system, path, bad, status=422)
    await _post(system, "/api/v1/incidents/nope/work-group", {"leader": "x"}, status=404)
    hotline = await system.client.post(path, json={"leader": "x"},
                                       headers=system.as_key("hotline-a"))
    assert hotline.status_code == 403

    await _post(system, f"/api/v1/incidents/{incident['id']}/close", {"reason": "已处置"})
    await _post(system, path, {"leader": "x"}, status=409)
