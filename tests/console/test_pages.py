"""The console's pages beyond the board (incidents, public opinion, statements, duty,
statistics, users) on the embedded system, signed in as each role through the login form;
and the API they brought: the mentions list, the users admin API, roster reading."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.auth import ApiKey, key_hash
from services.console.opinion import spike_areas
from services.launcher import Embedded, build_embedded
from services.settings import GatewaySettings
from tests.support import eventually, pdf_text, sign_in

ADMIN_SECRET = "pages-admin-key-0123456789"
READER_KEY = "pages-reader-key-0123456789"  # an API key with cases:read only
PASSWORD = "correct horse battery"
ROLES = ("duty_officer", "leader", "opinion_officer")
PAGES = ("/incidents", "/opinion", "/statements", "/duty", "/stats")
NEGATIVE = "某品牌热水器漏电致用户受伤住院，记者曝光，消费者集体维权"


@dataclass
class Console:
    embedded: Embedded
    api: httpx.AsyncClient  # as the admin API key

    def browser(self) -> httpx.AsyncClient:
        """A client of its own (its own cookies), as a browser would be."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.embedded.gateway),
                                 base_url="http://beacon")

    @contextlib.asynccontextmanager
    async def as_user(self, role: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
        """A signed-in browser for a new user of this role, and its CSRF token."""
        username = role.replace("_", "-")
        created = await self.api.post("/api/v1/admin/users", json={
            "username": username, "display_name": role, "password": PASSWORD, "role": role})
        assert created.status_code in (201, 409), created.text
        async with self.browser() as browser:
            yield browser, await sign_in(browser, username, PASSWORD)

    @contextlib.asynccontextmanager
    async def as_admin(self) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
        async with self.browser() as browser:
            yield browser, await sign_in(browser, "admin", ADMIN_SECRET)


@pytest.fixture
async def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Console]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    reader = ApiKey("reader", "reader", frozenset({"cases:read"}), key_hash(READER_KEY))
    embedded = build_embedded(GatewaySettings(data_dir=tmp_path, dev_api_key=ADMIN_SECRET),
                              [reader])
    app = embedded.gateway
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://beacon",
            headers={"Authorization": f"Bearer {ADMIN_SECRET}"}) as api:
        yield Console(embedded, api)


async def post_mentions(api: httpx.AsyncClient, items: list[dict[str, Any]]) -> list[str]:
    answer = await api.post("/api/v1/mentions", json={"mentions": items})
    assert answer.status_code == 202, answer.text
    ids: list[str] = answer.json()["ids"]
    return ids


def mention(i: int, *, source: str = "weibo", negative: bool = True) -> dict[str, Any]:
    text = NEGATIVE if negative else "客服态度很好，问题很快解决了，谢谢"
    return {"source": source, "url": f"https://m.example.cn/{i}", "content": f"{text}（{i}）",
            "title": f"标题 {i}"}


# -------------------------------------------------------------------------- the pages


async def test_every_page_renders_for_every_role_and_users_is_admin_only(
        console: Console) -> None:
    for role in ROLES:
        async with console.as_user(role) as (browser, _token):
            for path in PAGES:
                page = await browser.get(path)
                assert page.status_code == 200, (role, path, page.text[-500:])
                assert '<h1' in page.text and 'lang="zh-CN"' in page.text
            refused = await browser.get("/admin/users")
            assert refused.status_code == 403, role
            assert "Users" not in refused.text or "403" in refused.text
    async with console.as_admin() as (admin, _token):
        for path in (*PAGES, "/admin/users"):
            assert (await admin.get(path)).status_code == 200, path


async def test_a_page_without_a_session_goes_to_sign_in(console: Console) -> None:
    async with console.browser() as browser:
        for path in (*PAGES, "/admin/users", "/stats.csv"):
            answer = await browser.get(path)
            assert answer.status_code == 303 and "/login" in answer.headers["location"], path


