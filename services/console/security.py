"""What keeps the console's pages safe: security headers, CSRF, and a limit on failed
sign-ins.

CSRF: every POST carries the session's token (a form field, or the `X-CSRF-Token` header
htmx adds), and a request from a foreign `Origin` is refused whatever it carries."""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict, deque

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class PageHeaders:
    """ASGI middleware: security headers on every console answer, and `no-store` on pages
    (they may show personal data); the API under /api/ is left as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *PAGE_HEADERS]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in (
        "same-origin", "none")


def check_csrf(request: Request, expected: str, presented: str | None) -> None:
    """403 unless the request is same-origin and carries the expected token."""
    token = request.headers.get(CSRF_HEADER) or presented or ""
    if not same_origin(request):
        raise HTTPException(403, "cross-origin request refused")
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page")


class FailureLimiter:
    """At most `limit` failures per key within `window_s`; bounded to `max_keys` keys (the
    least recently failed go first), so spraying names cannot grow it without end."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 10_000) -> None:
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, key: str) -> float:
        """0 when another try is allowed, else the seconds until it is."""
        failures = self._recent(key)
        if len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[0] + self.window_s - time.monotonic())

    def fail(self, key: str) -> None:
        failures = self._recent(key)
        failures.append(time.monotonic())
        self._failures[key] = failures
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key, deque())
        cutoff = time.monotonic() - self.window_s
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures
