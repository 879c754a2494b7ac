"""The case page's repeat, rectification, accountability and pre-registration forms: each
through the API (its refusals shown), the record on the page in Chinese, accountability
for the leader only, and a purged complainant shown as purged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support import PASSWORD, ConsoleWorld, eventually, file_case, sign_in
from triage_svc.models import Case


async def _case(world: ConsoleWorld, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await world.system.client.get(f"/api/v1/cases/{case_id}")).json()
    return found


async def test_rectification_and_cause_analysis_through_the_forms(world: ConsoleWorld) -> None:
    case_id = await file_case(world.system, "这是我第三次投诉了，宽带还是断网")
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)

        async def post(path: str, status: int = 200, **form: str) -> str:
            answer = await browser.post(path, data={"csrf_token": token, **form})
            assert answer.status_code == status, answer.text
            return answer.text

        page = (await browser.get(f"/cases/{case_id}")).text
        for button in ("do-cause-analysis", "do-rectification", "do-pre-register"):
            assert f'id="{button}"' in page, button
        assert 'id="do-accountability"' not in page  # a duty officer: not the leadership
        assert 'id="repeat-reason"' in page and "结案前需分析原因" in page

        panel = await post(f"/cases/{case_id}/do/cause-analysis", cause="上次只换了光猫",
                           prevention="复查线路")
        assert "上次只换了光猫" in panel and "重复投诉原因分析" in panel
        await post(f"/cases/{case_id}/do/cause-analysis", 422, cause=" ", prevention="p")

        panel = await post(f"/cases/{case_id}/do/rectifications", action="更换老化线路",
                           owner="case-owner", due_at="2099-01-01T10:00")
        assert "更换老化线路" in panel and "整改中" in panel
        past = await post(f"/cases/{case_id}/do/rectifications", 409, action="a",
                          owner="o", due_at="2000-01-01T10:00")
        assert "future" in past
        [made] = (await _case(world, case_id))["rectifications"]
        assert datetime.fromisoformat(made["due_at"]) == datetime(2099, 1, 1, 2, 0, tzinfo=UTC)
        await post(f"/cases/{case_id}/rectifications/{made['id']}/verify", 422, note="")
        panel = await post(f"/cases/{case_id}/rectifications/{made['id']}/verify",
                           note="现场复测网速正常")
        assert "已验证" in panel and "现场复测网速正常" in panel
        case = await _case(world, case_id)
        assert [t["action"] for t in case["timeline"]][-3:] == [
            "cause_analysed", "rectification_added", "rectification_verified"]
        assert "整改已验证" in (await browser.get(f"/cases/{case_id}")).text

        # A complaint without a contact cannot be pre-registered: the API's 409, shown.
        refused = await post(f"/cases/{case_id}/pre-register", 409, note="情绪激动")
        assert "phone or email" in refused


async def test_accountability_is_the_leader_s_and_pre_registration_raises_the_next(
        world: ConsoleWorld) -> None:
    person = {"name": "赵六", "phone": "13500001234"}
    case_id = await file_case(world.system, "营业厅排队两个小时", complainant=person)
    async with world.browser() as browser:
        token = await sign_in(browser, "leader", PASSWORD)
        page = (await browser.get(f"/cases/{case_id}")).text
        assert 'id="do-accountability"' in page and "尚无追责问责记录" in page
        answer = await browser.post(f"/cases/{case_id}/do/accountability", data={
            "csrf_token": token, "department": "营业厅", "finding": "窗口开放不足",
            "measure": "约谈负责人"})
        assert answer.status_code == 200 and "窗口开放不足" in answer.text
        bad = await browser.post(f"/cases/{case_id}/do/accountability", data={
            "csrf_token": token, "department": "营业厅", "measure": "m"})
        assert bad.status_code == 422

        answer = await browser.post(f"/cases/{case_id}/pre-register", data={
            "csrf_token": token, "note": "扬言找媒体"})
        assert answer.status_code == 200 and "已报备" in answer.text
    next_case = await file_case(world.system, "营业厅排队又是两个小时", complainant=person)
    assert (await _case(world, next_case))["response_level"] == 3  # level 4, raised one

    async with world.browser() as browser:  # a duty officer sees none of it
        await sign_in(browser, "duty", PASSWORD)
        page = (await browser.get(f"/cases/{case_id}")).text
        assert "窗口开放不足" not in page and 'id="case-accountability"' not in page
        assert "记录追责问责" in page  # the timeline says one was made, not what it says


async def test_a_purged_complainant_is_shown_as_purged(world: ConsoleWorld) -> None:
    case_id = await file_case(world.system, "营业厅排队两个小时")
    triage = world.system.embedded.services["triage"].state.runtime
    async with triage.unit() as unit:
        case = await unit.session.get(Case, case_id)
        assert case is not None
        case.personal_data_purged_at = datetime(2029, 3, 1, 4, 0, tzinfo=UTC)
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        page = (await browser.get(f"/cases/{case_id}")).text
    assert 'id="personal-data-purged"' in page and "已于 2029-03-01 12:00 按保存期限清除" in page


async def test_an_incident_s_rectifications_on_its_page(world: ConsoleWorld) -> None:
    posted = await world.system.client.post("/api/v1/complaints", json={
        "channel": "onsite", "content": "小区停水三天，我们四十户一起来反映", "people_count": 40,
        "target": {"department": "自来水公司"}})
    assert posted.status_code == 202, posted.text

    async def grouped() -> list[dict[str, Any]] | None:
        found = (await world.system.client.get("/api/v1/incidents?kind=group")).json()
        return found["items"] or None

    [incident] = await eventually(grouped, "a group incident")
    path = f"/incidents/{incident['id']}"
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        page = (await browser.get(path)).text
        assert 'id="do-incident-rectification"' in page and "尚无整改措施" in page
        past = await browser.post(f"{path}/do/rectifications", data={
            "csrf_token": token, "action": "a", "owner": "o", "due_at": "2000-01-01T10:00"})
        assert past.status_code == 409 and "future" in past.text
        made = await browser.post(f"{path}/do/rectifications", data={
            "csrf_token": token, "action": "更换主管道", "owner": "water-ops",
            "due_at": "2099-01-01T10:00"})
        assert made.status_code == 303, made.text
        [fix] = (await world.system.client.get(
            f"/api/v1/incidents/{incident['id']}/rectifications")).json()
        assert datetime.fromisoformat(fix["due_at"]) == datetime(2099, 1, 1, 2, 0, tzinfo=UTC)
        assert "更换主管道" in (await browser.get(path)).text
        empty = await browser.post(f"{path}/do/verify-{fix['id']}", data={
            "csrf_token": token, "note": ""})
        assert empty.status_code == 422
        verified = await browser.post(f"{path}/do/verify-{fix['id']}", data={
            "csrf_token": token, "note": "复测水压正常"})
        assert verified.status_code == 303, verified.text
        page = (await browser.get(path)).text
        assert "已验证" in page and "复测水压正常" in page
