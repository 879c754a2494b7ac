"""Gateways with settings of a test's choosing (small limits), on the embedded system."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.auth import ApiKey, key_hash
from services.launcher import build_embedded
from services.settings import GatewaySettings
from tests.support import ADMIN, Gateway

LIMITED = ApiKey("limited", "ops", frozenset({"cases:read"}), key_hash("key-limited"),
                 rate_per_s=0.1, burst=3)


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    """`async with gateway(name, **settings) as client`: an embedded system of its own
    (data under tmp_path/name) with the key `key-limited` (3 requests, then 0.1/s)."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))

    @contextlib.asynccontextmanager
    async def start(name: str = "a", **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        data = tmp_path / name
        app = build_embedded(GatewaySettings(data_dir=data, dev_api_key=ADMIN, **settings),
                             [LIMITED]).gateway
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://beacon") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client

    return start
