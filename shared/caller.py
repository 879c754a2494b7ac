"""Who is calling: the gateway authenticates and passes the caller to services in headers."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

CALLER_KEY_ID = "x-beacon-key-id"
CALLER_OWNER = "x-beacon-owner"
CALLER_SCOPES = "x-beacon-scopes"


@dataclass(frozen=True)
class Caller:
    key_id: str | None
    owner: str | None
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def headers(self) -> dict[str, str]:
        return {
            CALLER_KEY_ID: self.key_id or "",
            CALLER_OWNER: self.owner or "",
            CALLER_SCOPES: " ".join(sorted(self.scopes)),
        }


def caller_from(request: Request) -> Caller:
    headers = request.headers
    return Caller(
        key_id=headers.get(CALLER_KEY_ID) or None,
        owner=headers.get(CALLER_OWNER) or None,
        scopes=frozenset(headers.get(CALLER_SCOPES, "").split()),
    )


async def current_caller(request: Request) -> Caller:
    """The dependency form (async: FastAPI runs plain `def` dependencies in a thread pool)."""
    return caller_from(request)
