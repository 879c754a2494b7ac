"""What the gateway adds to every exchange: a refusal of oversized header sections, and the
security headers on every answer (a page that sets its own, like the console's, keeps them)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import problem

# Answers from the API are data, never a page: nothing loads, nothing frames them.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", API_CSP.encode()),
)
# Answers here may hold personal data: no cache keeps them (the docs' assets may be kept).
NO_STORE_PREFIX, CACHEABLE_PREFIX = "/api/", "/api/v1/docs/assets/"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        no_store = path.startswith(NO_STORE_PREFIX) and not path.startswith(CACHEABLE_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                if no_store and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeaderLimits:
    """431 for a request with more than `count` headers or more than `size` bytes of them
    (h11 bounds the bytes it buffers too; httptools, the faster parser, does not)."""

    def __init__(self, app: ASGIApp, count: int, size: int) -> None:
        self.app, self.count, self.size = app, count, size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            if len(headers) > self.count or sum(len(k) + len(v) for k, v in headers) > self.size:
                await problem(431, f"request headers over the limit ({self.count} headers, "
                                   f"{self.size} bytes)")(scope, receive, send)
                return
        await self.app(scope, receive, send)