async def test_only_pages_that_chart_load_the_charts(console: Console) -> None:
    async with console.as_user("duty_officer") as (browser, _token):
        for path, charts in (("/opinion", True), ("/stats", True), ("/statements", False),
                             ("/duty", False), ("/incidents", False)):
            page = (await browser.get(path)).text
            assert ('src="/static/charts.js"' in page) is charts, path
            assert ("data-chart=" in page) is charts, path
            assert "<script>" not in page  # no inline scripts (CSP script-src 'self')
        assert (await browser.get("/static/charts.js")).status_code == 200


async def test_an_incident_lists_its_cases_and_closes_once_with_a_reason(
        console: Console) -> None:
    for i in range(6):
        posted = await console.api.post("/api/v1/complaints", json={
            "channel": "web", "content": f"小区停水三天了，物业不管，我们要集体维权（住户{i}）",
            "target": {"department": "物业"}})
        assert posted.status_code == 202, posted.text

    async def grouped() -> bool:
        found = (await console.api.get("/api/v1/incidents", params={"kind": "group"})).json()
        return bool(found["items"]) and len(found["items"][0]["complaint_ids"]) >= 5

    await eventually(grouped, "a group incident with five complaints")
    incident = (await console.api.get("/api/v1/incidents", params={"kind": "group"})
                ).json()["items"][0]
    cases = (await console.api.get("/api/v1/cases", params={"incident_id": incident["id"]})
             ).json()["items"]
    async with console.as_user("duty_officer") as (browser, token):
        listed = await browser.get("/incidents", params={"kind": "group", "state": "open"})
        assert f'/incidents/{incident["id"]}' in listed.text
        other = await browser.get("/incidents", params={"kind": "public_opinion"})
        assert f'/incidents/{incident["id"]}' not in other.text
        page = (await browser.get(f"/incidents/{incident['id']}")).text
        assert all(f'/cases/{c["id"]}' in page for c in cases)
        assert all(f'/complaints/{cid}' in page for cid in incident["complaint_ids"])
        assert 'id="head-count">' in page and 'hx-trigger="beacon-incident-' in page

        close = f"/incidents/{incident['id']}/close"
        blank = await browser.post(close, data={"csrf_token": token, "reason": " "})
        assert blank.status_code == 422
        no_token = await browser.post(close, data={"reason": "处置完毕"})
        assert no_token.status_code == 403
        closed = await browser.post(close, data={"csrf_token": token, "reason": "处置完毕"})
        assert closed.status_code == 303
        again = await browser.post(close, data={"csrf_token": token, "reason": "再关一次"})
        assert again.status_code == 409 and "该事件已关闭" in again.text
        page = (await browser.get(f"/incidents/{incident['id']}")).text
        assert "处置完毕" in page and 'id="do-close"' not in page


