"""An SQLite file made by an older Beacon is brought up to the models when a service starts."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, MetaData, create_engine, text

from shared.db import Database
from shared.migrations import prepare_schema
from shared.settings import ConfigError
from shared.sqlite_upgrade import _differences, upgrade_sqlite
from triage_svc.models import metadata as triage_metadata

MODELS = ["intake_svc.models", "triage_svc.models", "notify_svc.models",
          "sentiment_svc.models", "drill_svc.models", "services.models"]
SCHEMA_CHANGES = {"add_column", "remove_column", "add_constraint", "remove_constraint",
                  "add_index", "add_table"}


def _sync(path: Path) -> Any:
    return create_engine(f"sqlite:///{path}")


def _schema_changes(connection: Connection, metadata: MetaData) -> list[Any]:
    return [op for op in _differences(connection, metadata) if op[0] in SCHEMA_CHANGES]


@pytest.mark.parametrize("models", MODELS)
def test_a_current_file_needs_nothing(models: str, tmp_path: Path) -> None:
    metadata: MetaData = importlib.import_module(models).metadata
    engine = _sync(tmp_path / "beacon.db")
    with engine.begin() as conn:
        assert upgrade_sqlite(conn, metadata) == []  # a new file: built from the models
    with engine.begin() as conn:
        assert upgrade_sqlite(conn, metadata) == []  # and a second start changes nothing
    engine.dispose()


def _make_old_triage_file(path: Path) -> None:
    """Triage's tables as they were before the case file (migration 0004) and 0005."""
    engine = _sync(path)
    with engine.begin() as conn:
        triage_metadata.create_all(conn)
        conn.execute(text("DROP INDEX ix_triage_cases_drill_opened"))
        conn.execute(text("ALTER TABLE triage_cases DROP COLUMN archived_at"))
        conn.execute(text("ALTER TABLE triage_cases DROP COLUMN owner"))
        ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'triage_escalations'"
                                )).scalar_one()
        conn.execute(text("DROP TABLE triage_escalations"))
        old_unique = "UNIQUE (case_id, step)"
        conn.execute(text(ddl.replace("UNIQUE (case_id, step, clock)", old_unique)))
        assert old_unique in conn.execute(text(
            "SELECT sql FROM sqlite_master WHERE name = 'triage_escalations'")).scalar_one()
        conn.execute(text(
            "INSERT INTO triage_escalations (id, case_id, step, role, clock, due_at, status) "
            "VALUES ('e1', 'c1', 1, 'duty', 'acknowledge', '2026-12-01 10:00:00', 'pending')"))
    engine.dispose()


async def test_an_old_file_gains_columns_indexes_and_constraints_keeping_its_rows(
        tmp_path: Path) -> None:
    path = tmp_path / "beacon.db"
    _make_old_triage_file(path)
    engine = _sync(path)
    with engine.connect() as conn:
        before = {op[0] for op in _schema_changes(conn, triage_metadata)}
    assert {"add_column", "add_index"} <= before

    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await prepare_schema(db, triage_metadata, "triage_svc.migrations", "triage")
    finally:
        await db.dispose()

    with engine.begin() as conn:
        assert _schema_changes(conn, triage_metadata) == []
        assert conn.execute(text("SELECT id, step FROM triage_escalations")).all() == [("e1", 1)]
        # The constraint is the new one: the same step on another clock is now allowed.
        conn.execute(text(
            "INSERT INTO triage_escalations (id, case_id, step, role, clock, due_at, status) "
            "VALUES ('e2', 'c1', 1, 'duty', 'plan', '2026-12-01 11:00:00', 'pending')"))
        assert upgrade_sqlite(conn, triage_metadata) == []
    engine.dispose()


async def test_an_old_file_missing_a_required_column_is_refused_in_words(
        tmp_path: Path) -> None:
    path = tmp_path / "beacon.db"
    engine = _sync(path)
    with engine.begin() as conn:
        triage_metadata.create_all(conn)
        conn.execute(text("ALTER TABLE triage_incidents DROP COLUMN summary"))
    engine.dispose()
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        with pytest.raises(ConfigError, match="triage_incidents lacks the required column summary"):
            await prepare_schema(db, triage_metadata, "triage_svc.migrations", "triage")
    finally:
        await db.dispose()
