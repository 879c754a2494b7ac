"""Media complaints (媒体投诉) through the gateway: a complainant who says they will go to the
media makes one before any coverage; its own clocks (0.5 h account manager, 1 h full account
with the 媒体投诉登记表, 4 h agreed solution, then 1 h company-level team) fire on the
escalation timers; an answer or a plan does their work; interviews (采访记录) are recorded
and make a case a media complaint. And a transfer out of the organisation's jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.events.schemas import CaseEscalated
from tests.support import System, pdf_text
from tests.triage.test_case_file import SECOND, _case, _file, _post, _triage, _updates
from triage_svc import escalation, severity

THREAT = "宽带断网三天了一直没人来修，再不修好我就找记者曝光"
ORDINARY = "发票开错了，需要重新开具"
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def levels_from_the_rules_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clocks asserted here are the level-3 rules' and the media ones'."""
    monkeypatch.setattr(severity, "load_model", lambda *_args: None)


def _media_timers(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["clock"]: e for e in case["escalations"] if e["clock"].startswith("media_")}


async def test_a_threat_to_go_to_the_media_is_a_media_complaint_with_its_clocks(
        system: System) -> None:
    runtime, rules = _triage(system)
    case_id = await _file(system, THREAT)
    case = await _case(system, case_id)
    assert case["media"] is True and case["response_level"] == 3
    since = datetime.fromisoformat(case["media_at"])
    timers = _media_timers(case)
    assert {clock: (t["step"], t["role"], t["status"]) for clock, t in timers.items()} == {
        "media_report": (0, "account_manager", "pending"),
        "media_account": (1, "general_affairs", "pending"),
        "media_solution": (1, "general_affairs", "pending")}
    assert datetime.fromisoformat(timers["media_report"]["due_at"]) == since + 30 * MINUTE
    assert datetime.fromisoformat(timers["media_account"]["due_at"]) == since + 60 * MINUTE

    # 0.5 h: the account manager (客户经理).
    assert await escalation.check(runtime, rules, now=since + 30 * MINUTE - SECOND) == 0
    assert await escalation.check(runtime, rules, now=since + 30 * MINUTE + SECOND) == 1
    # 1 h: general affairs gets the full account with the 媒体投诉登记表.
    fired_at = since + 60 * MINUTE + SECOND
    assert await escalation.check(runtime, rules, now=fired_at) == 1
    report, account = await _updates(runtime, case_id, CaseEscalated)
    assert (report["clock"], report["step_role"], report["media_form"]) == (
        "media_report", "account_manager", None)
    assert (account["clock"], account["step_role"]) == ("media_account", "general_affairs")
    form = account["media_form"]
    assert form["content"] == THREAT and form["channel"] == "hotline"
    assert form["state"] == "triaged" and form["interviews"] == []

    # 1 h after general affairs received it: the company-level team (公司级媒体投诉处理小组).
    after = _media_timers(await _case(system, case_id))
    team = after["media_company_team"]
    assert (team["step"], team["role"], team["status"]) == (2, "media_team", "pending")
    assert datetime.fromisoformat(team["due_at"]) == fired_at + 60 * MINUTE
    assert await escalation.check(runtime, rules, now=fired_at + 60 * MINUTE + SECOND) == 1
    escalated = await _case(system, case_id)
    assert escalated["escalation_step"] == 2
    assert [t["detail"]["clock"] for t in escalated["timeline"]
            if t["action"] == "escalated"] == ["media_report", "media_account",
                                               "media_company_team"]
    # 4 h without an agreed solution (a handling plan) or an answer: reported up (and by
    # now, nobody having acknowledged the earlier steps, skip-level reaches further up).
    await escalation.check(runtime, rules, now=since + 240 * MINUTE + SECOND)
    [solution] = [e for e in await _updates(runtime, case_id, CaseEscalated)
                  if e["clock"] == "media_solution"]
    assert (solution["step_role"], solution["reason"]) == ("general_affairs", "deadline_missed")


