"""Registering a complaint at the desk: intake's own path, one complaint per form however
often it is sent, and intake's refusal shown with the form kept."""

from __future__ import annotations

from tests.support import PASSWORD, ConsoleWorld, csrf_token_in, sign_in


async def test_a_double_submit_files_one_complaint(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        form = await browser.get("/register")
        key = form.text.split('name="form_key" value="')[1].split('"')[0]
        fields = {"csrf_token": token, "form_key": key, "channel": "onsite",
                  "content": "来访：门店地面湿滑，老人摔倒骨折", "name": "孙七",
                  "phone": "13600001111", "people_count": "1", "department": "门店"}
        first = await browser.post("/register", data=fields)
        second = await browser.post("/register", data=fields)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        assert first.headers["location"].startswith("/complaints/")
    assert await world.system.complaints_stored() == 1
    complaint_id = first.headers["location"].rpartition("/")[2]
    view = await world.system.client.get(f"/api/v1/complaints/{complaint_id}")
    assert view.json()["channel"] == "onsite"
    assert view.json()["content"] == "来访：门店地面湿滑，老人摔倒骨折"


async def test_intakes_refusal_is_shown_and_the_form_kept(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        form = await browser.get("/register")
        answer = await browser.post("/register", data={
            "csrf_token": csrf_token_in(form.text), "channel": "hotline", "content": "   ",
            "subject": "保留的标题"})
        assert answer.status_code == 422
        assert "投诉未能登记" in answer.text and "content" in answer.text
        # The field's message in the page's language, not a regular expression.
        assert "content: 不能为空" in answer.text  # the form strips spaces: nothing is left
        assert "pattern" not in answer.text and "String should" not in answer.text
        assert 'value="保留的标题"' in answer.text
    assert await world.system.complaints_stored() == 0