async def test_an_incident_summary_is_edited_then_approved_by_a_leader_only(
        console: Console, tmp_path: Path) -> None:
    for i in range(5):
        posted = await console.api.post("/api/v1/complaints", json={
            "channel": "web", "content": f"小区停水三天了，物业不管，我们要集体维权（住户{i}）",
            "target": {"department": "物业"}})
        assert posted.status_code == 202, posted.text

    async def grouped() -> dict[str, Any] | None:
        found = (await console.api.get("/api/v1/incidents", params={"kind": "group"})).json()
        return found["items"][0] if found["items"] else None

    incident = await eventually(grouped, "a group incident")
    page_path = f"/incidents/{incident['id']}"
    async with console.as_user("duty_officer") as (browser, token):
        page = (await browser.get(page_path)).text
        assert "总结评估" in page and 'id="summary-form"' in page
        assert 'id="summary-approve" disabled' in page and "总结评估须由领导小组批准" in page
        saved = await browser.post(f"{page_path}/summary", data={
            "csrf_token": token, "assessment": "处置及时", "lessons": "<b>加强巡检</b>",
            "version": "0"})
        assert saved.status_code == 303
        stale = await browser.post(f"{page_path}/summary", data={
            "csrf_token": token, "lessons": "旧版本", "version": "0"})
        assert stale.status_code == 409 and "总结评估未修改" in stale.text
        refused = await browser.post(f"{page_path}/summary/approve", data={"csrf_token": token})
        assert refused.status_code == 403
        closed = await browser.post(f"{page_path}/close",
                                    data={"csrf_token": token, "reason": "处置完毕"})
        assert closed.status_code == 303
    async with console.as_user("leader") as (browser, token):
        page = (await browser.get(page_path)).text
        assert "&lt;b&gt;加强巡检&lt;/b&gt;" in page  # text stays text
        assert 'id="summary-approve" disabled' not in page
        approved = await browser.post(f"{page_path}/summary/approve", data={"csrf_token": token})
        assert approved.status_code == 303
        page = (await browser.get(page_path)).text
        assert 'id="summary-form"' not in page and 'id="summary-archive"' in page
        archived = await browser.post(f"{page_path}/summary/archive", data={"csrf_token": token})
        assert archived.status_code == 303
        assert "已归档" in (await browser.get(page_path)).text
        printed = await browser.get(f"{page_path}/summary.pdf")
        assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
        assert "加强巡检" in pdf_text(printed.content, tmp_path)


async def test_opinion_page_and_a_mention_render_text_as_text(console: Console) -> None:
    [hostile] = await post_mentions(console.api, [{
        # javascript: URLs are refused by the API (tests/security/test_low_data.py); an http
        # one can still try to break out of its attribute.
        "source": "forum", "url": 'https://forum.example/t/1"onmouseover="alert(1)',
        "title": "<img src=x onerror=alert(1)>",
        "content": "<script>alert('x')</script> 热水器漏电"}])
    await post_mentions(console.api, [mention(i) for i in range(3)])
    async with console.as_user("opinion_officer") as (browser, _token):
        page = await browser.get("/opinion", params={"source": "forum", "hours": "6"})
        assert page.status_code == 200
        assert "&lt;img src=x" in page.text and "<img src=x" not in page.text
        assert 'data-chart="' in page.text and "markArea" in page.text
        one = (await browser.get(f"/opinion/mentions/{hostile}")).text
        assert "&lt;script&gt;" in one and "<script>alert" not in one
        assert '"onmouseover="' not in one  # the URL stays inside its attribute
        assert 'id="risk-reasons"' in one and 'id="linked-complaints"' in one
        assert (await browser.get("/opinion/mentions/nope")).status_code == 404


# -------------------------------------------------------------------------- statements


async def test_statements_are_drafted_and_only_a_leader_approves(console: Console) -> None:
    async with console.as_user("opinion_officer") as (drafter, drafter_token), \
            console.as_user("duty_officer") as (duty, duty_token), \
            console.as_user("leader") as (leader, leader_token):
        drafted = await drafter.post("/statements", data={
            "csrf_token": drafter_token, "title": "关于漏电事件的说明",
            "text": "我公司高度重视 <b>并已停售</b>", "language": "zh"})
        assert drafted.status_code == 303, drafted.text
        statement_id = drafted.headers["location"].rpartition("statement-")[2]

        page = (await duty.get("/statements")).text
        assert "&lt;b&gt;并已停售&lt;/b&gt;" in page
        button = re.search(r'<button[^>]*disabled[^>]*title="([^"]+)"', page)
        assert button is not None and "应急领导小组" in button.group(1)
        refused = await duty.post(f"/statements/{statement_id}/approve",
                                  data={"csrf_token": duty_token})
        assert refused.status_code == 403
        assert "只有应急领导小组可以批准口径" in refused.text
        assert "statements:approve" in refused.text  # the API's own reason, in plain words

        approved = await leader.post(f"/statements/{statement_id}/approve",
                                     data={"csrf_token": leader_token})
        assert approved.status_code == 303
        twice = await leader.post(f"/statements/{statement_id}/approve",
                                  data={"csrf_token": leader_token})
        assert twice.status_code == 409
        shown = (await leader.get("/statements")).text
        assert "opinion-officer 于" in shown and "leader 于" in shown
        assert 'class="countdown"' in shown and "data-start=" in shown
        statement = (await console.api.get(f"/api/v1/statements/{statement_id}")).json()
        assert f'data-start="{statement["approved_at"]}"' in shown


