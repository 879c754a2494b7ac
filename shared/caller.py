"""Who is calling. The gateway authenticates and passes the caller to a service in headers,
signed: an HMAC-SHA256, keyed by a secret only the gateway and the services hold, over the
caller, the method, the path, the request id and the time. A service believes no caller
header without a valid signature, so a request sent straight to its port gets 401."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from functools import cache

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.problems import problem

CALLER_KEY_ID = "x-beacon-key-id"
CALLER_OWNER = "x-beacon-owner"
CALLER_SCOPES = "x-beacon-scopes"
CALLER_TIME = "x-beacon-caller-time"
CALLER_SIGNATURE = "x-beacon-caller-signature"
REQUEST_ID = "x-request-id"
# A signature is good this long after it was made, and this far ahead of the service's clock.
VALIDITY_S = 60
CLOCK_SKEW_S = 10
_SCOPE_KEY = "beacon.caller"


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


ANONYMOUS = Caller(key_id=None, owner=None, scopes=frozenset())


@cache
def process_secret() -> str:
    """Embedded mode's secret: made once per process, so only this process can sign."""
    return secrets.token_urlsafe(32)


def _message(method: str, path: str, request_id: str, timestamp: str,
             caller: dict[str, str]) -> bytes:
    # Header values hold no newline (HTTP forbids it), so the fields cannot run together.
    return "\n".join(("beacon-caller-v1", method.upper(), path, request_id, timestamp,
                      caller[CALLER_KEY_ID], caller[CALLER_OWNER],
                      caller[CALLER_SCOPES])).encode()


def _mac(secret: str, message: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, caller: Caller, method: str, path: str, request_id: str,
                   *, now: float | None = None) -> dict[str, str]:
    """The caller's headers with their signature, for one request (`path` decoded, no query)."""
    fields = caller.headers()
    timestamp = str(int(time.time() if now is None else now))
    return {**fields, REQUEST_ID: request_id, CALLER_TIME: timestamp,
            CALLER_SIGNATURE: _mac(secret, _message(method, path, request_id, timestamp,
                                                    fields))}


def verified_caller(secret: str, method: str, path: str, headers: dict[str, str],
                    *, now: float | None = None) -> Caller | str:
    """The caller the headers name if their signature holds, else why not."""
    signature, timestamp = headers.get(CALLER_SIGNATURE), headers.get(CALLER_TIME, "")
    if not signature:
        return "no gateway signature"
    if not timestamp.isdigit():
        return "malformed gateway signature time"
    age = (time.time() if now is None else now) - int(timestamp)
    if not -CLOCK_SKEW_S <= age <= VALIDITY_S:
        return "stale gateway signature"
    fields = {name: headers.get(name, "") for name in (CALLER_KEY_ID, CALLER_OWNER,
                                                        CALLER_SCOPES)}
    expected = _mac(secret, _message(method, path, headers.get(REQUEST_ID, ""), timestamp,
                                     fields))
    if not hmac.compare_digest(expected.encode(), signature.encode("latin-1")):
        return "bad gateway signature"
    return Caller(key_id=fields[CALLER_KEY_ID] or None, owner=fields[CALLER_OWNER] or None,
                  scopes=frozenset(fields[CALLER_SCOPES].split()))


class CallerCheck:
    """ASGI middleware of every service: a request under /api/ must carry a caller the
    gateway signed (anonymous callers too, on token paths); otherwise 401."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app, self.secret = app, secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        found = verified_caller(self.secret, scope["method"], scope["path"], headers)
        if isinstance(found, str):
            await problem(401, f"{found}: services answer only the gateway")(
                scope, receive, send)
            return
        scope[_SCOPE_KEY] = found
        await self.app(scope, receive, send)


def caller_from(request: Request) -> Caller:
    caller = request.scope.get(_SCOPE_KEY)
    if not isinstance(caller, Caller):  # a route outside /api/ asked: nothing vouches
        raise HTTPException(401, "no gateway signature")
    return caller


async def current_caller(request: Request) -> Caller:
    """The dependency form (async: FastAPI runs plain `def` dependencies in a thread pool)."""
    return caller_from(request)
