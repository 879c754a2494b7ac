"""Repeated complaints (重复投诉): recognised by their words or by the same complainant's
history, and closed only with their cause analysed ("对重复投诉,分析原因,制定预防措施")."""

from __future__ import annotations

from typing import Any

from tests.support import System, file_case


async def _post(system: System, case_id: str, action: str, body: dict[str, Any],
                status: int = 200) -> dict[str, Any]:
    answer = await system.client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                                      headers=system.as_key("operator"))
    assert answer.status_code == status, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def _case(system: System, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await system.client.get(f"/api/v1/cases/{case_id}")).json()
    return found


async def _record_all_but_the_cause(system: System, case_id: str) -> None:
    for action, body in (("acknowledge", {}), ("investigation", {
            "findings": "上次只退了一半差价", "root_cause": "退款流程漏了第二笔"}),
            ("opinion", {"text": "补退差价"}), ("answer", {"text": "已补退"}),
            ("follow-up", {"satisfaction": 3})):
        await _post(system, case_id, action, body)


async def test_a_repeated_complaint_closes_only_with_its_cause_analysed(
        system: System) -> None:
    case_id = await file_case(system, "这是我第三次投诉了，上次说退差价到现在还没退")
    case = await _case(system, case_id)
    assert "repeated_text" in case["repeat_reason"]
    assert case["timeline"][0]["detail"]["repeat"] is True
    await _record_all_but_the_cause(system, case_id)
    assert (await _case(system, case_id))["missing"] == ["cause_analysis"]
    refused = await _post(system, case_id, "state", {"state": "closed"}, status=409)
    assert "missing: cause_analysis" in refused["detail"]
    assert "cause-analysis" in refused["detail"]

    for bad in ({"cause": " ", "prevention": "p"}, {"cause": "c"},
                {"cause": "c", "prevention": "p", "why": "x"}):
        await _post(system, case_id, "cause-analysis", bad, status=422)
    await _post(system, "0" * 32, "cause-analysis", {"cause": "c", "prevention": "p"},
                status=404)
    await _post(system, case_id, "cause-analysis", {
        "cause": "退款分两笔到账，系统只处理了第一笔", "prevention": "退款完成前核对全部流水"})
    case = await _case(system, case_id)
    [record] = [r for r in case["records"] if r["kind"] == "cause_analysis"]
    assert record["body"]["prevention"] == "退款完成前核对全部流水"
    assert case["timeline"][-1]["action"] == "cause_analysed" and case["missing"] == []
    assert (await _post(system, case_id, "state", {"state": "closed"}))["state"] == "closed"
    dossier = (await system.client.get(f"/api/v1/cases/{case_id}/dossier")).json()
    assert [c["body"]["cause"] for c in dossier["cause_analyses"]] == [
        "退款分两笔到账，系统只处理了第一笔"]


async def test_the_same_complainant_again_is_a_repeat_and_a_first_complaint_is_not(
        system: System) -> None:
    person = {"complainant": {"name": "李四", "phone": "13900001111"}}
    first = await file_case(system, "发票开错了，需要重新开具", **person)
    assert (await _case(system, first))["repeat_reason"] is None
    second = await file_case(system, "发票抬头又写错了", **person)
    reason = (await _case(system, second))["repeat_reason"]
    assert reason.startswith("1 earlier complaint(s) from the same complainant")
    # Not a repeat: closing asks for no cause analysis.
    await _record_all_but_the_cause(system, first)
    assert (await _post(system, first, "state", {"state": "closed"}))["state"] == "closed"