async def test_a_leader_cannot_approve_their_own_draft_and_sees_why(console: Console) -> None:
    async with console.as_user("leader") as (leader, token):
        drafted = await leader.post("/statements", data={
            "csrf_token": token, "title": "关于停电的说明", "text": "正在抢修", "language": "zh"})
        assert drafted.status_code == 303, drafted.text
        statement_id = drafted.headers["location"].rpartition("statement-")[2]
        page = (await leader.get("/statements")).text
        button = re.search(rf'<button[^>]*id="approve-{statement_id}"[^>]*>', page)
        assert button is not None and "disabled" in button.group(0)
        assert "此口径由您起草，须由另一位领导批准（双人审核）。" in page
        forced = await leader.post(f"/statements/{statement_id}/approve",
                                   data={"csrf_token": token})
        assert forced.status_code == 403
        assert "此口径由您起草" in forced.text
        statement = (await console.api.get(f"/api/v1/statements/{statement_id}")).json()
        assert statement["status"] == "draft" and statement["drafted_by"] == "leader"
    # Another caller (the admin key) may approve it.
    approved = await console.api.post(f"/api/v1/statements/{statement_id}/approve")
    assert approved.status_code == 200 and approved.json()["approved_by"] == "dev"


# -------------------------------------------------------------------------- duty, stats


async def test_duty_shows_addresses_to_admin_only(console: Console) -> None:
    member = {"name": "值班室", "roles": ["duty_room"],
              "channels": {"sms": {"address": "13800001111"}}}
    put = await console.api.put("/api/v1/roster/members/duty-room", json=member)
    assert put.status_code == 200, put.text
    async with console.as_user("duty_officer") as (browser, _token), \
            console.as_admin() as (admin, _admin_token):
        page = (await browser.get("/duty")).text
        assert "值班室" in page and "13800001111" not in page
        assert "13800001111" in (await admin.get("/duty")).text
    read = await console.api.get("/api/v1/roster",
                                 headers={"Authorization": f"Bearer {READER_KEY}"})
    assert read.status_code == 200 and "13800001111" not in read.text
    [room] = [m for m in read.json()["members"] if m["id"] == "duty-room"]
    assert room["channels"]["sms"] == {"address": None, "signed": False}
    duty = await console.api.get("/api/v1/roster/duty",
                                 headers={"Authorization": f"Bearer {READER_KEY}"})
    assert duty.status_code == 200
    edit = await console.api.put("/api/v1/roster/duty", json={"items": []},
                                 headers={"Authorization": f"Bearer {READER_KEY}"})
    assert edit.status_code == 403


