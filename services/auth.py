"""API keys and scopes (API.md). Keys are random, shown once, stored only as SHA-256
hashes; the embedded admin key comes from DEV_API_KEY or is made once under the data dir."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from services.models import ApiKeyRecord, metadata
from shared.caller import Caller
from shared.db import Database
from shared.migrations import prepare_schema

SCOPES = frozenset({
    "complaints:write", "complaints:read", "mentions:write", "cases:read", "cases:write",
    "pii:read", "statements:draft", "statements:approve", "admin",
})
CACHE_S = 5.0  # how long a replica trusts what it read: revocation elsewhere takes this long


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
    return ApiKey("dev", "dev", SCOPES, key_hash(key))


def _from_record(record: ApiKeyRecord) -> ApiKey:
    return ApiKey(record.id, record.owner, frozenset(record.scopes), record.key_hash,
                  record.rate_per_s, record.burst)


class KeyStore:
    """Static keys (the dev admin key) plus keys kept in the gateway's database."""

    def __init__(self, db: Database | None, static: Sequence[ApiKey] = ()) -> None:
        self.db = db
        self._static = {k.hashed: k for k in static}
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def start(self) -> None:
        if self.db is not None:
            await prepare_schema(self.db, metadata, "services.migrations", "gateway")

    async def stop(self) -> None:
        if self.db is not None:
            await self.db.dispose()

    async def authenticate(self, presented: str) -> ApiKey | None:
        digest = key_hash(presented)
        if digest in self._static:
            return self._static[digest]
        if self.db is None:
            return None
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self.db.session() as session:
            record = await session.scalar(select(ApiKeyRecord).where(
                ApiKeyRecord.key_hash == digest, ApiKeyRecord.revoked_at.is_(None)))
        key = _from_record(record) if record else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + CACHE_S, key)
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
            self._cache = {h: v for h, v in self._cache.items() if h != record.key_hash}
        return record
