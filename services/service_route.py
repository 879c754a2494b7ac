"""The route of every path a service answers, tried before any other: a bare Starlette
endpoint, so a proxied request skips FastAPI's walk of the gateway's own routes (the
console's, the admin API's) and its dependency solving. The profile of the gateway alone
before a bare endpoint (bench/intake.py --systems bare,proxy) put a sixth of its CPU there.

It takes only what the catch-all `/api/v1/{path:path}` would have taken (no gateway route
lives under a service's prefix); a method the catch-all refuses falls through to it, so
answers stay what they were (405 and all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, request_response
from starlette.types import Receive, Scope, Send


class ServiceRoute(BaseRoute):
    def __init__(self, prefixes: Iterable[str], methods: Iterable[str],
                 endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.prefixes = frozenset(prefixes)
        self.subtrees = tuple(f"{prefix}/" for prefix in self.prefixes)
        self.methods = frozenset(methods)
        self.app = request_response(endpoint)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] in self.methods:
            path: str = scope["path"]
            if path in self.prefixes or path.startswith(self.subtrees):
                return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)
