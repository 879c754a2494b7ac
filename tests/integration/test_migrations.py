"""Each service's Alembic scripts build exactly the tables its models declare."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData

from shared.db import Database
from shared.migrations import prepare_schema

# (the models' module, the migrations package, the version table's suffix)
SERVICES = {
    "intake": ("intake_svc.models", "intake_svc.migrations"),
    "triage": ("triage_svc.models", "triage_svc.migrations"),
    "notify": ("notify_svc.models", "notify_svc.migrations"),
    "sentiment": ("sentiment_svc.models", "sentiment_svc.migrations"),
    "drill": ("drill_svc.models", "drill_svc.migrations"),
    "gateway": ("services.models", "services.migrations"),
}


@pytest.mark.postgres
@pytest.mark.parametrize("service", list(SERVICES))
async def test_migrations_match_models(service: str, pg_url: str, pg_schema: str) -> None:
    models, migrations = SERVICES[service]
    metadata: MetaData = importlib.import_module(models).metadata
    db = Database(pg_url, schema=pg_schema)
    try:
        for _ in range(2):  # a second start finds nothing to do
            await prepare_schema(db, metadata, migrations, service)

        def diff(connection: Any) -> list[Any]:
            context = MigrationContext.configure(connection, opts={
                "include_name": lambda name, kind, _p: kind != "table" or name in metadata.tables,
                "compare_type": True,
            })
            return list(compare_metadata(context, metadata))

        async with db.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
            tables = await conn.run_sync(
                lambda c: set(c.dialect.get_table_names(c, schema=pg_schema)))
        assert set(metadata.tables) | {f"alembic_version_{service}"} == tables
    finally:
        await db.dispose()
