"""The acknowledgement page in a real browser (headless Chromium): the embedded system on a
real port; the link a notification item shows points at that port; opening it acknowledges
nothing (chat apps preview links), pressing its button does, once, and the page then says
when, in local time, that the case is acknowledged and what is still due. On a 375 px wide
phone it fits the screen and stays readable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import ViewportSize, async_playwright

from deploy.support import free_port
from services.launcher import build_embedded
from services.settings import GatewaySettings
from tests.support import ADMIN, CHROMIUM_ARGS, Tally, eventually

PHONE: ViewportSize = {"width": 375, "height": 667}


async def _delivery(client: httpx.AsyncClient, complaint_id: str) -> dict[str, Any]:
    answer = await client.get("/api/v1/notifications", params={"complaint_id": complaint_id})
    first: dict[str, Any] = answer.json()["items"][0]
    return first


@asynccontextmanager
async def _serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                   ) -> AsyncIterator[tuple[str, httpx.AsyncClient, str]]:
    """The embedded system on a free port (GATEWAY_PORT, which links follow), a client
    with the admin key, and one level-3 complaint's id once notify has handled it."""
    port = free_port()
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_PORT", str(port))
    for name in ("BEACON_PUBLIC_URL", "NOTIFY_PUBLIC_URL", "GATEWAY_HOST"):
        monkeypatch.delenv(name, raising=False)
    embedded = build_embedded(GatewaySettings(data_dir=tmp_path, dev_api_key=ADMIN))
    notified = Tally()
    embedded.services["notify"].state.runtime.listeners.append(notified.observe)
    server = uvicorn.Server(uvicorn.Config(embedded.gateway, host="127.0.0.1", port=port,
                                           log_level="warning"))
    serving = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        await eventually(lambda: server.started or serving.done(), "the server started",
                         within=30)
        async with httpx.AsyncClient(base_url=base,
                                     headers={"Authorization": f"Bearer {ADMIN}"}) as client:
            posted = await client.post("/api/v1/complaints", json={
                "channel": "hotline", "content": "插座漏电，存在安全隐患"})
            assert posted.status_code == 202, posted.text
            await notified.applied(1)
            yield base, client, posted.json()["id"]
    finally:
        server.should_exit = True
        await serving


async def test_the_button_acknowledges_and_opening_the_link_does_not(
        chromium: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _serving(tmp_path, monkeypatch) as (base, client, complaint_id):
        delivery = await _delivery(client, complaint_id)
        link = delivery["ack_url"]
        assert link.startswith(f"{base}/api/v1/notifications/ack?token=")  # follows the port

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium,
                                                      args=CHROMIUM_ARGS)
            page = await browser.new_page(locale="en-GB")
            opened = await page.goto(link)
            assert opened is not None and opened.status == 200
            assert await page.title() == "Acknowledge"  # Accept-Language: en-GB
            assert (await _delivery(client, complaint_id))["acknowledged_at"] is None

            await page.click("#ack")
            await page.wait_for_selector("#acknowledged")
            acked = await _delivery(client, complaint_id)
            assert acked["acknowledged_at"] is not None
            said = await page.inner_text("#acknowledged")
            assert "The case is acknowledged." in said
            assert "+00:00" not in said and "T" not in said.split(" at ")[1][:11]
            assert "Still due:" in await page.inner_text("#due")
            assert "report up:" in await page.inner_text("#due")
            assert await page.query_selector("#ack") is None

            await page.goto(link + "&lang=zh")
            assert "确认" in await page.inner_text("#acknowledged")
            assert "仍需完成" in await page.inner_text("#due")
            await browser.close()


async def test_the_page_fits_a_phone_screen(
        chromium: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _serving(tmp_path, monkeypatch) as (_, client, complaint_id):
        link = (await _delivery(client, complaint_id))["ack_url"]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium,
                                                      args=CHROMIUM_ARGS)
            phone = await browser.new_context(viewport=PHONE, device_scale_factor=2,
                                              is_mobile=True, has_touch=True, locale="zh-CN")
            page = await phone.new_page()
            await page.goto(link)
            layout = await page.evaluate("""() => {
                const button = document.getElementById("ack").getBoundingClientRect();
                const body = getComputedStyle(document.body);
                return {scroll: document.documentElement.scrollWidth,
                        inner: window.innerWidth, button: button.width,
                        buttonHeight: button.height, font: parseFloat(body.fontSize)};
            }""")
            # Without the viewport meta a mobile browser lays out at 980 px and shrinks it.
            assert layout["inner"] == 375, layout
            assert layout["scroll"] <= 375, layout  # nothing runs off the side
            assert layout["font"] >= 16, layout
            assert layout["button"] >= 300 and layout["buttonHeight"] >= 44, layout  # a thumb
            assert await page.title() == "确认收到"
            await page.tap("#ack")
            await page.wait_for_selector("#acknowledged")
            after = await page.evaluate("document.documentElement.scrollWidth")
            assert after <= 375
            await browser.close()
