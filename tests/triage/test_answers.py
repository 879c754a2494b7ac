"""What the complainant was told, kept: every answer is a version (never overwritten), on
the case view, the timeline and the filing hotline's complaint view, with the follow-up
and the appeal (复议) state; a hotline finds its complaint by its own reference."""

from __future__ import annotations

from typing import Any

from tests.support import System, eventually


async def _file(system: System, key: str, ref: str | None = None) -> str:
    body: dict[str, Any] = {"channel": "hotline", "content": "宽带断网三天无法使用，我很愤怒"}
    if ref is not None:
        body["external_ref"] = ref
    posted = await system.client.post("/api/v1/complaints", json=body,
                                      headers=system.as_key(key))
    assert posted.status_code == 202, posted.text
    complaint_id: str = posted.json()["id"]

    async def triaged() -> bool:
        view = await system.client.get(f"/api/v1/complaints/{complaint_id}")
        return view.json()["case"] is not None

    await eventually(triaged, "the complaint is triaged")
    return complaint_id


async def _act(system: System, case_id: str, action: str, body: dict[str, Any]) -> Any:
    answer = await system.client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                                      headers=system.as_key("operator"))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_every_answer_is_kept_as_a_version_and_the_hotline_sees_them(
        system: System) -> None:
    complaint_id = await _file(system, "hotline-a", "HL-1001")
    hotline = system.as_key("hotline-a")
    view = (await system.client.get(f"/api/v1/complaints/{complaint_id}",
                                    headers=hotline)).json()
    case_id = view["case"]["id"]
    assert view["case"]["answers"] == [] and view["case"]["follow_up"] is None
    assert view["case"]["appeal"] == {"state": "none", "count": 0, "reason": None, "at": None}
    assert set(view["case"]["deadlines"]) == {"acknowledge_by", "first_contact_by",
                                              "report_by", "resolve_by"}

    await _act(system, case_id, "acknowledge", {})
    await _act(system, case_id, "answer", {"text": "已修复线路，赠送一个月费用"})
    await _act(system, case_id, "follow-up", {"satisfaction": 2, "note": "仍不满意"})
    await _act(system, case_id, "appeal", {"reason": "补偿不足"})
    pending = (await system.client.get(f"/api/v1/complaints/{complaint_id}",
                                       headers=hotline)).json()
    assert pending["status"] == "reopened"
    assert pending["case"]["appeal"]["state"] == "pending"
    assert pending["case"]["appeal"]["count"] == 1
    assert pending["case"]["appeal"]["reason"] == "补偿不足"
    assert pending["case"]["follow_up"]["satisfaction"] == 2
    second = await _act(system, case_id, "answer", {"text": "复议后：赠送三个月费用"})
    assert second["answer"] == "复议后：赠送三个月费用"  # the latest, as before

    case = (await system.client.get(f"/api/v1/cases/{case_id}",
                                    headers=system.as_key("operator"))).json()
    assert [(a["version"], a["text"], a["author"]) for a in case["answers"]] == [
        (1, "已修复线路，赠送一个月费用", "ops"), (2, "复议后：赠送三个月费用", "ops")]
    answered = [t for t in case["timeline"] if t["action"] == "answered"]
    assert [(t["detail"]["version"], t["detail"]["text"]) for t in answered] == [
        (1, "已修复线路，赠送一个月费用"), (2, "复议后：赠送三个月费用")]

    view = (await system.client.get(f"/api/v1/complaints/{complaint_id}",
                                    headers=hotline)).json()
    assert view["status"] == "responded"
    assert [a["text"] for a in view["case"]["answers"]] == [
        "已修复线路，赠送一个月费用", "复议后：赠送三个月费用"]
    assert view["case"]["appeal"]["state"] == "answered"
    assert "timeline" not in view["case"]  # the filer's view, not the operators' file


async def test_an_answer_the_workflow_refuses_stores_no_version(system: System) -> None:
    complaint_id = await _file(system, "hotline-a")
    view = (await system.client.get(f"/api/v1/complaints/{complaint_id}")).json()
    case_id = view["case"]["id"]
    ops = system.as_key("operator")
    await _act(system, case_id, "acknowledge", {})
    await _act(system, case_id, "answer", {"text": "第一次答复"})
    again = await system.client.post(f"/api/v1/cases/{case_id}/answer", headers=ops,
                                     json={"text": "第二次答复"})
    blank = await system.client.post(f"/api/v1/cases/{case_id}/answer", headers=ops,
                                     json={"text": "   "})
    case = (await system.client.get(f"/api/v1/cases/{case_id}", headers=ops)).json()
    assert again.status_code == 409  # responded -> responded: appeal (reopen) first
    assert blank.status_code == 422
    assert [a["text"] for a in case["answers"]] == ["第一次答复"]
    assert case["answer"] == "第一次答复"


async def test_a_hotline_finds_its_own_complaint_by_its_reference(system: System) -> None:
    complaint_id = await _file(system, "hotline-a", "HL-2002")
    own = await system.client.get("/api/v1/complaints", params={"external_ref": "HL-2002"},
                                  headers=system.as_key("hotline-a"))
    other = await system.client.get("/api/v1/complaints", params={"external_ref": "HL-2002"},
                                    headers=system.as_key("hotline-b"))
    unknown = await system.client.get("/api/v1/complaints", params={"external_ref": "HL-0"},
                                      headers=system.as_key("hotline-a"))
    missing = await system.client.get("/api/v1/complaints", headers=system.as_key("hotline-a"))
    blank = await system.client.get("/api/v1/complaints", params={"external_ref": ""},
                                    headers=system.as_key("hotline-a"))
    assert own.status_code == 200, own.text
    [found] = own.json()["items"]
    assert found["id"] == complaint_id and found["external_ref"] == "HL-2002"
    assert found["status_url"] == f"/api/v1/complaints/{complaint_id}"
    assert other.status_code == 200 and other.json()["items"] == []  # owners are isolated
    assert unknown.json()["items"] == []
    assert missing.status_code == 422 and blank.status_code == 422
    status = await system.client.get(found["status_url"], headers=system.as_key("hotline-a"))
    foreign = await system.client.get(found["status_url"], headers=system.as_key("hotline-b"))
    assert status.status_code == 200 and status.json()["case"] is not None
    assert foreign.status_code == 404
