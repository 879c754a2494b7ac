"""The distributed-mode tests' fixtures: a fresh PostgreSQL database that `up` itself must
create (the helpers that send and check complaints are in tests/support.py). With CI set, a
missing PostgreSQL fails the run; locally it skips."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy import make_url

from tests.support import connect

PG_URL = os.environ.get(
    "BEACON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/beacon_test"
)


def missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI and is not reachable")
    pytest.skip(f"{what} not reachable")


async def maintenance(sql: str) -> None:
    conn = await connect(PG_URL, "postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new database name; `up` itself must create it, and we drop it afterwards."""
    name = f"beacon_e2e_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(maintenance("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        missing(f"PostgreSQL at {PG_URL} ({exc})")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE: a replica killed on a timeout may leave a connection behind for a moment.
        asyncio.run(maintenance(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """One fresh database for the module."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """One fresh database for the test."""
    with fresh_database() as url:
        yield url
