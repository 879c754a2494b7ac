"""The statistics page shows the last 7 days of both reports: the hotspot table with its
change, SLA per level, and the public-opinion figures; in Chinese by default, in English
on request; drills apart (no public-opinion figures in drill mode: mentions have none)."""

from __future__ import annotations

import re

from services.console.i18n import translator
from services.console.web import LANG_COOKIE
from tests.support import PASSWORD, ConsoleWorld, eventually, sign_in


def _cell(page: str, table: str) -> str:
    found = re.search(rf'<table[^>]*id="{table}".*?</table>', page, re.S)
    assert found is not None, f"no table {table}"
    return found.group(0)


async def test_the_stats_page_shows_hotspots_and_public_opinion(world: ConsoleWorld) -> None:
    api = world.system.client
    for content in ("话费多扣了二十元", "话费又多扣了三十元"):
        posted = await api.post("/api/v1/complaints", json={
            "channel": "hotline", "content": content, "target": {"department": "营业厅D"}})
        assert posted.status_code == 202
    mention = await api.post("/api/v1/mentions", json={
        "source": "weibo", "content": "某营业厅乱扣话费，用户很愤怒"})
    assert mention.status_code == 202

    async def filed() -> bool:
        report = (await api.get("/api/v1/reports/hotspots")).json()
        return bool(report["total"]["count"] == 2)

    await eventually(filed, "two cases in the hotspot report")
    category = (await api.get("/api/v1/reports/hotspots")).json()["groups"][0]["key"]
    async with world.browser() as browser:
        await sign_in(browser, "leader", PASSWORD)
        page = (await browser.get("/stats")).text
        assert "投诉热点：近 7 天与前 7 天对比" in page
        groups = _cell(page, "hotspot-groups")
        assert "前 7 天" in groups and "<td>2</td><td>0</td><td>+2</td>" in groups
        assert "<td>2</td>" in _cell(page, "hotspot-sla")
        # The reports' charts, the same figures as their PDFs (shared.charts).
        charts = re.search(r'id="hotspot-charts".*?</div>\s*</div>\s*<div', page, re.S)
        assert charts is not None and 'aria-label="各类投诉量"' in charts.group(0)
        assert "&#34;data&#34;: [2]" in charts.group(0)  # this week's two cases
        assert 'id="opinion-charts"' in page and 'aria-label="各来源舆情"' in page
        opinion = _cell(page, "opinion-report")
        assert "<tbody><tr><td>1</td><td>0</td>" in opinion and "负面占比" in opinion

        browser.cookies.set(LANG_COOKIE, "en")
        english = (await browser.get("/stats")).text
        assert "Hotspots: the last 7 days against the 7 before" in english
        label = translator("en")(category)
        assert f'<th scope="row">{label}</th><td>2</td>' in _cell(english, "hotspot-groups")

        drill = (await browser.get("/stats", params={"drill": "true"})).text
        assert "<td>2</td><td>0</td><td>+2</td>" not in _cell(drill, "hotspot-groups")
        assert 'id="opinion-report"' not in drill
