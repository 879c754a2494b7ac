"""Two intake replicas on one PostgreSQL database take the same complaint at the same moment
(a client retrying on another replica): both read no earlier row, both insert, the unique
key lets one win, and the other answers from the winner's row instead of failing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from intake_svc.main import create_app
from intake_svc.settings import IntakeSettings
from shared.bus import MemoryBroker
from tests.support import as_gateway, connect, race

pytestmark = pytest.mark.postgres
HOTLINE = {"x-beacon-owner": "hotline-a", "x-beacon-key-id": "k-hotline",
           "x-beacon-scopes": "complaints:write complaints:read"}


@pytest.fixture
async def replicas(pg_database: str, tmp_path: Path) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two intake apps on one database (and one key ring), started one after the other."""
    broker = MemoryBroker()
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for n in range(2):
            app = create_app(IntakeSettings(database_url=pg_database, data_dir=tmp_path),
                             broker=broker)
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients.append(await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://intake-{n}",
                auth=as_gateway(app), headers=HOTLINE)))
        yield clients


async def _stored(url: str) -> int:
    conn = await connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM intake_complaints"))
    finally:
        await conn.close()


@pytest.mark.parametrize("same", ["idempotency-key", "external-ref"])
async def test_the_replica_that_loses_the_insert_answers_with_the_winners_complaint(
        replicas: list[httpx.AsyncClient], pg_database: str, same: str) -> None:
    body: dict[str, Any] = {"channel": "hotline", "content": "停水三天了，无人处理"}
    headers = {}
    if same == "idempotency-key":
        headers["Idempotency-Key"] = "retry-1"
    else:
        body["external_ref"] = "hotline-call-1"
    answers = await race(pg_database, "intake_complaints", *[
        client.post("/api/v1/complaints", json=body, headers=headers) for client in replicas])
    # Only the fallback gives the loser this answer (without it, its insert error is a 500).
    assert sorted(a.status_code for a in answers) == [200, 202], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert await _stored(pg_database) == 1


async def test_a_batch_that_loses_an_insert_answers_item_by_item(
        replicas: list[httpx.AsyncClient], pg_database: str) -> None:
    def item(ref: str) -> dict[str, str]:
        return {"channel": "hotline", "content": f"账单多收费 {ref}", "external_ref": ref}

    batches = [[item("shared"), item("only-a")], [item("shared"), item("only-b")]]
    answers = await race(pg_database, "intake_complaints", *[
        client.post("/api/v1/complaints/batch", json={"complaints": batch})
        for client, batch in zip(replicas, batches, strict=True)])
    bodies = [answer.json() for answer in answers]
    assert [answer.status_code for answer in answers] == [200, 200], bodies
    # The winner's one transaction took both its items; the loser fell back to one
    # transaction per item: its shared item is the winner's, its own item is new.
    statuses = sorted([r["status"] for r in body["results"]] for body in bodies)
    assert statuses == [[200, 202], [202, 202]]
    assert bodies[0]["results"][0]["id"] == bodies[1]["results"][0]["id"]
    assert await _stored(pg_database) == 3
