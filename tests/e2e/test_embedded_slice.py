"""The thin slice through the whole system: gateway -> intake -> triage -> notify."""

from __future__ import annotations

from tests.support import System

SEVERE = {
    "channel": "hotline",
    "content": "你们的热水器爆炸了，我父亲受伤住院，我要找记者曝光",
    "complainant": {"name": "张三", "phone": "13812345678"},
    "target": {"department": "售后服务部", "product": "热水器"},
}


async def test_complaint_is_triaged_and_its_level_notified(system: System) -> None:
    accepted = await system.client.post("/api/v1/complaints", json=SEVERE)
    assert accepted.status_code == 202
    complaint_id = accepted.json()["id"]
    assert accepted.json()["status_url"] == f"/api/v1/complaints/{complaint_id}"

    await system.notified.applied(1)  # notify has handled complaint.triaged
    view = (await system.client.get(f"/api/v1/complaints/{complaint_id}")).json()
    assert view["status"] == "triaged"
    assert view["case"]["response_level"] == 1
    assert view["case"]["category"] == "safety"
    assert len(view["case"]["level_reasons"]) >= 2

    deliveries = (await system.client.get(
        "/api/v1/notifications", params={"complaint_id": complaint_id})).json()["items"]
    # Level 1's roles, and the safety officer for a safety complaint ([category]).
    assert {d["recipient"] for d in deliveries} == {"leadership", "general-affairs", "duty-room",
                                                    "safety"}
    assert {(d["channel"], d["status"]) for d in deliveries} == {("log", "sent")}


async def test_ordinary_complaint_reaches_only_the_case_owner(system: System) -> None:
    accepted = await system.client.post(
        "/api/v1/complaints", json={"channel": "web", "content": "营业厅排队时间太长"})
    await system.notified.applied(1)
    deliveries = (await system.client.get(
        "/api/v1/notifications", params={"complaint_id": accepted.json()["id"]})).json()["items"]
    assert [d["recipient"] for d in deliveries] == ["case-owner"]

