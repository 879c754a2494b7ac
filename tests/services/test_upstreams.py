"""A replica that refuses connections (stopped, restarting) is skipped: the request never
reached it, so the next replica gets it; only when every replica refuses does it fail."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from deploy.support import free_port
from services.upstreams import Upstream


def _live() -> httpx.AsyncClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo() -> dict[str, str]:
        return {"from": "live"}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://live")


def _stopped() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}", timeout=2)


async def test_a_stopped_replica_is_skipped() -> None:
    upstream = Upstream("triage", [_stopped(), _live()])
    try:
        answers = [await upstream.request("POST", "/echo") for _ in range(4)]
    finally:
        await upstream.aclose()
    assert [a.json() for a in answers] == [{"from": "live"}] * 4


async def test_every_replica_refusing_is_an_error() -> None:
    upstream = Upstream("triage", [_stopped(), _stopped()])
    try:
        with pytest.raises(httpx.ConnectError):
            await upstream.request("GET", "/echo")
    finally:
        await upstream.aclose()
