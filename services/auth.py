"""API keys and scopes (API.md). The embedded admin key comes from DEV_API_KEY or is made
once and kept under the data dir; keys are compared by hash, in constant time."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from shared.caller import Caller

SCOPES = frozenset({
    "complaints:write", "complaints:read", "mentions:write", "cases:read", "cases:write",
    "pii:read", "admin",
})


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    owner: str
    scopes: frozenset[str]
    hashed: str

    def caller(self) -> Caller:
        return Caller(key_id=self.key_id, owner=self.owner, scopes=self.scopes)


class KeyRing:
    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_hash = {k.hashed: k for k in keys}

    def authenticate(self, presented: str) -> ApiKey | None:
        digest = key_hash(presented)
        for hashed, key in self._by_hash.items():
            if hmac.compare_digest(hashed, digest):
                return key
        return None


def dev_key(configured: str | None, data_dir: Path) -> tuple[str, bool]:
    """(key, newly made). A made key is written once, readable by its owner only."""
    if configured:
        return configured, False
    path = data_dir / "dev_api_key"
    if path.exists():
        return path.read_text().strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    key = "bk_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key, True


def admin_key(key: str) -> ApiKey:
    return ApiKey("dev", "dev", SCOPES, key_hash(key))
