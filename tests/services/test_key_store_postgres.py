"""The built-in admin key on PostgreSQL, where gateway replicas start together: each finds no
row for it and inserts one; the key's id lets one win, and the other starts all the same."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.auth import BUILTIN_KEY_ID, KeyStore, admin_key
from services.models import ApiKeyRecord, metadata
from shared.db import Database
from shared.migrations import prepare_schema
from tests.support import race

pytestmark = pytest.mark.postgres
SECRET = "the admin secret 123"


async def test_replicas_starting_together_record_the_builtin_key_once(
        pg_url: str, pg_schema: str) -> None:
    databases = [Database(pg_url, schema=pg_schema) for _ in range(2)]
    await prepare_schema(databases[0], metadata, "services.migrations", "gateway")
    stores = [KeyStore(db, builtin=admin_key(SECRET)) for db in databases]
    try:
        # Only the fallback lets the loser start (without it, the duplicate id stops it).
        await race(pg_url, f"{pg_schema}.gateway_api_keys", *[s.start() for s in stores])
        for store in stores:
            key = await store.authenticate(SECRET)
            assert key is not None and key.key_id == BUILTIN_KEY_ID
        async with databases[0].session() as session:
            assert await session.scalar(select(func.count()).select_from(ApiKeyRecord)) == 1
    finally:
        for db in databases:
            await db.dispose()
