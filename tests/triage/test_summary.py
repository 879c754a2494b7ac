"""The post-event summary of an incident (总结评估), in embedded mode through the gateway:
drafted from the record (members, head-count, clocks, the timeline) and from what notify's
events told triage (deliveries, an acknowledgement, an approved statement); edited in
versions; approved only by a leader and only once the incident is closed, which freezes
it; archived read-only; as PDF; and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shared.events.schemas import ComplaintTriaged, NotificationAcknowledged, NotificationSent
from tests.support import System, eventually, pdf_text
from tests.triage.test_incidents import WATER, Triage
from triage_svc import severity, summary
from triage_svc.models import NotificationSeen


@pytest.fixture(autouse=True)
def levels_from_the_rules_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(severity, "load_model", lambda *_args: None)


async def _leader(system: System) -> dict[str, str]:
    made = await system.client.post("/api/v1/admin/keys", json={
        "name": "leader", "owner": "leader-wang",
        "scopes": ["cases:read", "cases:write", "statements:approve"]})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


async def _group(system: System) -> str:
    triage = Triage(system)
    for person, text in enumerate(WATER[:5]):
        await triage.file(text, person)
    [group] = await triage.incidents(kind="group")
    return str(group["id"])


async def _summary(system: System, incident_id: str) -> dict[str, Any]:
    answer = await system.client.get(f"/api/v1/incidents/{incident_id}/summary")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_drafted_edited_approved_archived(system: System, tmp_path: Path) -> None:
    incident_id = await _group(system)
    leader, ops = await _leader(system), system.as_key("operator")
    drafted = await system.client.post("/api/v1/statements", json={
        "title": "关于阳光小区水质的说明", "text": "已安排检测，今日内恢复正常供水。",
        "incident_id": incident_id})
    assert drafted.status_code == 201, drafted.text
    approved = await system.client.post(f"/api/v1/statements/{drafted.json()['id']}/approve",
                                        headers=leader)
    assert approved.status_code == 200, approved.text
    [first, *_] = (await system.client.get("/api/v1/notifications", params={
        "incident_id": incident_id})).json()["items"]
    acked = await system.client.post(f"/api/v1/notifications/{first['id']}/ack", headers=ops)
    assert acked.status_code == 200, acked.text

    async def told() -> dict[str, Any] | None:
        found = await _summary(system, incident_id)
        return found if found["statements"] and found["notifications"]["acknowledged"] else None

    draft = await eventually(told, "triage learns of the statement and the acknowledgement")
    assert (draft["status"], draft["version"], draft["lessons"]) == ("draft", 0, "")
    assert draft["counts"]["complaints"] == 5 and draft["counts"]["people"] == 5
    assert draft["counts"]["by_level"] == {"2": 5}
    assert draft["notifications"]["sent"] >= 1 and draft["notifications"]["acknowledged"] == 1
    [statement] = draft["statements"]
    assert statement["title"] == "关于阳光小区水质的说明"
    assert statement["approved_by"] == "leader-wang"
    assert set(draft["clocks"]["clocks"]) == {"acknowledge", "first_contact", "report",
                                              "resolve"}
    actions = [(e["source"], e["action"]) for e in draft["timeline"]]
    # The member cases came first; the group opened with the fifth.
    assert actions[0] == ("case", "triaged") and ("incident", "opened") in actions
    assert ("case", "level_raised") in actions and ("statement", "approved") in actions
    assert ("incident", "complaint_joined") in actions
    assert [e["at"] for e in draft["timeline"]] == sorted(e["at"] for e in draft["timeline"])
    assert draft["rectifications"] == {"items": [], "open": 0, "overdue": 0, "verified": 0}
    fix = await system.client.post(
        f"/api/v1/incidents/{incident_id}/rectifications", headers=ops,
        json={"action": "水箱清洗纳入月度巡检", "owner": "wang",
              "due_at": "2099-01-01T10:00:00+08:00"})
    assert fix.status_code == 201, fix.text
    listed = (await _summary(system, incident_id))["rectifications"]
    assert [r["action"] for r in listed["items"]] == ["水箱清洗纳入月度巡检"]
    assert (listed["open"], listed["verified"]) == (1, 0)

    path = f"/api/v1/incidents/{incident_id}/summary"
    edited = await system.client.put(path, headers=ops, json={
        "assessment": "处置及时，未造成扩散。", "lessons": "水箱清洗应纳入月度巡检。",
        "version": 0})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["edited_by"]) == (1, "ops")
    stale = await system.client.put(path, headers=ops, json={"lessons": "x", "version": 0})
    assert stale.status_code == 409 and "version 1" in stale.json()["detail"]

    refused = await system.client.post(f"{path}/approve", headers=ops)
    assert refused.status_code == 403 and "statements:approve" in refused.json()["detail"]
    still_open = await system.client.post(f"{path}/approve", headers=leader)
    assert still_open.status_code == 409 and "still open" in still_open.json()["detail"]
    early = await system.client.post(f"{path}/archive", headers=ops)
    assert early.status_code == 409 and "only an approved one" in early.json()["detail"]

    closed = await system.client.post(f"/api/v1/incidents/{incident_id}/close", headers=ops,
                                      json={"reason": "已更换水管，水质检测合格"})
    assert closed.status_code == 200, closed.text
    signed = await system.client.post(f"{path}/approve", headers=leader)
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["status"], body["approved_by"]) == ("approved", "leader-wang")
    assert body["timeline"][-1]["action"] == "closed"
    frozen_at = body["drafted_at"]
    assert (await _summary(system, incident_id))["drafted_at"] == frozen_at  # frozen
    again = await system.client.post(f"{path}/approve", headers=leader)
    assert again.status_code == 409
    late_edit = await system.client.put(path, headers=ops, json={"lessons": "x"})
    assert late_edit.status_code == 409 and "only a draft" in late_edit.json()["detail"]

    archived = await system.client.post(f"{path}/archive", headers=ops)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert (await system.client.post(f"{path}/archive", headers=ops)).status_code == 409

    printed = await system.client.get(path, params={"format": "pdf"})
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
    text = pdf_text(printed.content, tmp_path)
    for words in ("事件总结评估报告", "已归档", "水箱清洗应纳入月度巡检", "今日内恢复正常供水",
                  "整改措施", "leader-wang", "时间线"):
        assert words in text, words


async def test_bad_input_is_refused(system: System) -> None:
    missing = await system.client.get("/api/v1/incidents/nope/summary")
    assert missing.status_code == 404 and "no incident nope" in missing.json()["detail"]
    for method, suffix in (("PUT", ""), ("POST", "/approve"), ("POST", "/archive")):
        answer = await system.client.request(method, f"/api/v1/incidents/nope/summary{suffix}",
                                             json={})
        assert answer.status_code == 404, (method, suffix)
    incident_id = await _group(system)
    path = f"/api/v1/incidents/{incident_id}/summary"
    unknown = await system.client.put(path, json={"lesson": "typo"})
    assert unknown.status_code == 422 and "lesson" in unknown.text
    negative = await system.client.put(path, json={"version": -1})
    assert negative.status_code == 422
    bad_format = await system.client.get(path, params={"format": "docx"})
    assert bad_format.status_code == 422
    hotline = await system.client.get(path, headers=system.as_key("hotline-a"))
    assert hotline.status_code == 403


async def test_a_batch_of_sent_notifications_is_recorded_as_one_by_one(system: System) -> None:
    """One upsert for a batch: a delivery acknowledged first keeps its ids and gains its
    channel and time; a delivery sent twice in the batch keeps the latest."""
    runtime = system.embedded.services["triage"].state.runtime
    at = datetime.now(UTC).replace(microsecond=0)
    later = at + timedelta(seconds=5)
    async with runtime.unit() as unit:
        await summary.record_acknowledged(unit, NotificationAcknowledged(
            delivery_id="d1", cause_event_id="e1", cause_type=ComplaintTriaged.topic,
            complaint_id="c1", recipient="ga", acknowledged_at=later))
    async with runtime.unit() as unit:
        await summary.record_sent_many(unit, [
            NotificationSent(delivery_id="d1", recipient="ga", channel="webhook", sent_at=at),
            NotificationSent(delivery_id="d2", complaint_id="c2", recipient="duty",
                             channel="log", sent_at=at),
            NotificationSent(delivery_id="d2", complaint_id="c2", recipient="duty",
                             channel="email", sent_at=later)])
    async with runtime.db.session() as session:
        rows = {r.delivery_id: r for r in (await session.scalars(select(NotificationSeen)))}
    assert set(rows) == {"d1", "d2"}
    assert (rows["d1"].complaint_id, rows["d1"].channel, rows["d1"].sent_at) == (
        "c1", "webhook", at)
    assert rows["d1"].acknowledged_at == later
    assert (rows["d2"].complaint_id, rows["d2"].channel, rows["d2"].sent_at) == (
        "c2", "email", later)
