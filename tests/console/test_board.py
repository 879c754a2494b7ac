"""The board: lanes by level, filters in the URL (drill among them), saved views, bulk
actions, and paging within a lane."""

from __future__ import annotations

import re

from tests.support import PASSWORD, ConsoleWorld, sign_in

LEVEL_ONE = "燃气爆炸，两人受伤送医"
ORDINARY = "营业厅排队太久，服务一般"


async def _file(world: ConsoleWorld, text: str, *, drill: bool = False,
                channel: str = "hotline") -> None:
    posted = await world.system.client.post("/api/v1/complaints", json={
        "channel": channel, "content": text, "drill": drill})
    assert posted.status_code == 202


def _cards(page: str, level: int) -> list[str]:
    lane = page.split(f'id="lane-{level}-cards"')[1].split("</ol>")[0]
    return re.findall(r'data-case-id="([0-9a-f]+)"', lane)


async def test_lanes_by_level_and_filters_in_the_url(world: ConsoleWorld) -> None:
    await _file(world, LEVEL_ONE)
    await _file(world, ORDINARY, channel="web")
    await _file(world, LEVEL_ONE, drill=True)
    await world.system.notified.applied(3)
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        board = (await browser.get("/board")).text
        assert len(_cards(board, 1)) == 1 and len(_cards(board, 4)) == 1
        only_one = (await browser.get("/board?level=1")).text
        assert 'id="lane-4-cards"' not in only_one and len(_cards(only_one, 1)) == 1
        by_channel = (await browser.get("/board?channel=web")).text
        assert len(_cards(by_channel, 1)) == 0 and len(_cards(by_channel, 4)) == 1
        drills = (await browser.get("/board?drill=true")).text
        assert "drill-banner" in drills and len(_cards(drills, 1)) == 1
        assert _cards(drills, 1) != _cards(board, 1)  # the drill's own case, not the real one
        assert (await browser.get("/board?level=9&channel=fax")).status_code == 200


async def test_a_saved_view_brings_its_filters_back(world: ConsoleWorld) -> None:
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        saved = await browser.post("/board/views", data={
            "csrf_token": token, "name": "一级热线", "query": "level=1&channel=hotline"})
        assert saved.headers["location"] == "/board?level=1&channel=hotline"
        board = (await browser.get("/board")).text
        assert 'href="/board?level=1&amp;channel=hotline"' in board and "一级热线" in board
    async with world.browser() as other:
        await sign_in(other, "leader", PASSWORD)
        assert "一级热线" not in (await other.get("/board")).text  # views are per user


async def test_bulk_acknowledge_reports_each_result(world: ConsoleWorld) -> None:
    for _ in range(3):
        await _file(world, LEVEL_ONE)
    await world.system.notified.applied(3)
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)
        ids = _cards((await browser.get("/board")).text, 1)
        assert len(ids) == 3
        answer = await browser.post("/board/bulk", data={
            "csrf_token": token, "action": "acknowledge", "case_ids": [*ids, "nosuchcase"]})
        assert "3 个完成，1 个被拒绝" in answer.text
    states = {(await world.system.client.get(f"/api/v1/cases/{i}")).json()["state"]
              for i in ids}
    assert states == {"acknowledged"}


async def test_a_lane_pages_with_more(world: ConsoleWorld) -> None:
    world.system.embedded.gateway.state.console.settings.lane_size = 5
    for i in range(7):
        await _file(world, f"{ORDINARY} {i}")
    await world.system.notified.applied(7)
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        board = (await browser.get("/board")).text
        first = _cards(board, 4)
        more = re.search(r'hx-get="(/board/lane/4\?cursor=[^"]+)"', board)
        assert len(first) == 5 and more is not None
        rest = (await browser.get(more.group(1).replace("&amp;", "&"))).text
        second = re.findall(r'data-case-id="([0-9a-f]+)"', rest)
        assert len(second) == 2 and not set(first) & set(second)
