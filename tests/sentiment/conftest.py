"""A sentiment app of the test's own on SQLite and the memory bus, with a clock the test sets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sentiment_svc.main import create_app
from sentiment_svc.settings import SentimentSettings
from shared.bus import MemoryBroker
from tests.support import Clock, Sentiment, as_gateway


@pytest.fixture
async def sentiment(tmp_path: Path) -> AsyncIterator[Sentiment]:
    broker = MemoryBroker()
    settings = SentimentSettings(data_dir=tmp_path,
                                 database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    app = create_app(settings, broker=broker)
    clock = Clock()
    app.state.intake_state.clock = clock
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sentiment",
            auth=as_gateway(app)) as client:
        s = Sentiment(app, client, broker, clock)
        s.runtime.listeners.append(s.observe)
        yield s
