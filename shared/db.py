"""Async database access: SQLite by default, PostgreSQL by URL; one engine per service."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# aiosqlite logs every statement with its parameters at DEBUG (a complaint's text, a phone
# number); hide_parameters cannot reach it, so its logger never goes below WARNING.
logging.getLogger("aiosqlite").setLevel(logging.WARNING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would return naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DatabaseConfigError(ValueError):
    """The database URL cannot be used; the message names what is wrong."""


def parse_database_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseConfigError(f"malformed database URL {url!r}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseConfigError(f"unsupported database {parsed.get_backend_name()!r}")
    if parsed.get_backend_name() == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


class Database:
    """Engines and sessions; `transaction()` is the unit of work, `session()` reads.

    Every engine hides SQL parameters from its errors (`hide_parameters`): a failed insert
    must not copy a complaint's text or a phone number into the logs.

    SQLite gets two engines on one file: a single-connection writer, so writers queue in
    asyncio instead of sleeping in SQLite's busy handler, and a reader pool that WAL lets
    run beside it (`query_only`, so a write through `session()` fails loudly).
    """

    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = 20,
                 pre_ping: bool = False) -> None:
        self.url = parse_database_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine, self.read_engine = _sqlite_engines(self.url)
        else:
            connect_args: dict[str, Any] = {"timeout": 10}
            if schema:
                connect_args["server_settings"] = {"search_path": schema}
            # Pre-ping costs a round trip per checkout (a tenth of the consumer's CPU in
            # bench/bus.py); off by default, where a dropped connection fails one unit of
            # work and the bus retries it.
            # No overflow: an overflow connection is closed when returned, so a busy service
            # would connect (and negotiate TLS) again and again; callers queue instead.
            self.engine = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=0, pool_timeout=30,
                pool_pre_ping=pre_ping, pool_recycle=1800, connect_args=connect_args,
                hide_parameters=True)
            self.read_engine = self.engine
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """For reading."""
        async with self.read_sessions() as session:
            yield session

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def create_all(self, metadata: MetaData) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def _sqlite_engines(url: URL) -> tuple[AsyncEngine, AsyncEngine]:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        _private_files(Path(url.database))
    writer = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60,
                                 connect_args={"timeout": 30}, hide_parameters=True)
    _sqlite_immediate_transactions(writer)
    if url.database in (None, "", ":memory:"):
        return writer, writer  # a second engine would open a second, empty database
    reader = create_async_engine(url, pool_size=5, max_overflow=5, connect_args={"timeout": 30},
                                 hide_parameters=True)
    _sqlite_read_only(reader)
    return writer, reader


def _private_files(database: Path) -> None:
    """The file readable by its owner only (it holds sealed personal data and key hashes);
    SQLite gives its -wal and -shm files the mode of the database file."""
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o600)


def _sqlite_read_only(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()


def _sqlite_immediate_transactions(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE: SQLite writers queue instead of deadlocking."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# SQLSTATE classes and codes that say the server, not the statement, failed: connection
# exceptions (08), too many connections (53300), shutting down or starting up (57P01-57P03).
_UNAVAILABLE_STATES = ("08", "53300", "57P01", "57P02", "57P03")


def is_unavailable(exc: BaseException) -> bool:
    """True when the database could not be reached or dropped the connection (restart,
    failover, network), so the same work can succeed later; False for errors of the work
    itself (a constraint, a bad statement), which retrying cannot fix."""
    if isinstance(exc, PoolTimeout):
        return True  # every pooled connection stuck on a server that went away
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (ConnectionError, TimeoutError)) or (
                isinstance(cause, OSError) and not isinstance(cause, FileNotFoundError)):
            return True
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
            return True
        if type(cause).__name__ == "OperationalError" and "database is locked" in str(cause):
            return True  # SQLite: another process holds the write lock
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return False
