"""Console accounts on PostgreSQL, where gateway replicas start together: each tries to make
the first `admin`; exactly one does, and a name taken by another replica between the check
and the insert is a refusal, never a failed start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.console.users import UserStore
from services.models import metadata
from shared.db import Database
from shared.migrations import prepare_schema
from tests.support import race

pytestmark = pytest.mark.postgres
SECRET = "the admin secret 123"


@pytest.fixture
async def stores(pg_url: str, pg_schema: str) -> AsyncIterator[list[UserStore]]:
    """Three replicas' stores on one database."""
    databases = [Database(pg_url, schema=pg_schema) for _ in range(3)]
    await prepare_schema(databases[0], metadata, "services.migrations", "gateway")
    yield [UserStore(db, timedelta(minutes=30)) for db in databases]
    for db in databases:
        await db.dispose()


async def test_replicas_starting_together_make_one_admin(stores: list[UserStore]) -> None:
    made = await asyncio.gather(*[store.ensure_admin(SECRET) for store in stores])
    assert sorted(made) == [False, False, True]
    assert [u.username for u in await stores[1].all_users()] == ["admin"]
    assert await stores[2].verify("admin", SECRET) is not None


async def test_a_name_taken_after_the_check_is_a_refusal(
        stores: list[UserStore], monkeypatch: pytest.MonkeyPatch) -> None:
    assert await stores[0].ensure_admin(SECRET)

    async def not_yet_committed(*_args: Any, **_kwargs: Any) -> None:
        return None  # this replica's check ran before the other's insert committed

    monkeypatch.setattr(AsyncSession, "get", not_yet_committed)
    assert await stores[1].ensure_admin("another secret 456") is False  # the unique key said no
    monkeypatch.undo()
    assert await stores[1].verify("admin", SECRET) is not None  # the first one stands


async def test_a_name_two_replicas_take_at_once_goes_to_one(
        stores: list[UserStore], pg_url: str, pg_schema: str) -> None:
    made = await race(pg_url, f"{pg_schema}.gateway_console_users", *[
        store.create("duty", f"Duty {n}", f"password of {n} 123", "duty_officer", False)
        for n, store in enumerate(stores[:2])])
    # Only the fallback makes the loser's answer None (without it, the duplicate name raises).
    assert sorted(user is None for user in made) == [False, True]
    winner = next(user for user in made if user is not None)
    n = made.index(winner)
    assert [u.display_name for u in await stores[2].all_users()] == [winner.display_name]
    assert await stores[2].verify("duty", f"password of {n} 123") is not None
