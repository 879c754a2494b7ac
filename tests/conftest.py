"""Fixtures shared by the whole suite: a Tansu broker, PostgreSQL schemas, database and bus
factories. With CI set, a missing broker or database fails the run; locally it skips."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from deploy.tansu import Tansu
from services.auth import ApiKey, key_hash
from services.launcher import build_embedded
from services.settings import GatewaySettings
from tests.support import (
    ADMIN,
    KEYS,
    PASSWORD,
    PEOPLE,
    TEST_INTERNAL_SECRET,
    ConsoleWorld,
    System,
    Tally,
    own_database,
)

# Processes on the Kafka bus need the gateway's signing secret (embedded ones would make one).
os.environ.setdefault("BEACON_INTERNAL_SECRET", TEST_INTERNAL_SECRET)
PG_URL = os.environ.get(
    "BEACON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/beacon_test"
)


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI and is not reachable")
    pytest.skip(f"{what} not reachable")


@pytest.fixture(scope="session")
def tansu() -> Iterator[Tansu]:
    """The session's broker: BEACON_TEST_KAFKA when CI started one, else our own."""
    external = os.environ.get("BEACON_TEST_KAFKA")
    if external:
        _, _, port = external.rpartition(":")
        broker = Tansu(int(port))
        yield broker
        return
    try:
        broker = Tansu().start()
    except Exception as exc:  # the binary ships in a dependency, so this is unexpected
        _missing(f"Tansu broker ({exc})")
    yield broker
    broker.stop()


@pytest.fixture
def own_tansu() -> Iterator[Tansu]:
    """A broker of this test's own, for tests that stop and restart it."""
    broker = Tansu().start()
    yield broker
    broker.stop(kill=True)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_url() -> str:
    async def ensure() -> None:
        dsn = _asyncpg_dsn(PG_URL)
        database = dsn.rsplit("/", 1)[1]
        admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=5)
        try:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", database):
                await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()

    try:
        asyncio.run(ensure())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _missing(f"PostgreSQL at {PG_URL} ({exc})")
    return PG_URL


@pytest.fixture
async def pg_schema(pg_url: str) -> AsyncIterator[str]:
    """A fresh schema for one test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_asyncpg_dsn(pg_url))
    await conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[System]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    # The demo roster schedules briefs; a test that wants one checks the schedule itself
    # (tests/notify/test_briefs.py), so none arrives unasked in the middle of another test.
    monkeypatch.setenv("NOTIFY_BRIEF_POLL_S", "86400")
    extra = [ApiKey(name, owner, frozenset(scopes), key_hash(f"key-{name}"))
             for name, (owner, scopes) in KEYS.items()]
    embedded = build_embedded(GatewaySettings(data_dir=tmp_path, dev_api_key=ADMIN), extra)
    notified = Tally()
    embedded.services["notify"].state.runtime.listeners.append(notified.observe)
    app = embedded.gateway
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://beacon",
        headers={"Authorization": f"Bearer {ADMIN}"},
    ) as client:
        yield System(embedded, client, notified)


@pytest.fixture
async def world(system: System) -> AsyncIterator[ConsoleWorld]:
    """The embedded system with one console user per role (tests.support.PEOPLE)."""
    users = system.embedded.gateway.state.console.users
    for username, (role, pii) in PEOPLE.items():
        assert await users.create(username, username.title(), PASSWORD, role, pii) is not None
    yield ConsoleWorld(system, users)


CHROMIUM = os.environ.get("BEACON_CHROMIUM") or shutil.which("chromium")


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium, for Playwright (its own browser download is not reachable)."""
    if CHROMIUM is None:
        _missing("Chromium (apt-get install chromium; .ci/run installs it)")
    assert CHROMIUM is not None
    return CHROMIUM


@pytest.fixture
async def pg_database(pg_url: str) -> AsyncIterator[str]:
    """A database of the test's own on the PostgreSQL server, for apps that take a URL (and
    no schema), dropped afterwards; its SQLAlchemy URL."""
    async with own_database(pg_url) as url:
        yield url
