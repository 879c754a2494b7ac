"""`make screenshots`: the console's pages, with demo data, as PNGs in docs/screenshots/.

Starts the embedded system in a temporary folder, files a morning's worth of complaints and
mentions through the public API (as a hotline and a monitoring bot would), drafts and
approves a statement, then signs in through the login form in headless Chromium (Debian's
`chromium`, with `fonts-noto-cjk` for the Chinese) and photographs each page."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, async_playwright

from deploy.loopback import served
from services.launcher import build_embedded
from services.settings import GatewaySettings

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SECRET = "screenshot-admin-secret-0123"
COMPLAINTS = [
    ("hotline", "燃气管道爆炸，两名住户烧伤送医，楼道玻璃全碎", 1),
    ("onsite", "小区三百多户业主明天要到公司门口拉横幅，抗议物业乱收费", 1),
    ("media", "记者来电询问你们门店食品过期的问题，要求今天答复", 1),
    ("hotline", "插座冒火花，电线裸露，担心孩子触电", 1),
    ("web", "我已经请了律师，准备起诉你们违约", 1),
    ("email", "This is my third email about the same double charge. Nobody answers.", 1),
    ("app", "再不给我处理，我就打12315投诉，还要发微博曝光", 1),
    ("hotline", "家里停水两天了，老人孩子没法生活", 1),
    ("web", "营业厅排队一个多小时，工作人员态度冷淡", 3),
    ("letter", "发票抬头开错了，申请重开", 2),
    ("wechat", "快递又晚了两天，包装也破了", 2),
]
GROUP_TEXT = "宽带月费被重复扣费，多扣了一百元，客服说系统问题"
MENTIONS = [
    ("weibo", "燃气公司回应爆炸事故避重就轻，网友不满"),
    ("news", "某小区发生燃气爆炸，两人受伤送医，事故原因正在调查"),
    ("forum", "燃气管道老化漏气，爆炸伤人，燃气公司失职"),
    ("weibo", "物业服务最近改善很多，维修师傅很快就上门了，点赞"),
    ("news", "市燃气公司发布通知：本周六进行管道安全检查"),
]
PAGES = [("login", "/login"), ("board", "/board"), ("case", None), ("register", "/register"),
         ("incidents", "/incidents"), ("incident", None), ("opinion", "/opinion"),
         ("statements", "/statements"), ("duty", "/duty"), ("stats", "/stats"),
         ("drills", "/drills"), ("users", "/admin/users")]


async def seed(api: httpx.AsyncClient) -> None:
    """A morning at the duty desk, filed through the public API."""
    for i, (channel, text, times) in enumerate(COMPLAINTS):
        for n in range(times):
            await api.post("/api/v1/complaints", json={
                "channel": channel, "content": text, "target": {"department": "客服部"},
                "complainant": {"name": f"投诉人{i}{n}", "phone": f"1380000{i:02d}{n:02d}"}})
    for n in range(4):
        await api.post("/api/v1/complaints", json={
            "channel": "hotline", "content": GROUP_TEXT,
            "target": {"department": "宽带事业部", "product": "宽带"},
            "complainant": {"name": f"用户{n}", "phone": f"1390000{n:04d}"}})
    now = datetime.now(UTC)
    burst = [{"source": source, "content": text, "url": f"https://example.org/{k}-{n}",
              "published_at": (now - timedelta(minutes=k)).isoformat(),
              "reach": {"followers": 5000, "reposts": 200}}
             for n in range(24) for k, (source, text) in enumerate(MENTIONS)]
    await api.post("/api/v1/mentions", json={"mentions": burst})
    drafted = await api.post("/api/v1/statements", json={
        "title": "关于燃气事故的说明", "language": "zh",
        "text": "我公司已第一时间赶赴现场处置，伤者正在医院接受治疗，事故原因正在调查。"})
    leader = await api.post("/api/v1/admin/keys", json={  # four eyes: another approves
        "name": "leader", "owner": "leader-wang", "scopes": ["statements:approve"]})
    if drafted.status_code == 201 and leader.status_code == 201:
        await api.post(f"/api/v1/statements/{drafted.json()['id']}/approve",
                       headers={"Authorization": f"Bearer {leader.json()['key']}"})
    await api.post("/api/v1/complaints", json={
        "channel": "hotline", "drill": True, "content": "演练：商场扶梯倒转，多人摔伤"})
    await api.post("/api/v1/drills", json={"scenario": "branch-group-complaint", "speed": 600})
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    await api.put("/api/v1/roster/duty", json={"items": [
        {"date": (today + timedelta(days=d)).isoformat(), "start_hour": start,
         "end_hour": end, "role": "duty_room", "member": "duty-room"}
        for d in (-1, 0, 1) for start, end in ((8, 20), (20, 8))]})


async def sign_in(page: Page) -> None:
    await page.goto("/login")
    await page.fill("#username", "admin")
    await page.fill("#password", SECRET)
    await page.click("form[action='/login'] button")
    await page.wait_for_url("**/board")


async def photograph(base: str, out: Path, chromium: str, language: str) -> list[Path]:
    shots: list[Path] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = await browser.new_page(base_url=base, viewport={"width": 1400, "height": 900})
        await page.screenshot(path=str(out / "tmp.png"))  # warm fonts
        await page.goto(f"/lang/{language}?next=/login")
        for name, path in PAGES:
            if name == "board":
                await sign_in(page)
            elif name == "case":
                await page.goto("/board")
                await page.locator("#lane-1-cards .case-link").first.click()
                await page.wait_for_url("**/cases/*")
            elif name == "incident":  # the first incident's page (summary, forms)
                await page.goto("/incidents")
                await page.locator("table a[href^='/incidents/']").first.click()
                await page.wait_for_url("**/incidents/*")
            else:
                await page.goto(path or "/board")
            await page.wait_for_timeout(700)  # charts animate in; countdowns tick once
            target = out / f"{name}{'' if language == 'zh' else '-en'}.png"
            await page.screenshot(path=str(target), full_page=name != "board")
            shots.append(target)
        await browser.close()
    (out / "tmp.png").unlink(missing_ok=True)
    return shots


async def main(data: Path, out: Path, chromium: str, languages: list[str]) -> None:
    embedded = build_embedded(GatewaySettings(data_dir=data, dev_api_key=SECRET))
    async with served(embedded.gateway, lifespan=True) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     headers={"Authorization": f"Bearer {SECRET}"}) as api:
            await seed(api)
        await asyncio.sleep(2)  # a picture, not a test: triage and spikes settle meanwhile
        for language in languages:
            for shot in await photograph(base, out, chromium, language):
                print(f"wrote {shot}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--language", action="append", choices=["zh", "en"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DATA_DIR"] = folder
        asyncio.run(main(Path(folder), args.out, args.chromium, args.language or ["zh", "en"]))