async def test_a_plan_meets_the_solution_clock_and_an_answer_all_of_them(
        system: System) -> None:
    runtime, rules = _triage(system)
    planned = await _file(system, THREAT)
    since = datetime.fromisoformat((await _case(system, planned))["media_at"])
    await _post(system, planned, "plan", {
        "method": "今日抢修并回电", "owner": "wang.fang",
        "due_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()})
    answered = await _file(system, THREAT)
    await _post(system, answered, "acknowledge", {})
    await _post(system, answered, "answer", {"text": "已修复并致歉"})

    await escalation.check(runtime, rules, now=since + 5 * 60 * MINUTE)
    assert _media_timers(await _case(system, planned))["media_solution"]["status"] == \
        "cancelled"
    assert {t["status"] for t in _media_timers(await _case(system, answered)).values()} == {
        "cancelled"}


async def test_an_ordinary_complaint_has_no_media_clocks(system: System) -> None:
    case = await _case(system, await _file(system, ORDINARY))
    assert case["media"] is False and case["media_at"] is None
    assert _media_timers(case) == {}


async def test_an_interview_is_recorded_and_makes_a_media_complaint(system: System,
                                                                   tmp_path: Path) -> None:
    runtime, rules = _triage(system)
    case_id = await _file(system, ORDINARY)
    interview = {"at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                 "place": "营业厅", "reporter": "李记者", "outlet": "都市晚报",
                 "answers": "已核实，正在重开发票", "topic": "发票开错"}
    shown = await _post(system, case_id, "interviews", interview)
    assert shown["media"] is True and shown["media_at"] is not None
    await _post(system, case_id, "interviews", {**interview, "reporter": "张记者"})
    case = await _case(system, case_id)
    records = [r for r in case["records"] if r["kind"] == "interview"]
    assert [(r["version"], r["body"]["reporter"]) for r in records] == [
        (1, "李记者"), (2, "张记者")]
    assert records[0]["body"]["outlet"] == "都市晚报"
    entries = [t for t in case["timeline"] if t["action"] == "interviewed"]
    assert [e["detail"]["media_clocks_started"] for e in entries] == [True, False]
    assert len(_media_timers(case)) == 3  # started once
    [first, _] = [u for u in await _updates(runtime, case_id) if u["action"] == "interviewed"]
    assert first["media"] is True

    # The full account carries the interviews.
    since = datetime.fromisoformat(case["media_at"])
    await escalation.check(runtime, rules, now=since + 61 * MINUTE)
    [account] = [e for e in await _updates(runtime, case_id, CaseEscalated)
                 if e["clock"] == "media_account"]
    assert [i["outlet"] for i in account["media_form"]["interviews"]] == ["都市晚报", "都市晚报"]

    # Nobody acknowledges: skip-level reaches past general affairs on the same clock, and
    # the company-level team's clock still starts only once.
    await escalation.check(runtime, rules, now=since + 6 * 60 * MINUTE)
    later = await _case(system, case_id)
    assert [e["clock"] for e in later["escalations"]].count("media_company_team") == 1
    assert any(e["reason"] == "not_acknowledged" and e["clock"] == "media_account"
               for e in later["escalations"])

    # The dossier keeps them, in JSON and in print.
    dossier = (await system.client.get(f"/api/v1/cases/{case_id}/dossier")).json()
    assert [r["body"]["reporter"] for r in dossier["interviews"]] == ["李记者", "张记者"]
    printed = await system.client.get(f"/api/v1/cases/{case_id}/dossier",
                                      params={"format": "pdf"})
    text = pdf_text(printed.content, tmp_path)
    assert "采访记录" in text and "都市晚报" in text


async def test_bad_interviews_are_refused(system: System) -> None:
    case_id = await _file(system, ORDINARY)
    good = {"at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(), "place": "营业厅",
            "reporter": "李记者", "outlet": "都市晚报", "answers": "正在核实"}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await _post(system, case_id, "interviews", {**good, "at": future}, status=409)
    for bad in ({**good, "at": "2026-01-01T10:00:00"}, {**good, "reporter": " "},
                {k: v for k, v in good.items() if k != "answers"}, {**good, "camera": "x"}):
        await _post(system, case_id, "interviews", bad, status=422)
    await _post(system, "nope", "interviews", good, status=404)
    hotline = await system.client.post(f"/api/v1/cases/{case_id}/interviews", json=good,
                                       headers=system.as_key("hotline-a"))
    assert hotline.status_code == 403
    assert (await _case(system, case_id))["media"] is False


async def test_an_out_of_jurisdiction_transfer_keeps_the_owner_and_the_clocks(
        system: System) -> None:
    runtime, _ = _triage(system)
    case_id = await _file(system, ORDINARY)
    await _post(system, case_id, "acknowledge", {})
    before = await _case(system, case_id)
    moved = await _post(system, case_id, "transfer", {
        "to_department": "市场监督管理局", "reason": "食品安全不属于我单位管辖范围",
        "out_of_jurisdiction": True})
    assert (moved["owner"], moved["department"]) == (before["owner"], before["department"])
    assert moved["deadlines"] == before["deadlines"]  # a transfer never stops the clocks
    after = await _case(system, case_id)
    assert [(e["clock"], e["status"]) for e in after["escalations"]] == [
        (e["clock"], e["status"]) for e in before["escalations"]]
    [record] = [r for r in after["records"] if r["kind"] == "transfer"]
    assert record["body"]["out_of_jurisdiction"] is True
    assert record["body"]["to_department"] == "市场监督管理局"
    [entry] = [t for t in after["timeline"] if t["action"] == "transferred"]
    assert entry["detail"]["out_of_jurisdiction"] is True
    [update] = [u for u in await _updates(runtime, case_id) if u["action"] == "transferred"]
    assert (update["out_of_jurisdiction"], update["to_department"]) == (True, "市场监督管理局")

    inside = await _post(system, case_id, "transfer", {"to_department": "财务部",
                                                       "reason": "开票属财务部"})
    assert inside["department"] == "财务部"
    updates = [u for u in await _updates(runtime, case_id) if u["action"] == "transferred"]
    assert updates[-1]["out_of_jurisdiction"] is None
    await _post(system, case_id, "transfer", {"to_department": "x", "reason": "r",
                                              "out_of_jurisdiction": "maybe"}, status=422)