def parse_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_the_csv_export_has_the_page_figures_and_keeps_drills_apart(
        console: Console) -> None:
    for drill in (False, True, True):
        posted = await console.api.post("/api/v1/complaints", json={
            "channel": "hotline", "content": "快递送晚了两天，包装也破了", "drill": drill})
        assert posted.status_code == 202

    async def triaged() -> bool:
        real = (await console.api.get("/api/v1/cases/stats")).json()
        drill = (await console.api.get("/api/v1/cases/stats", params={"drill": "true"})).json()
        counts: tuple[int, int] = (sum(real["by_state"].values()),
                                   sum(drill["by_state"].values()))
        return counts == (1, 2)

    await eventually(triaged, "three cases triaged")
    async with console.as_user("duty_officer") as (browser, token):
        answer = await browser.get("/stats.csv")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.headers["content-disposition"].startswith("attachment;")
        rows = parse_csv(answer.content)
        assert set(rows[0]) == {"scope", "figure", "key", "label", "count"}
        assert {r["scope"] for r in rows} == {"real"}
        states = {r["key"]: int(r["count"]) for r in rows if r["figure"] == "cases_by_state"}
        assert sum(states.values()) == 1
        open_by_level = [r for r in rows if r["figure"] == "open_by_level"]
        assert [r["key"] for r in open_by_level] == ["1", "2", "3", "4"]
        assert any(r["label"].endswith("级响应") for r in open_by_level)  # zh by default

        page = (await browser.get("/stats")).text
        assert "仅统计真实案件" in page and 'href="/stats.csv"' in page

        await browser.post("/drill", data={"csrf_token": token, "next": "/stats"})
        drill_rows = parse_csv((await browser.get("/stats.csv")).content)
        assert {r["scope"] for r in drill_rows} == {"DRILL"}
        assert sum(int(r["count"]) for r in drill_rows if r["figure"] == "cases_by_state") == 2
        drill_page = (await browser.get("/stats")).text
        assert "仅统计演练数据" in drill_page


# -------------------------------------------------------------------------- mentions API


async def test_mentions_list_pages_newest_first_and_filters(console: Console) -> None:
    ids = await post_mentions(console.api, [mention(i) for i in range(4)])
    ids += await post_mentions(console.api, [mention(9, source="news", negative=False)])
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await console.api.get("/api/v1/mentions", params=params)).json()
        seen += [m["id"] for m in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and sorted(seen) == sorted(ids) and len(set(seen)) == 5
    received = [(await console.api.get(f"/api/v1/mentions/{m}")).json()["received_at"]
                for m in seen]
    assert received == sorted(received, reverse=True)
    one = (await console.api.get("/api/v1/mentions", params={"limit": 1})).json()["items"][0]
    assert one == (await console.api.get(f"/api/v1/mentions/{one['id']}")).json()

    news = (await console.api.get("/api/v1/mentions", params={"source": "news"})).json()
    assert [m["id"] for m in news["items"]] == [ids[4]]
    labels = {m["sentiment"]["label"] for m in (await console.api.get(
        "/api/v1/mentions", params={"sentiment_label": "negative"})).json()["items"]}
    assert labels <= {"negative"}
    for level in (1, 2, 3, 4):
        severe = (await console.api.get("/api/v1/mentions", params={"min_risk": level})).json()
        assert all(m["risk_level"] <= level for m in severe["items"])
    every = (await console.api.get("/api/v1/mentions", params={"min_risk": 4})).json()
    assert len(every["items"]) == 5


async def test_mentions_list_refuses_bad_input(console: Console) -> None:
    for params in ({"cursor": "not-a-cursor"}, {"cursor": "bm9wZQ"}):
        bad = await console.api.get("/api/v1/mentions", params=params)
        assert bad.status_code == 422, params  # named as the field at fault
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert "cursor" in bad.text
    invalid: list[dict[str, Any]] = [{"limit": 201}, {"limit": 0}, {"min_risk": 5},
                                     {"source": "fax"}, {"sentiment_label": "angry"}]
    for params in invalid:
        assert (await console.api.get("/api/v1/mentions", params=params)).status_code == 422
    reader = await console.api.get("/api/v1/mentions",
                                   headers={"Authorization": f"Bearer {READER_KEY}"})
    assert reader.status_code == 200


# -------------------------------------------------------------------------- users API


async def test_users_api_creates_changes_and_never_shows_a_password(console: Console) -> None:
    body = {"username": "li.si", "display_name": "李四", "password": PASSWORD,
            "role": "duty_officer"}
    created = await console.api.post("/api/v1/admin/users", json=body)
    assert created.status_code == 201, created.text
    assert created.json() == {"username": "li.si", "display_name": "李四",
                              "role": "duty_officer", "pii": False, "disabled": False}
    taken = await console.api.post("/api/v1/admin/users", json=body)
    assert taken.status_code == 409
    listed = await console.api.get("/api/v1/admin/users")
    assert [u["username"] for u in listed.json()["items"]] == ["li.si", "admin"]  # newest first
    assert PASSWORD not in listed.text and "hash" not in listed.text

    changed = await console.api.patch("/api/v1/admin/users/li.si",
                                      json={"role": "leader", "pii": True})
    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["pii"]) == ("leader", True)
    renewed = await console.api.patch("/api/v1/admin/users/li.si",
                                      json={"password": "another long secret"})
    assert renewed.status_code == 200 and "another long secret" not in renewed.text
    async with console.browser() as browser:
        await sign_in(browser, "li.si", "another long secret")
    off = await console.api.patch("/api/v1/admin/users/li.si", json={"disabled": True})
    assert off.status_code == 200 and off.json()["disabled"] is True
    async with console.browser() as browser:
        with pytest.raises(AssertionError, match="sign-in refused"):
            await sign_in(browser, "li.si", "another long secret")
    assert (await console.api.patch("/api/v1/admin/users/nobody",
                                    json={"pii": True})).status_code == 404


