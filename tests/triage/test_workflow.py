"""Operator actions through the gateway: the workflow's moves, 409 naming what is allowed,
a reason for every level change and appeal, and a timeline of who did what, when and why."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.events.schemas import CaseUpdated
from tests.support import System
from triage_svc.workflow import MOVES, InvalidMove, check_move


def test_every_state_can_eventually_close_and_closed_only_reopens() -> None:
    assert MOVES["closed"] == {"reopened"}
    for state in MOVES:
        seen, frontier = {state}, [state]
        while frontier:
            for nxt in MOVES[frontier.pop()] - seen:
                seen.add(nxt)
                frontier.append(nxt)
        assert "closed" in seen or state == "closed", state
    try:
        check_move("triaged", "closed")
    except InvalidMove as exc:
        assert exc.allowed == ["acknowledged", "investigating"]
    else:
        raise AssertionError("triaged -> closed must be refused")


async def _case(system: System) -> str:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "宽带断网三天无法使用，我很愤怒"})
    await system.notified.applied(1)
    view = (await system.client.get(f"/api/v1/complaints/{posted.json()['id']}")).json()
    case_id: str = view["case"]["id"]
    return case_id


async def test_the_lifecycle_with_a_timeline_and_events(system: System) -> None:
    case_id = await _case(system)
    ops = system.as_key("operator")

    async def act(action: str, body: dict[str, object]) -> dict[str, object]:
        answer = await system.client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                                          headers=ops)
        assert answer.status_code == 200, answer.text
        result: dict[str, object] = answer.json()
        return result

    assert (await act("acknowledge", {"note": "值班员已接"}))["state"] == "acknowledged"
    assert (await act("assign", {"assignee": "li.wei", "department": "网络部"}))[
        "assignee"] == "li.wei"
    refused = await system.client.post(f"/api/v1/cases/{case_id}/state",
                                       json={"state": "closed"}, headers=ops)
    assert refused.status_code == 409
    assert "allowed: investigating, responded" in refused.json()["detail"]
    assert (await act("answer", {"text": "已于今日修复，赠送一个月费用"}))["state"] == "responded"
    assert (await act("follow-up", {"satisfaction": 2, "note": "仍不满意"}))[
        "satisfaction"] == 2
    assert (await act("appeal", {"reason": "补偿不足"}))["state"] == "reopened"

    case = (await system.client.get(f"/api/v1/cases/{case_id}", headers=ops)).json()
    actions = [(t["action"], t["actor"]) for t in case["timeline"]]
    assert actions == [("triaged", "triage"), ("acknowledged", "ops"), ("assigned", "ops"),
                       ("answered", "ops"), ("followed_up", "ops"), ("appealed", "ops")]
    assert case["timeline"][-1]["reason"] == "补偿不足"
    view = (await system.client.get(f"/api/v1/complaints/{case['complaint_id']}")).json()
    assert view["status"] == "reopened"

    triage = system.embedded.services["triage"].state.runtime
    async with triage.db.session() as session:
        updates = await session.scalar(select(func.count()).select_from(triage.outbox).where(
            triage.outbox.c.topic == CaseUpdated.topic))
    assert updates == 5


async def test_level_changes_need_a_reason_and_recompute_the_clocks(system: System) -> None:
    case_id = await _case(system)
    ops = system.as_key("operator")
    before = (await system.client.get(f"/api/v1/cases/{case_id}", headers=ops)).json()
    no_reason = await system.client.post(f"/api/v1/cases/{case_id}/level", headers=ops,
                                         json={"response_level": 4, "reason": " "})
    assert no_reason.status_code == 422
    lowered = await system.client.post(f"/api/v1/cases/{case_id}/level", headers=ops, json={
        "response_level": 4, "reason": "核实后为个别用户故障，非大面积断网"})
    assert lowered.status_code == 200
    after = lowered.json()
    assert (before["response_level"], after["response_level"]) == (3, 4)
    assert after["deadlines"]["acknowledge_by"] > before["deadlines"]["acknowledge_by"]
    unknown = await system.client.post("/api/v1/cases/nope/acknowledge", headers=ops, json={})
    assert unknown.status_code == 404
    hotline = await system.client.post(f"/api/v1/cases/{case_id}/acknowledge", json={},
                                       headers=system.as_key("hotline-a"))
    assert hotline.status_code == 403


async def test_a_refused_action_changes_nothing(system: System) -> None:
    """The follow-up sets the satisfaction before the workflow refuses the move: the
    request's unit rolls it back, with no timeline entry and no event."""
    case_id = await _case(system)
    ops = system.as_key("operator")
    triage = system.embedded.services["triage"].state.runtime

    async def updates() -> int:
        async with triage.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(
                triage.outbox).where(triage.outbox.c.topic == CaseUpdated.topic)) or 0)

    before = await updates()
    refused = await system.client.post(f"/api/v1/cases/{case_id}/follow-up", headers=ops,
                                       json={"satisfaction": 1, "note": "未回复"})
    assert refused.status_code == 409
    assert "allowed: acknowledged, investigating" in refused.json()["detail"]
    case = (await system.client.get(f"/api/v1/cases/{case_id}", headers=ops)).json()
    assert case["satisfaction"] is None and case["state"] == "triaged"
    assert [t["action"] for t in case["timeline"]] == ["triaged"]
    assert await updates() == before
