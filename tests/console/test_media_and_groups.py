"""The case page's interview (采访记录) and out-of-jurisdiction transfer forms, and the
incident page's group registration and work group, through the console (the API's own
refusals shown in plain words)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support import PASSWORD, ConsoleWorld, eventually, file_case, sign_in


async def _json(world: ConsoleWorld, path: str) -> dict[str, Any]:
    found: dict[str, Any] = (await world.system.client.get(path)).json()
    return found


async def test_an_interview_and_an_outside_transfer_from_the_case_page(
        world: ConsoleWorld) -> None:
    case_id = await file_case(world.system, "发票开错了，需要重新开具")
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        page = (await browser.get(f"/cases/{case_id}")).text
        assert 'id="do-interviews"' in page and 'id="out-of-jurisdiction"' in page
        panel = await browser.post(f"/cases/{case_id}/do/interviews", data={
            "csrf_token": token, "at": "2026-01-05T09:30", "place": "营业厅",
            "reporter": "李记者", "outlet": "都市晚报", "answers": "正在核实"})
        assert panel.status_code == 200, panel.text
        assert "都市晚报 李记者" in panel.text and 'id="media-since"' in panel.text
        assert "采访记录" in panel.text  # the record's zh label
        future = await browser.post(f"/cases/{case_id}/do/interviews", data={
            "csrf_token": token, "at": "2099-01-05T09:30", "place": "p", "reporter": "r",
            "outlet": "o", "answers": "a"})
        assert future.status_code == 409
        missing = await browser.post(f"/cases/{case_id}/do/interviews", data={
            "csrf_token": token, "at": "2026-01-05T09:30", "place": "p"})
        assert missing.status_code == 422

        moved = await browser.post(f"/cases/{case_id}/do/transfer", data={
            "csrf_token": token, "to_department": "市场监督管理局", "reason": "不属于管辖范围",
            "out_of_jurisdiction": "true"})
        assert moved.status_code == 200 and "out-of-jurisdiction" in moved.text
    case = await _json(world, f"/api/v1/cases/{case_id}")
    [interview] = [r for r in case["records"] if r["kind"] == "interview"]
    assert datetime.fromisoformat(interview["body"]["at"]) == datetime(  # console's zone
        2026, 1, 5, 1, 30, tzinfo=UTC)
    [transfer] = [r for r in case["records"] if r["kind"] == "transfer"]
    assert transfer["body"]["out_of_jurisdiction"] is True
    assert case["department"] is None  # stays ours to follow up


async def test_a_group_is_registered_and_given_its_work_group_on_its_page(
        world: ConsoleWorld) -> None:
    client = world.system.client
    posted = await client.post("/api/v1/complaints", json={
        "channel": "onsite", "content": "楼上装修噪音太大，我们几户都受不了", "people_count": 6,
        "target": {"department": "阳光物业"}})
    member = posted.json()["id"]
    rep = await file_case(world.system, "我代表邻居投诉装修噪音")
    other = (await _json(world, f"/api/v1/cases/{rep}"))["complaint_id"]

    async def grouped() -> bool:
        return bool((await _json(world, "/api/v1/incidents?kind=group"))["items"])

    await eventually(grouped, "a group incident")
    [incident] = (await _json(world, "/api/v1/incidents?kind=group"))["items"]
    path = f"/incidents/{incident['id']}"
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        page = (await browser.get(path)).text
        assert 'id="do-registration"' in page and 'id="do-work-group"' in page
        too_few = await browser.post(f"{path}/do/registration", data={
            "csrf_token": token, "core_demands": "停止夜间施工", "place": "3栋",
            "emotional_state": "agitated", "representatives": [member]})
        assert too_few.status_code == 422
        done = await browser.post(f"{path}/do/registration", data={
            "csrf_token": token, "core_demands": "停止夜间施工", "place": "3栋",
            "emotional_state": "agitated", "representatives": [member],
            "other_representatives": other})
        assert done.status_code == 303, done.text
        grouped_up = await browser.post(f"{path}/do/work-group", data={
            "csrf_token": token, "leader": "zhang.zong", "on_site_lead": "wang.anbao",
            "on_site_members": "zhao, qian"})
        assert grouped_up.status_code == 303, grouped_up.text
        page = (await browser.get(path)).text
        assert 'id="group-registration"' in page and "停止夜间施工" in page
        assert "激动" in page and "现场处置组" in page and "zhao, qian" in page
        unknown = await browser.post(f"{path}/do/nothing", data={"csrf_token": token})
        assert unknown.status_code == 404
    shown = await _json(world, f"/api/v1/incidents/{incident['id']}")
    assert shown["registration"]["body"]["representatives"] == [member, other]
    assert shown["work_group"]["body"]["on_site"]["members"] == ["zhao", "qian"]
