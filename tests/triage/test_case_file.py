"""The case file through the gateway: the handling plan (versions, its deadline escalating
like any clock), investigation, opinion, transfer (首问责任制, clocks run on), closing only
with the record complete, and archive (read-only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from shared.events import EventPayload
from shared.events.schemas import CaseEscalated, CaseUpdated
from shared.runtime import ServiceRuntime
from tests.support import System, file_case
from triage_svc import escalation
from triage_svc.models import Case, Escalation
from triage_svc.rules import Rules

LEVEL_4 = "发票开错了，需要重新开具"
SECOND = timedelta(seconds=1)


def _triage(system: System) -> tuple[ServiceRuntime, Rules]:
    app = system.embedded.services["triage"]
    return app.state.runtime, app.state.rules


async def _file(system: System, content: str = LEVEL_4, **extra: Any) -> str:
    return await file_case(system, content, **extra)


async def _post(system: System, case_id: str, action: str, body: dict[str, Any],
                status: int = 200, key: str = "operator") -> dict[str, Any]:
    answer = await system.client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                                      headers=system.as_key(key))
    assert answer.status_code == status, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _case(system: System, case_id: str) -> dict[str, Any]:
    answer = await system.client.get(f"/api/v1/cases/{case_id}")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


async def _updates(runtime: ServiceRuntime, case_id: str,
                   event: type[EventPayload] = CaseUpdated) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        rows = (await session.execute(select(runtime.outbox.c.envelope).where(
            runtime.outbox.c.topic == event.topic))).scalars().all()
    found = [json.loads(row)["data"] for row in rows]
    return [d for d in found if d["case_id"] == case_id]


def _due(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def test_a_plan_is_versioned_and_its_missed_deadline_escalates(system: System) -> None:
    runtime, rules = _triage(system)
    case_id = await _file(system)
    first = await _post(system, case_id, "plan", {
        "method": "核对开票信息后重开发票", "owner": "wang.fang", "due_at": _due(2)})
    assert first["plan_due_at"] is not None
    second_due = datetime.now(UTC) + timedelta(hours=3)  # before level 4's 4 h clock
    second = await _post(system, case_id, "plan", {
        "method": "财务部重开并快递寄送", "owner": "zhao.lei", "due_at": second_due.isoformat()})
    assert datetime.fromisoformat(second["plan_due_at"]) == second_due
    case = await _case(system, case_id)
    plans = [r for r in case["records"] if r["kind"] == "plan"]
    assert [(p["version"], p["body"]["owner"]) for p in plans] == [
        (1, "wang.fang"), (2, "zhao.lei")]
    assert [t["detail"]["version"] for t in case["timeline"] if t["action"] == "planned"] == [
        1, 2]
    [timer] = [e for e in case["escalations"] if e["clock"] == "plan"]
    assert (timer["step"], timer["role"], timer["status"]) == (1, "general_affairs", "pending")
    assert datetime.fromisoformat(timer["due_at"]) == second_due  # moved, not duplicated

    assert await escalation.check(runtime, rules, now=second_due - SECOND) == 0
    assert await escalation.check(runtime, rules, now=second_due + SECOND) == 1
    after = await _case(system, case_id)
    [fired] = [e for e in after["escalations"] if e["clock"] == "plan"]
    assert fired["status"] == "fired"
    [entry] = [t for t in after["timeline"] if t["action"] == "escalated"]
    assert (entry["detail"]["clock"], entry["detail"]["role"]) == ("plan", "general_affairs")
    [event] = await _updates(runtime, case_id, CaseEscalated)
    assert (event["clock"], event["step_role"]) == ("plan", "general_affairs")
    updates = [u for u in await _updates(runtime, case_id) if u["action"] == "planned"]
    assert [u["plan_due_at"] is not None for u in updates] == [True, True]
    async with runtime.db.session() as session:
        row = await session.get(Case, case_id)
        assert row is not None
        assert escalation.is_overdue(row, second_due + SECOND)  # the plan's clock counts
        assert not escalation.is_overdue(row, second_due - SECOND)

    # A new plan after the missed one goes one step higher.
    replanned = await _post(system, case_id, "plan", {
        "method": "领导督办", "owner": "zhao.lei", "due_at": _due(8)})
    assert replanned["escalation_step"] == 1
    async with runtime.db.session() as session:
        timers = (await session.scalars(select(Escalation).where(
            Escalation.case_id == case_id, Escalation.clock == "plan")
            .order_by(Escalation.step))).all()
    assert [(t.step, t.status) for t in timers] == [(1, "fired"), (2, "pending")]


async def test_an_answered_case_cancels_its_plan_timer(system: System) -> None:
    runtime, rules = _triage(system)
    case_id = await _file(system)
    due = datetime.now(UTC) + timedelta(hours=1)
    await _post(system, case_id, "plan", {"method": "电话解释", "owner": "li",
                                          "due_at": due.isoformat()})
    await _post(system, case_id, "acknowledge", {})
    await _post(system, case_id, "answer", {"text": "已重开发票"})
    assert await escalation.check(runtime, rules, now=due + SECOND) == 0
    case = await _case(system, case_id)
    assert [e["status"] for e in case["escalations"] if e["clock"] == "plan"] == ["cancelled"]


async def test_bad_plans_are_refused(system: System) -> None:
    case_id = await _file(system)
    good = {"method": "重开发票", "owner": "li", "due_at": _due(1)}
    await _post(system, case_id, "plan", {**good, "due_at": _due(-1)}, status=409)  # past
    for bad in ({**good, "due_at": "2030-01-01T10:00:00"},  # no time zone
                {**good, "owner": " "}, {"method": "x", "due_at": _due(1)},
                {**good, "extra": 1}):
        await _post(system, case_id, "plan", bad, status=422)
    await _post(system, "nope", "plan", good, status=404)
    hotline = await system.client.post(f"/api/v1/cases/{case_id}/plan", json=good,
                                       headers=system.as_key("hotline-a"))
    assert hotline.status_code == 403
    assert (await _case(system, case_id))["plan_due_at"] is None


async def test_investigation_and_opinion_are_recorded(system: System) -> None:
    runtime, _ = _triage(system)
    case_id = await _file(system)
    await _post(system, case_id, "investigation", {
        "findings": "开票员录错了税号", "root_cause": "开票系统未校验税号",
        "evidence": [{"name": "开票记录", "url": "https://files.example.com/inv/1.pdf"},
                     {"name": "通话录音", "url": "http://rec.example.com/a.mp3"}]})
    await _post(system, case_id, "opinion", {"text": "重开发票并致歉，系统增加税号校验"})
    case = await _case(system, case_id)
    [found] = [r for r in case["records"] if r["kind"] == "investigation"]
    assert found["body"]["root_cause"] == "开票系统未校验税号"
    assert [e["url"] for e in found["body"]["evidence"]][1] == "http://rec.example.com/a.mp3"
    assert found["author"] == "ops"
    [opinion] = [r for r in case["records"] if r["kind"] == "opinion"]
    assert opinion["body"]["text"].startswith("重开发票")
    actions = [t["action"] for t in case["timeline"]]
    assert actions[-2:] == ["investigated", "opinion_given"]
    assert [u["action"] for u in await _updates(runtime, case_id)] == [
        "investigated", "opinion_given"]
    assert "investigation" not in case["missing"] and "opinion" not in case["missing"]

    good = {"findings": "f", "root_cause": "r", "evidence": []}
    for bad in ({**good, "evidence": [{"name": "x", "url": "javascript:alert(1)"}]},
                {**good, "evidence": [{"name": "x", "url": "ftp://files/a"}]},
                {**good, "evidence": [{"name": "x", "url": "https://a b"}]},
                {**good, "evidence": [{"name": " ", "url": "https://a"}]},
                {**good, "evidence": [{"name": "x", "url": "https://a", "size": 3}]},
                {**good, "findings": " "}, {"findings": "f"}):
        await _post(system, case_id, "investigation", bad, status=422)
    await _post(system, case_id, "opinion", {"text": " "}, status=422)
    await _post(system, case_id, "opinion", {}, status=422)
    case = await _case(system, case_id)
    assert len([r for r in case["records"] if r["kind"] == "investigation"]) == 1


async def test_the_first_to_acknowledge_owns_the_case_until_a_transfer(
        system: System) -> None:
    runtime, _ = _triage(system)
    case_id = await _file(system)
    before = await _case(system, case_id)
    assert before["owner"] is None
    acknowledged = await _post(system, case_id, "acknowledge", {})
    assert acknowledged["owner"] == "ops"
    moved = await _post(system, case_id, "transfer", {
        "to_department": "财务部", "to_owner": "qian.hua", "reason": "开票属财务部职责"})
    assert (moved["owner"], moved["department"]) == ("qian.hua", "财务部")
    assert moved["deadlines"] == before["deadlines"]  # the clocks run on
    after = await _case(system, case_id)
    assert [(e["step"], e["status"]) for e in after["escalations"]] == [
        (e["step"], e["status"]) for e in before["escalations"]]
    [entry] = [t for t in after["timeline"] if t["action"] == "transferred"]
    assert entry["reason"] == "开票属财务部职责"
    assert entry["detail"]["from_owner"] == "ops"
    [update] = [u for u in await _updates(runtime, case_id) if u["action"] == "transferred"]
    assert (update["to_department"], update["owner"]) == ("财务部", "qian.hua")

    unowned = await _post(system, case_id, "transfer", {
        "to_department": "法务部", "reason": "涉及合同纠纷"})
    assert unowned["owner"] is None
    for bad in ({"to_department": "财务部"}, {"to_department": " ", "reason": "r"},
                {"to_department": "x", "reason": "r", "to_owner": ""},
                {"to_department": "x", "reason": "r", "cc": "y"}):
        await _post(system, case_id, "transfer", bad, status=422)


async def _answered(system: System) -> str:
    case_id = await _file(system)
    await _post(system, case_id, "acknowledge", {})
    await _post(system, case_id, "answer", {"text": "已为您重开发票"})
    return case_id


async def test_closing_needs_the_record_and_names_what_is_missing(system: System) -> None:
    case_id = await _answered(system)
    refused = await _post(system, case_id, "state", {"state": "closed"}, status=409)
    assert "missing: investigation, opinion, follow_up" in refused["detail"]
    await _post(system, case_id, "investigation", {"findings": "税号录错",
                                                   "root_cause": "未校验"})
    await _post(system, case_id, "opinion", {"text": "重开"})
    refused = await _post(system, case_id, "state", {"state": "closed"}, status=409)
    assert refused["detail"].split("missing: ")[1].startswith("follow_up")
    assert (await _case(system, case_id))["missing"] == ["follow_up"]
    await _post(system, case_id, "follow-up-impossible", {"reason": " "}, status=422)
    await _post(system, case_id, "follow-up-impossible",
                {"reason": "投诉人电话停机，三次未联系上"})
    closed = await _post(system, case_id, "state", {"state": "closed"})
    assert closed["state"] == "closed"

    # A follow-up call counts as much; a follow-up-impossible before an answer is refused.
    other = await _file(system)
    await _post(system, other, "follow-up-impossible", {"reason": "r"}, status=409)
    await _post(system, other, "acknowledge", {})
    await _post(system, other, "investigation", {"findings": "f", "root_cause": "r"})
    await _post(system, other, "opinion", {"text": "o"})
    await _post(system, other, "answer", {"text": "a"})
    await _post(system, other, "follow-up", {"satisfaction": 4})
    assert (await _post(system, other, "state", {"state": "closed"}))["state"] == "closed"


async def _closed(system: System) -> str:
    case_id = await _answered(system)
    await _post(system, case_id, "investigation", {"findings": "f", "root_cause": "r"})
    await _post(system, case_id, "opinion", {"text": "o"})
    await _post(system, case_id, "follow-up", {"satisfaction": 5})
    await _post(system, case_id, "state", {"state": "closed"})
    return case_id


async def test_an_archived_case_is_read_only(system: System) -> None:
    runtime, _ = _triage(system)
    open_case = await _answered(system)
    refused = await _post(system, open_case, "archive", {}, status=409)
    assert "only a closed case" in refused["detail"]
    case_id = await _closed(system)
    archived = await _post(system, case_id, "archive", {})
    assert archived["archived_at"] is not None
    writes: dict[str, dict[str, Any]] = {
        "acknowledge": {}, "assign": {"assignee": "li"},
        "level": {"response_level": 1, "reason": "r"}, "state": {"state": "reopened"},
        "answer": {"text": "t"}, "follow-up": {"satisfaction": 3}, "appeal": {"reason": "r"},
        "plan": {"method": "m", "owner": "o", "due_at": _due(1)},
        "investigation": {"findings": "f", "root_cause": "r"}, "opinion": {"text": "o"},
        "transfer": {"to_department": "d", "reason": "r"},
        "follow-up-impossible": {"reason": "r"}, "archive": {},
    }
    for action, body in writes.items():
        answer = await _post(system, case_id, action, body, status=409)
        assert "archived" in answer["detail"], action
    case = await _case(system, case_id)
    assert case["state"] == "closed" and case["timeline"][-1]["action"] == "archived"
    assert [u["action"] for u in await _updates(runtime, case_id)][-1] == "archived"
    assert (await _updates(runtime, case_id))[-1]["archived"] is True
