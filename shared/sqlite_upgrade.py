"""Bring an SQLite file made by an older Beacon up to the models.

Embedded mode builds its SQLite files from the models (`create_all`), which creates missing
tables but never alters one that exists: after an upgrade, `make run` on an old `./data`
would fail on the first new column. Alembic's comparison says what differs; a missing
column is added, a missing index created, and a table whose unique constraints changed is
rebuilt with its rows (SQLite cannot alter a constraint in place).
"""

from __future__ import annotations

import logging
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, Table, inspect, text
from sqlalchemy.schema import CreateColumn, CreateTable

from shared.settings import ConfigError

log = logging.getLogger("beacon.migrations")


def upgrade_sqlite(connection: Connection, metadata: MetaData) -> list[str]:
    """Make the file's tables match `metadata`; returns what was changed, for the log."""
    existing = set(inspect(connection).get_table_names()) & set(metadata.tables)
    if not existing:  # a new file
        metadata.create_all(connection)
        return []
    differences = _differences(connection, metadata)
    missing = [(op[2], op[3]) for op in differences if op[0] == "add_column"]
    for table_name, column in missing:
        if not column.nullable and column.server_default is None:
            raise ConfigError("DATABASE_URL", (
                f"the SQLite file {connection.engine.url.database} was made by an older "
                f"Beacon and its table {table_name} lacks the required column {column.name};"
                " move the data folder aside (or delete it) and start again"))
    rebuilt = sorted({op[1].table.name for op in differences
                      if op[0] in ("add_constraint", "remove_constraint")} & existing)
    changes = [_rebuild(connection, metadata.tables[name]) for name in rebuilt]
    changes += [_add_column(connection, table_name, column)
                for table_name, column in missing if table_name not in rebuilt]
    metadata.create_all(connection)  # missing tables, with their indexes
    inspector = inspect(connection)
    for table in metadata.sorted_tables:
        present = {found["name"] for found in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(connection)
                changes.append(f"created index {index.name}")
    for change in changes:
        log.info("SQLite schema: %s", change)
    return changes


def _differences(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={
        "include_name": lambda name, kind, _parent: kind != "table" or name in metadata.tables,
    })
    flat: list[Any] = []
    for op in compare_metadata(context, metadata):
        # Column changes come as a list of tuples; table-level ones as one tuple.
        flat.extend(op if isinstance(op, list) else [op])
    return flat


def _add_column(connection: Connection, table_name: str, column: Column[Any]) -> str:
    ddl = CreateColumn(column).compile(dialect=connection.dialect)
    connection.execute(text(f'ALTER TABLE "{table_name}" ADD COLUMN {ddl}'))
    return f"added column {table_name}.{column.name}"


def _rebuild(connection: Connection, table: Table) -> str:
    """SQLite's own recipe: a new table beside the old one, the rows copied, then renamed."""
    staging_name = f"{table.name}__rebuild"
    # The model's own DDL under the staging name; its indexes come after the rename (the old
    # table's still hold their names).
    ddl = str(CreateTable(table).compile(dialect=connection.dialect))
    prefix = f"CREATE TABLE {table.name} ("
    assert ddl.lstrip().startswith(prefix), ddl
    connection.execute(text(ddl.lstrip().replace(prefix, f'CREATE TABLE "{staging_name}" (', 1)))
    kept = [c["name"] for c in inspect(connection).get_columns(table.name)
            if c["name"] in table.columns]
    columns = ", ".join(f'"{name}"' for name in kept)
    connection.execute(text(
        f'INSERT INTO "{staging_name}" ({columns}) SELECT {columns} FROM "{table.name}"'))
    connection.execute(text(f'DROP TABLE "{table.name}"'))
    connection.execute(text(f'ALTER TABLE "{staging_name}" RENAME TO "{table.name}"'))
    return f"rebuilt {table.name} for its changed unique constraints"
