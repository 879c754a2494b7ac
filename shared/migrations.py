"""Schemas: SQLite files are built from the models (and brought up to them after an upgrade,
shared.sqlite_upgrade); PostgreSQL goes through Alembic.

Each service keeps its own migration scripts (`<service>/migrations`) and its own version
table, and only ever looks at its own tables, so services may share one database.
"""

from __future__ import annotations

import asyncio
import zlib
from importlib.resources import files
from typing import Any, Literal

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import Database, UtcDateTime
from shared.sqlite_upgrade import upgrade_sqlite


def alembic_config(migrations: str, service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files(migrations)))
    cfg.set_main_option("version_table", f"alembic_version_{service}")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def prepare_schema(
    db: Database, metadata: MetaData, migrations: str | None, service: str
) -> None:
    if db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.run_sync(upgrade_sqlite, metadata)
        return
    if migrations is None:
        await db.create_all(metadata)
        return
    cfg = alembic_config(migrations, service)
    lock_id = zlib.crc32(f"beacon-migrate-{service}".encode())
    async with db.engine.begin() as conn:
        # Replicas starting together migrate one at a time.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
        await conn.run_sync(_upgrade, cfg)


def _upgrade(connection: Any, cfg: Config) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py."""
    config = context.config
    version_table = config.get_main_option("version_table") or "alembic_version"

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in metadata.tables

    def render_item(type_: str, obj: Any, _autogen: Any) -> str | Literal[False]:
        # Our UtcDateTime is a plain timestamptz in the database; scripts need no import.
        if type_ == "type" and isinstance(obj, UtcDateTime):
            return "sa.DateTime(timezone=True)"
        return False

    def migrate(connection: Any) -> None:
        context.configure(
            connection=connection, target_metadata=metadata, version_table=version_table,
            include_name=include_name, compare_type=True, render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        migrate(connection)
        return

    async def from_url() -> None:
        engine = create_async_engine(str(config.get_main_option("sqlalchemy.url")),
                                     hide_parameters=True)
        async with engine.begin() as conn:
            await conn.run_sync(migrate)
        await engine.dispose()

    asyncio.run(from_url())
