"""Two sentiment replicas on one PostgreSQL database take the same article at the same moment
(two crawlers): both ask for their turn together, one stores the article, and the other,
its turn coming after that commit, finds the URL and answers with the winner's mention
instead of failing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sentiment_svc.main import create_app
from sentiment_svc.settings import SentimentSettings
from shared.bus import MemoryBroker
from tests.support import as_gateway, connect, race

pytestmark = pytest.mark.postgres
ARTICLE = {"source": "news", "url": "https://news.example.cn/a/race",
           "title": "某品牌热水器漏电致用户受伤",
           "content": "多名消费者投诉某品牌热水器漏电，已有用户受伤住院。"}


@pytest.fixture
async def replicas(pg_database: str, tmp_path: Path) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two sentiment apps on one database, started one after the other."""
    broker = MemoryBroker()
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for n in range(2):
            app = create_app(SentimentSettings(database_url=pg_database,
                                               data_dir=tmp_path / str(n)), broker=broker)
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients.append(await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://sentiment-{n}",
                auth=as_gateway(app))))
        yield clients


async def test_the_replica_that_loses_the_url_answers_with_the_winners_mention(
        replicas: list[httpx.AsyncClient], pg_database: str) -> None:
    # Both wait at once for their turn (the intake revision's row), then take it in turn.
    answers = await race(pg_database, "sentiment_intake_revision", *[
        client.post("/api/v1/mentions", json={"mentions": [ARTICLE]}) for client in replicas])
    bodies = [answer.json() for answer in answers]
    assert [answer.status_code for answer in answers] == [202, 202], bodies
    # Only the turn (or the retry) gives the loser this answer (else the unique URL is a 500).
    assert sorted((b["accepted"], b["duplicates"]) for b in bodies) == [(0, 1), (1, 0)]
    assert bodies[0]["ids"] == bodies[1]["ids"]
    conn = await connect(pg_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM sentiment_mentions") == 1
    finally:
        await conn.close()
