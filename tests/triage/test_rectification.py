"""Rectification (整改措施) of a case or an incident: added, listed, verified once, on the
timeline and in case.updated; an archive waits for every one to be verified; one past its
deadline is reminded exactly once and notify delivers it to the owner and general affairs.
Accountability (追责问责): recorded by the leadership only, on the timeline without its
content, in the dossier for the leadership only."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shared.events import EventPayload
from shared.events.schemas import CaseUpdated, RectificationOverdue
from shared.runtime import ServiceRuntime
from tests.support import System, eventually, file_case, pdf_text
from triage_svc import rectification
from triage_svc.models import Incident

LEVEL_4 = "营业厅排队叫号系统故障，等了两个小时"


def _triage(system: System) -> ServiceRuntime:
    runtime: ServiceRuntime = system.embedded.services["triage"].state.runtime
    return runtime


async def _post(system: System, path: str, body: dict[str, Any], status: int,
                key: str = "operator") -> dict[str, Any]:
    answer = await system.client.post(path, json=body, headers=system.as_key(key))
    assert answer.status_code == status, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def _get(system: System, path: str, key: str = "operator") -> Any:
    answer = await system.client.get(path, headers=system.as_key(key))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _published(runtime: ServiceRuntime, event: type[EventPayload]) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        rows = (await session.execute(select(runtime.outbox.c.envelope).where(
            runtime.outbox.c.topic == event.topic))).scalars().all()
    return [json.loads(row)["data"] for row in rows]


def _due(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def _closed(system: System) -> str:
    case_id = await file_case(system, LEVEL_4)
    for action, body in (("acknowledge", {}), ("investigation", {
            "findings": "叫号机主板损坏", "root_cause": "未做定期巡检"}),
            ("opinion", {"text": "更换主板并建立巡检"}), ("answer", {"text": "已修复"}),
            ("follow-up", {"satisfaction": 4}), ("state", {"state": "closed"})):
        await _post(system, f"/api/v1/cases/{case_id}/{action}", body, 200)
    return case_id


async def test_a_rectification_is_added_verified_once_and_holds_the_archive(
        system: System) -> None:
    case_id = await _closed(system)
    base = f"/api/v1/cases/{case_id}/rectifications"
    made = await _post(system, base, {"action": "建立叫号机月度巡检制度",
                                      "owner": "case-owner", "due_at": _due(48)}, 201)
    assert (made["status"], made["owner"], made["case_id"]) == ("open", "case-owner", case_id)
    assert [r["id"] for r in await _get(system, base)] == [made["id"]]
    refused = await _post(system, f"/api/v1/cases/{case_id}/archive", {}, 409)
    assert made["id"] in refused["detail"] and "not verified" in refused["detail"]

    verified = await _post(system, f"{base}/{made['id']}/verify",
                           {"note": "抽查三个营业厅，巡检记录齐全"}, 200)
    assert (verified["status"], verified["verified_by"]) == ("verified", "ops")
    again = await _post(system, f"{base}/{made['id']}/verify", {"note": "again"}, 409)
    assert "verified already" in again["detail"]
    case = await _get(system, f"/api/v1/cases/{case_id}")
    assert [r["status"] for r in case["rectifications"]] == ["verified"]
    actions = [t["action"] for t in case["timeline"]]
    assert actions[-2:] == ["rectification_added", "rectification_verified"]
    updates = [u["action"] for u in await _published(_triage(system), CaseUpdated)
               if u["case_id"] == case_id]
    assert updates[-2:] == ["rectification_added", "rectification_verified"]
    await _post(system, f"/api/v1/cases/{case_id}/archive", {}, 200)
    # Archived: read-only for rectifications too.
    await _post(system, base, {"action": "a", "owner": "o", "due_at": _due(1)}, 409)


async def test_bad_rectifications_are_refused(system: System) -> None:
    case_id = await file_case(system, LEVEL_4)
    base = f"/api/v1/cases/{case_id}/rectifications"
    past = await _post(system, base, {"action": "a", "owner": "o", "due_at": _due(-1)}, 409)
    assert "future" in past["detail"]
    for bad in ({"action": " ", "owner": "o", "due_at": _due(1)},
                {"action": "a", "owner": "o"},
                {"action": "a", "owner": "o", "due_at": "2099-01-01T10:00:00"},  # no zone
                {"action": "a", "owner": "o", "due_at": _due(1), "extra": 1}):
        await _post(system, base, bad, 422)
    await _post(system, f"/api/v1/cases/{'0' * 32}/rectifications",
                {"action": "a", "owner": "o", "due_at": _due(1)}, 404)
    await _post(system, f"{base}/{'0' * 32}/verify", {"note": "n"}, 404)
    made = await _post(system, base, {"action": "a", "owner": "o", "due_at": _due(1)}, 201)
    await _post(system, f"{base}/{made['id']}/verify", {"note": ""}, 422)
    # Another case's rectification is not this case's.
    other = await file_case(system, LEVEL_4)
    await _post(system, f"/api/v1/cases/{other}/rectifications/{made['id']}/verify",
                {"note": "n"}, 404)
    assert (await system.client.get(f"/api/v1/cases/{'0' * 32}/rectifications")
            ).status_code == 404


async def test_an_incident_has_rectifications_of_its_own(system: System) -> None:
    runtime = _triage(system)
    incident_id = uuid.uuid4().hex
    async with runtime.unit() as unit:
        now = datetime.now(UTC)
        unit.session.add(Incident(id=incident_id, kind="group", response_level=2,
                                  state="open", opened_at=now, updated_at=now,
                                  summary="小区停水", key="物业|", people_count=40))
    base = f"/api/v1/incidents/{incident_id}/rectifications"
    made = await _post(system, base, {"action": "更换老化供水管", "owner": "dept-head",
                                      "due_at": _due(24)}, 201)
    assert made["incident_id"] == incident_id and made["case_id"] is None
    assert [r["id"] for r in await _get(system, base)] == [made["id"]]
    await _post(system, f"{base}/{made['id']}/verify", {"note": "已验收"}, 200)
    await _post(system, f"{base}/{made['id']}/verify", {"note": "已验收"}, 409)
    await _post(system, f"/api/v1/incidents/{'0' * 32}/rectifications",
                {"action": "a", "owner": "o", "due_at": _due(1)}, 404)
    await _post(system, base, {"action": "a", "owner": "o", "due_at": _due(-1)}, 409)


async def test_an_overdue_rectification_is_reminded_once_to_owner_and_general_affairs(
        system: System) -> None:
    runtime = _triage(system)
    case_id = await file_case(system, LEVEL_4)
    made = await _post(system, f"/api/v1/cases/{case_id}/rectifications", {
        "action": "更换叫号机主板", "owner": "case-owner", "due_at": _due(2)}, 201)
    later = datetime.now(UTC) + timedelta(hours=3)
    assert await rectification.remind_overdue(runtime, later) == 1
    assert await rectification.remind_overdue(runtime, later + timedelta(hours=1)) == 0
    [event] = await _published(runtime, RectificationOverdue)
    assert (event["rectification_id"], event["owner"], event["case_id"]) == (
        made["id"], "case-owner", case_id)
    case = await _get(system, f"/api/v1/cases/{case_id}")
    [reminded] = case["rectifications"]
    assert reminded["status"] == "overdue" and reminded["reminded_at"] is not None
    assert case["timeline"][-1]["action"] == "rectification_overdue"

    async def delivered() -> set[str] | None:
        items = (await system.client.get("/api/v1/notifications", params={
            "case_id": case_id, "limit": 200})).json()["items"]
        found = {i["recipient"] for i in items if i["event_type"] == RectificationOverdue.topic}
        return found or None

    assert await eventually(delivered, "the reminder's deliveries") == {
        "case-owner", "general-affairs"}
    # A verified one is never reminded.
    other = await _post(system, f"/api/v1/cases/{case_id}/rectifications", {
        "action": "a", "owner": "o", "due_at": _due(1)}, 201)
    await _post(system, f"/api/v1/cases/{case_id}/rectifications/{other['id']}/verify",
                {"note": "done"}, 200)
    assert await rectification.remind_overdue(runtime, later + timedelta(hours=5)) == 0


async def test_accountability_is_for_the_leadership_and_in_their_dossier(
        system: System, tmp_path: Path) -> None:
    case_id = await _closed(system)
    base = f"/api/v1/cases/{case_id}/accountability"
    record = {"department": "营业厅", "person": "张经理", "finding": "未按规定巡检设备",
              "measure": "通报批评，扣减当月绩效"}
    await _post(system, base, record, 403)  # an operator: cases:write is not enough
    assert (await system.client.get(base, headers=system.as_key("operator"))).status_code == 403
    made = await _post(system, base, record, 201, key="leader")
    assert {k: made[k] for k in record} == record and made["recorded_by"] == "lead"
    assert [a["id"] for a in await _get(system, base, key="leader")] == [made["id"]]
    for bad in ({**record, "finding": " "}, {"department": "d", "finding": "f"},
                {**record, "person": ""}):
        await _post(system, base, bad, 422, key="leader")
    await _post(system, f"/api/v1/cases/{'0' * 32}/accountability", record, 404, key="leader")

    # The timeline (every operator's) says a record was made, never what it says.
    case = await _get(system, f"/api/v1/cases/{case_id}")
    entry = case["timeline"][-1]
    assert entry["action"] == "accountability_recorded" and entry["actor"] == "lead"
    assert "未按规定巡检设备" not in json.dumps(case, ensure_ascii=False)

    leader = await _get(system, f"/api/v1/cases/{case_id}/dossier", key="leader")
    assert [a["finding"] for a in leader["accountability"]] == ["未按规定巡检设备"]
    operator = await _get(system, f"/api/v1/cases/{case_id}/dossier")
    assert operator["accountability"] is None
    pdf = await system.client.get(f"/api/v1/cases/{case_id}/dossier?format=pdf",
                                  headers=system.as_key("leader"))
    text = pdf_text(pdf.content, tmp_path)
    assert "追责问责" in text and "扣减当月绩效" in text and "整改措施" in text
    pdf = await system.client.get(f"/api/v1/cases/{case_id}/dossier?format=pdf",
                                  headers=system.as_key("operator"))
    assert "扣减当月绩效" not in pdf_text(pdf.content, tmp_path)
