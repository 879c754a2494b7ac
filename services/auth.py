"""API keys and scopes (API.md). Keys are random, shown once, stored only as SHA-256
hashes; the embedded admin key comes from DEV_API_KEY or is made once under the data dir."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.models import ApiKeyRecord, metadata
from shared.caller import Caller
from shared.db import Database
from shared.migrations import prepare_schema

SCOPES = frozenset({
    "complaints:write", "complaints:read", "mentions:write", "cases:read", "cases:write",
    "pii:read", "statements:draft", "statements:approve", "metrics:read", "drills:run",
    "admin", "accountability",
})
CACHE_S = 5.0  # how long a replica trusts what it read: revocation elsewhere takes this long
CACHE_SIZE = 10_000  # per cache; known and unknown keys are cached apart
BUILTIN_KEY_ID = "dev"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_secret() -> str:
    return "bk_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    owner: str
    scopes: frozenset[str]
    hashed: str
    rate_per_s: float | None = None
    burst: int | None = None

    def caller(self) -> Caller:
        return Caller(key_id=self.key_id, owner=self.owner, scopes=self.scopes)


def dev_key(configured: str | None, data_dir: Path) -> tuple[str, bool]:
    """(key, newly made). A made key is written once, readable by its owner only."""
    if configured:
        return configured, False
    path = data_dir / "dev_api_key"
    if path.exists():
        return path.read_text().strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    key = new_secret()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key, True


def admin_key(key: str) -> ApiKey:
    return ApiKey(BUILTIN_KEY_ID, "dev", SCOPES, key_hash(key))


DRILL_RUNNER = "drill-runner"


def drill_runner_key(key: str) -> ApiKey:
    """The drill runner's key (DRILL_API_KEY): it files complaints and mentions as a hotline
    and a monitoring bot would, and sees only its own complaints."""
    return ApiKey(DRILL_RUNNER, DRILL_RUNNER,
                  frozenset({"complaints:write", "complaints:read", "mentions:write"}),
                  key_hash(key))


class _Lru:
    """A bounded map of recent answers, each good for CACHE_S; the oldest goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()

    def get(self, digest: str) -> tuple[bool, ApiKey | None]:
        found = self._items.get(digest)
        if found is None or found[0] <= time.monotonic():
            return False, None
        return True, found[1]

    def put(self, digest: str, key: ApiKey | None) -> None:
        self._items[digest] = (time.monotonic() + CACHE_S, key)
        self._items.move_to_end(digest)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, digest: str) -> None:
        self._items.pop(digest, None)

    def __len__(self) -> int:
        return len(self._items)


def _from_record(record: ApiKeyRecord) -> ApiKey:
    return ApiKey(record.id, record.owner, frozenset(record.scopes), record.key_hash,
                  record.rate_per_s, record.burst)


class KeyStore:
    """Keys kept in the gateway's database, the built-in admin key among them (so it can be
    revoked like any other), plus static keys (tests, or no database at all)."""

    def __init__(self, db: Database | None, static: Sequence[ApiKey] = (),
                 builtin: ApiKey | None = None, *, cache_size: int = CACHE_SIZE) -> None:
        self.db = db
        if builtin is not None and db is None:
            static = [builtin, *static]
        self._builtin = builtin if db is not None else None
        self._static = {k.hashed: k for k in static}
        # Apart, so that a spray of unknown keys never pushes a valid one out.
        self._known, self._unknown = _Lru(cache_size), _Lru(cache_size)
        self._loading: dict[str, asyncio.Future[ApiKey | None]] = {}

    async def start(self) -> None:
        if self.db is not None:
            await prepare_schema(self.db, metadata, "services.migrations", "gateway")
            if self._builtin is not None:
                await self._record_builtin(self._builtin)

    async def _record_builtin(self, key: ApiKey) -> None:
        """The built-in key as a row: once revoked it stays revoked across restarts and
        replicas, until a new admin secret (DEV_API_KEY) makes it a new key."""
        assert self.db is not None
        try:
            async with self.db.transaction() as session:
                record = await session.get(ApiKeyRecord, key.key_id)
                if record is None:
                    session.add(ApiKeyRecord(
                        id=key.key_id, key_hash=key.hashed, name="built-in admin key",
                        owner=key.owner, scopes=sorted(key.scopes), rate_per_s=None,
                        burst=None, created_by="launcher", created_at=datetime.now(UTC),
                        revoked_at=None))
                elif record.key_hash != key.hashed:
                    record.key_hash, record.revoked_at = key.hashed, None
                    record.scopes = sorted(key.scopes)
                elif set(record.scopes) != key.scopes:
                    record.scopes = sorted(key.scopes)  # a release added a scope
        except IntegrityError:
            pass  # another replica recorded it at the same moment

    async def stop(self) -> None:
        if self.db is not None:
            await self.db.dispose()

    async def authenticate(self, presented: str) -> ApiKey | None:
        digest = key_hash(presented)
        if digest in self._static:
            return self._static[digest]
        if self.db is None:
            return None
        for cache in (self._known, self._unknown):
            hit, cached = cache.get(digest)
            if hit:
                return cached
        # One lookup per key at a time: when its cached answer expires under load, every
        # request in flight with that key would otherwise query the database at once.
        loading = self._loading.get(digest)
        if loading is None:
            loading = asyncio.ensure_future(self._load(digest))
            self._loading[digest] = loading
            loading.add_done_callback(lambda done: self._settled(digest, done))
        return await asyncio.shield(loading)

    def _settled(self, digest: str, done: asyncio.Future[ApiKey | None]) -> None:
        self._loading.pop(digest, None)
        if not done.cancelled():
            done.exception()  # retrieved here: every waiter may have left

    async def _load(self, digest: str) -> ApiKey | None:
        assert self.db is not None
        async with self.db.session() as session:
            record = await session.scalar(select(ApiKeyRecord).where(
                ApiKeyRecord.key_hash == digest, ApiKeyRecord.revoked_at.is_(None)))
        key = _from_record(record) if record else None
        (self._known if key is not None else self._unknown).put(digest, key)
        return key

    async def create(self, *, name: str, owner: str, scopes: frozenset[str],
                     rate_per_s: float | None, burst: int | None,
                     created_by: str) -> tuple[ApiKeyRecord, str]:
        """A new key: (its record, the secret, which is never stored or shown again)."""
        assert self.db is not None
        secret = new_secret()
        record = ApiKeyRecord(
            id=uuid.uuid4().hex[:16], key_hash=key_hash(secret), name=name, owner=owner,
            scopes=sorted(scopes), rate_per_s=rate_per_s, burst=burst, created_by=created_by,
            created_at=datetime.now(UTC), revoked_at=None,
        )
        async with self.db.transaction() as session:
            session.add(record)
        return record, secret

    async def list(self) -> list[ApiKeyRecord]:
        assert self.db is not None
        async with self.db.session() as session:
            return list((await session.scalars(
                select(ApiKeyRecord).order_by(ApiKeyRecord.created_at))).all())

    async def revoke(self, key_id: str) -> ApiKeyRecord | None:
        assert self.db is not None
        async with self.db.transaction() as session:
            record = await session.get(ApiKeyRecord, key_id)
            if record is not None and record.revoked_at is None:
                record.revoked_at = datetime.now(UTC)
        if record is not None:
            self._known.drop(record.key_hash)
        return record
