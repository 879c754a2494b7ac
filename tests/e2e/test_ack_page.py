"""The acknowledgement page in a real browser (headless Chromium): the embedded system on a
real port; opening the link a message carried acknowledges nothing (chat apps preview
links), pressing its button does, once, and the page says so."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import async_playwright

from deploy.tansu import free_port
from services.launcher import build_embedded
from services.settings import GatewaySettings
from tests.support import ADMIN, CHROMIUM_ARGS, Tally, until


async def _delivery(client: httpx.AsyncClient, complaint_id: str) -> dict[str, Any]:
    answer = await client.get("/api/v1/notifications", params={"complaint_id": complaint_id})
    first: dict[str, Any] = answer.json()["items"][0]
    return first


async def test_the_button_acknowledges_and_opening_the_link_does_not(
        chromium: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    embedded = build_embedded(GatewaySettings(data_dir=tmp_path, dev_api_key=ADMIN))
    notified = Tally()
    embedded.services["notify"].state.runtime.listeners.append(notified.observe)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(embedded.gateway, host="127.0.0.1", port=port,
                                           log_level="warning"))
    serving = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        await until(lambda: server.started or serving.done(), within=30)
        async with httpx.AsyncClient(base_url=base,
                                     headers={"Authorization": f"Bearer {ADMIN}"}) as client:
            posted = await client.post("/api/v1/complaints", json={
                "channel": "hotline", "content": "插座漏电，存在安全隐患"})
            assert posted.status_code == 202, posted.text
            await notified.applied(1)
            delivery = await _delivery(client, posted.json()["id"])
            token = embedded.services["notify"].state.notifier.tokens.token_for(delivery["id"])
            link = f"{base}/api/v1/notifications/ack?token={token}"

            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=chromium,
                                                          args=CHROMIUM_ARGS)
                page = await browser.new_page()
                opened = await page.goto(link)
                assert opened is not None and opened.status == 200
                assert "Acknowledge" in await page.title()
                assert (await _delivery(client, posted.json()["id"]))["acknowledged_at"] is None

                await page.click("#ack")
                await page.wait_for_selector("#result:has-text('已确认 Acknowledged')")
                acked = await _delivery(client, posted.json()["id"])
                assert acked["acknowledged_at"] is not None

                await page.reload()
                assert "Already acknowledged" in await page.inner_text("body")
                assert await page.query_selector("#ack") is None
                await browser.close()
    finally:
        server.should_exit = True
        await serving
