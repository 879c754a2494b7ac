"""Signing in, sessions, CSRF, login limits, roles and what a page may show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.console.security import CSP
from services.models import ConsoleSession
from tests.support import ADMIN, PASSWORD, ConsoleWorld, csrf_token_in, sign_in


async def test_pages_send_a_stranger_to_the_login_form(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        home = await browser.get("/")
        assert (home.status_code, home.headers["location"]) == (303, "/board")
        board = await browser.get("/board?level=1")
        assert board.status_code == 303
        assert board.headers["location"] == "/login?next=/board%3Flevel%3D1"
        form = await browser.get("/login")
        assert form.status_code == 200
        assert 'name="username"' in form.text and 'name="password"' in form.text


async def test_the_first_admin_signs_in_with_the_admin_secret(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        await sign_in(browser, "admin", ADMIN)
        board = await browser.get("/board")
        assert board.status_code == 200
        assert "Administrator" in board.text


async def test_the_session_cookie_is_httponly_lax_and_secure_behind_tls(
        world: ConsoleWorld) -> None:
    for base, secure in (("http://beacon", False), ("https://beacon", True)):
        async with world.browser(base) as browser:
            form = await browser.get("/login")
            answer = await browser.post("/login", data={
                "username": "duty", "password": PASSWORD,
                "csrf_token": csrf_token_in(form.text)})
            cookie = next(v for k, v in answer.headers.multi_items()
                          if k == "set-cookie" and v.startswith("beacon_session="))
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie
            assert ("Secure" in cookie) is secure


async def test_a_wrong_password_is_refused_and_says_so(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        form = await browser.get("/login")
        answer = await browser.post("/login", data={
            "username": "duty", "password": "wrong", "csrf_token": csrf_token_in(form.text)})
        assert answer.status_code == 401
        assert "用户名或密码错误" in answer.text
        assert "beacon_session" not in answer.headers.get("set-cookie", "")


async def test_the_login_form_needs_its_own_csrf_token(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        await browser.get("/login")
        answer = await browser.post("/login", data={"username": "duty", "password": PASSWORD,
                                                    "csrf_token": "forged"})
        assert answer.status_code == 403
        assert "beacon_session" not in answer.headers.get("set-cookie", "")


async def test_failed_sign_ins_are_limited_per_user(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        for _ in range(5):
            form = await browser.get("/login")
            await browser.post("/login", data={"username": "leader", "password": "nope",
                                               "csrf_token": csrf_token_in(form.text)})
        form = await browser.get("/login")
        answer = await browser.post("/login", data={"username": "leader", "password": PASSWORD,
                                                    "csrf_token": csrf_token_in(form.text)})
        assert answer.status_code == 429  # even the right password waits now
        assert "登录失败次数过多" in answer.text


async def test_failed_sign_ins_are_limited_per_address(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        for i in range(20):  # a spray over many names from one address
            form = await browser.get("/login")
            await browser.post("/login", data={"username": f"nobody{i}", "password": "x",
                                               "csrf_token": csrf_token_in(form.text)})
        form = await browser.get("/login")
        answer = await browser.post("/login", data={"username": "duty", "password": PASSWORD,
                                                    "csrf_token": csrf_token_in(form.text)})
        assert answer.status_code == 429


async def _a_case(world: ConsoleWorld, content: str = "电梯突然下滑，有人受伤") -> str:
    posted = await world.system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": content,
        "complainant": {"name": "李四", "phone": "13987654321"}})
    assert posted.status_code == 202
    await world.system.notified.applied(1)
    view = await world.system.client.get(f"/api/v1/complaints/{posted.json()['id']}")
    case_id: str = view.json()["case"]["id"]
    return case_id


async def _state(world: ConsoleWorld, case_id: str) -> str:
    state: str = (await world.system.client.get(f"/api/v1/cases/{case_id}")).json()["state"]
    return state


async def test_a_post_without_the_csrf_token_changes_nothing(world: ConsoleWorld) -> None:
    case_id = await _a_case(world)
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        refused = await browser.post(f"/cases/{case_id}/do/acknowledge", data={"note": "x"})
        assert refused.status_code == 403
        foreign = await browser.post(f"/cases/{case_id}/do/acknowledge", data={
            "csrf_token": token}, headers={"origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert await _state(world, case_id) == "triaged"
        done = await browser.post(f"/cases/{case_id}/do/acknowledge", data={"note": "收到"},
                                  headers={"x-csrf-token": token, "hx-request": "true"})
        assert done.status_code == 200
        assert await _state(world, case_id) == "acknowledged"


async def test_actions_are_on_the_timeline_under_the_users_name(world: ConsoleWorld) -> None:
    case_id = await _a_case(world)
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        await browser.post(f"/cases/{case_id}/do/assign", data={
            "csrf_token": token, "assignee": "王五", "department": "客服部"})
    timeline = (await world.system.client.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    assert [(t["actor"], t["action"]) for t in timeline][-1] == ("duty", "assigned")


async def test_a_refused_move_is_shown_in_plain_words(world: ConsoleWorld) -> None:
    case_id = await _a_case(world)
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        answer = await browser.post(f"/cases/{case_id}/do/follow-up", data={
            "csrf_token": token, "satisfaction": "5"})
        assert answer.status_code == 409
        assert "当前不能执行此操作" in answer.text  # the workflow's 409, named


async def test_an_opinion_officer_cannot_act_on_cases(world: ConsoleWorld) -> None:
    case_id = await _a_case(world)
    async with world.browser() as browser:
        token = await sign_in(browser, "opinion", PASSWORD)
        page = await browser.get(f"/cases/{case_id}")
        assert page.status_code == 200 and 'id="do-acknowledge"' not in page.text
        answer = await browser.post(f"/cases/{case_id}/do/acknowledge", data={
            "csrf_token": token})
        assert answer.status_code == 403
        assert "cases:write" in answer.text  # the gateway's own scope check refused it
        assert await _state(world, case_id) == "triaged"


async def test_personal_data_is_masked_until_revealed_and_the_reveal_recorded(
        world: ConsoleWorld) -> None:
    case_id = await _a_case(world)
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        page = await browser.get(f"/cases/{case_id}")
        assert "13987654321" not in page.text and "139****4321" in page.text
        assert 'id="reveal"' not in page.text  # no pii:read, no button
    async with world.browser() as browser:
        token = await sign_in(browser, "duty-pii", PASSWORD)
        page = await browser.get(f"/cases/{case_id}")
        assert "13987654321" not in page.text and 'id="reveal"' in page.text
        shown = await browser.post(f"/cases/{case_id}/reveal", data={"csrf_token": token})
        assert "13987654321" in shown.text and "李四" in shown.text
        assert shown.headers["cache-control"] == "no-store"
    timeline = (await world.system.client.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    assert ("duty-pii", "pii_revealed") in [(t["actor"], t["action"]) for t in timeline]


async def test_a_user_without_pii_cannot_reveal_through_the_route(world: ConsoleWorld) -> None:
    case_id = await _a_case(world)
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        answer = await browser.post(f"/cases/{case_id}/reveal", data={"csrf_token": token})
        assert "13987654321" not in answer.text and "pii:read" in answer.text


async def test_complaint_text_is_rendered_as_text(world: ConsoleWorld) -> None:
    case_id = await _a_case(
        world, "插座冒火花 <script>alert('x')</script><img src=x onerror=alert(1)>")
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        page = (await browser.get(f"/cases/{case_id}")).text
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


async def test_pages_carry_the_security_headers(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        page = await browser.get("/board")
        assert page.headers["content-security-policy"] == CSP
        assert "frame-ancestors 'none'" in CSP and "script-src 'self';" in CSP
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        asset = await browser.get("/static/console.js")
        assert asset.status_code == 200 and "no-store" not in asset.headers.get(
            "cache-control", "")


async def test_logout_ends_the_session_everywhere(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        cookie = browser.cookies["beacon_session"]
        out = await browser.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303
    async with world.browser() as other:
        other.cookies.set("beacon_session", cookie)
        assert (await other.get("/board")).status_code == 303


async def test_an_idle_session_times_out(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        assert (await browser.get("/board")).status_code == 200
        long_ago = datetime.now(UTC) - timedelta(hours=2)
        async with world.users.db.transaction() as session:
            await session.execute(update(ConsoleSession).values(last_seen=long_ago))
        assert (await browser.get("/board")).status_code == 303


async def test_a_disabled_user_is_signed_out(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        await world.users.update("duty", disabled=True)
        assert (await browser.get("/board")).status_code == 303
        form = await browser.get("/login")
        again = await browser.post("/login", data={"username": "duty", "password": PASSWORD,
                                                   "csrf_token": csrf_token_in(form.text)})
        assert again.status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
async def test_sign_in_never_redirects_off_site(world: ConsoleWorld, target: str) -> None:
    async with world.browser() as browser:
        form = await browser.get("/login")
        answer = await browser.post("/login", data={
            "username": "duty", "password": PASSWORD, "csrf_token": csrf_token_in(form.text),
            "next": target})
        assert answer.headers["location"] == "/board"