async def test_users_api_refuses_bad_input_and_non_admins(console: Console) -> None:
    good = {"username": "wang.wu", "display_name": "王五", "password": PASSWORD,
            "role": "leader"}
    for bad in ({**good, "username": "Wang Wu"}, {**good, "password": "short"},
                {**good, "role": "root"}, {**good, "scopes": ["admin"]}, {**good, "x": 1}):
        assert (await console.api.post("/api/v1/admin/users", json=bad)).status_code == 422
    await console.api.post("/api/v1/admin/users", json=good)
    unknown = await console.api.patch("/api/v1/admin/users/wang.wu", json={"scopes": "admin"})
    assert unknown.status_code == 422 and "scopes" in unknown.text
    short = await console.api.patch("/api/v1/admin/users/wang.wu", json={"password": "x"})
    assert short.status_code == 422 and "x" not in short.json()["detail"].split()
    reader = {"Authorization": f"Bearer {READER_KEY}"}
    assert (await console.api.get("/api/v1/admin/users", headers=reader)).status_code == 403
    assert (await console.api.post("/api/v1/admin/users", headers=reader,
                                   json=good)).status_code == 403
    assert (await console.api.patch("/api/v1/admin/users/wang.wu", headers=reader,
                                    json={"role": "admin"})).status_code == 403
    assert (await console.api.get("/api/v1/admin/users",
                                  headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_users_page_creates_and_changes_users(console: Console) -> None:
    async with console.as_admin() as (admin, token):
        made = await admin.post("/admin/users", data={
            "csrf_token": token, "username": "zhao.liu", "display_name": "赵六",
            "password": PASSWORD, "role": "opinion_officer", "pii": "on"})
        assert made.status_code == 200 and "已创建用户 zhao.liu" in made.text
        again = await admin.post("/admin/users", data={
            "csrf_token": token, "username": "zhao.liu", "display_name": "赵六",
            "password": PASSWORD, "role": "opinion_officer"})
        assert again.status_code == 409
        short = await admin.post("/admin/users", data={
            "csrf_token": token, "username": "qian.qi", "display_name": "钱七",
            "password": "short", "role": "leader"})
        assert short.status_code == 422 and "password" in short.text
        role = await admin.post("/admin/users/zhao.liu", data={
            "csrf_token": token, "action": "access", "role": "leader"})
        assert role.status_code == 200
        disable = await admin.post("/admin/users/zhao.liu",
                                   data={"csrf_token": token, "action": "disable"})
        assert disable.status_code == 200
        myself = await admin.post("/admin/users/admin",
                                  data={"csrf_token": token, "action": "disable"})
        assert myself.status_code == 409
        no_token = await admin.post("/admin/users/zhao.liu", data={"action": "enable"})
        assert no_token.status_code == 403
    users = {u["username"]: u for u in
             (await console.api.get("/api/v1/admin/users")).json()["items"]}
    assert users["zhao.liu"] == {"username": "zhao.liu", "display_name": "赵六",
                                 "role": "leader", "pii": False, "disabled": True}
    assert users["admin"]["disabled"] is False and "qian.qi" not in users
    async with console.as_user("duty_officer") as (duty, duty_token):
        refused = await duty.post("/admin/users", data={
            "csrf_token": duty_token, "username": "evil", "display_name": "x",
            "password": PASSWORD, "role": "admin"})
        assert refused.status_code == 403
    assert "evil" not in {u["username"] for u in
                          (await console.api.get("/api/v1/admin/users")).json()["items"]}


# -------------------------------------------------------------------------- live fragments


async def test_the_fragments_a_notice_refetches_render(console: Console) -> None:
    await post_mentions(console.api, [mention(i) for i in range(30)])
    async with console.as_user("leader") as (browser, _token):
        for path in ("/incidents/list", "/opinion/live", "/statements/list", "/duty/now",
                     "/stats/live"):
            fragment = await browser.get(path)
            assert fragment.status_code == 200, path
            assert "<html" not in fragment.text, path
        first = (await browser.get("/opinion/live")).text
        cursor = re.search(r'/opinion/mentions\?cursor=([^&"]+)', first)
        assert cursor is not None
        more = await browser.get(f"/opinion/mentions?cursor={cursor.group(1)}")
        assert more.status_code == 200 and more.text.count('class="mention-row') == 5


def test_spike_windows_are_snapped_to_the_chart_buckets() -> None:
    series = [{"bucket_start": f"2026-12-01T0{h}:00:00+00:00"} for h in range(4)]
    alerts = [{"warning_level": 2, "evidence": {"window_start": "2026-12-01T01:10:00+00:00",
                                                "window_end": "2026-12-01T03:00:00+00:00"}},
              {"warning_level": 1, "evidence": {"window_start": "2026-11-30T01:00:00+00:00",
                                                "window_end": "2026-11-30T02:00:00+00:00"}},
              {"warning_level": 3, "evidence": {}}]
    areas = spike_areas({"bucket_s": 3600, "series": series, "alerts": alerts},
                        ZoneInfo("Asia/Shanghai"), "spike {level}")
    assert areas == [[{"name": "spike 2", "xAxis": "12-01 09:00"}, {"xAxis": "12-01 10:00"}]]


async def test_the_case_page_shows_every_answer_version(console: Console) -> None:
    posted = await console.api.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "宽带断网三天无法使用，我很愤怒"})
    complaint_id = posted.json()["id"]

    async def triaged() -> bool:
        view = await console.api.get(f"/api/v1/complaints/{complaint_id}")
        return view.json()["case"] is not None

    await eventually(triaged, "the complaint is triaged")
    case_id = (await console.api.get(f"/api/v1/complaints/{complaint_id}")).json()["case"]["id"]
    for action, body in (("acknowledge", {}), ("answer", {"text": "第一版答复"}),
                         ("appeal", {"reason": "补偿不足"}), ("answer", {"text": "复议后的答复"})):
        done = await console.api.post(f"/api/v1/cases/{case_id}/{action}", json=body)
        assert done.status_code == 200, done.text
    async with console.as_user("duty_officer") as (browser, _token):
        page = (await browser.get(f"/cases/{case_id}")).text
    listed = page[page.index('id="answers"'):]
    listed = listed[:listed.index("</ol>")]
    assert listed.index("v1") < listed.index("第一版答复") < listed.index("v2") < listed.index(
        "复议后的答复")
    assert "答复（全部版本）" in page
