"""The one path from a caller to a service: route and scope decided on the path that is
forwarded. The API's catch-all and the console's pages both go through `Forwarder.call`, so
a console user can do exactly what an API key with the same scopes can, and no more."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

import httpx

from services.replicas import Answer, encode_json
from services.routing import Route, canonical_path, route_for
from services.upstreams import Upstream
from shared import tracing
from shared.caller import Caller, signed_headers
from shared.complaint_status import complaint_status
from shared.logctx import request_id_var

log = logging.getLogger("beacon.gateway")

def problem_response(status: int, detail: str, headers: Mapping[str, str] | None = None
                     ) -> Answer:
    body = {"type": f"https://beacon.dev/problems/{status}", "status": status,
            "title": httpx.codes.get_reason_phrase(status), "detail": detail}
    return Answer(status, {"content-type": "application/problem+json", **(headers or {})},
                  encode_json(body))


def missing_scope(route: Route, method: str, caller: Caller) -> str | None:
    """The scopes the caller lacks for this route and method, as a sentence, or None."""
    needed = route.scopes_for(method)
    if any(caller.has(scope) for scope in needed):
        return None
    return f"this key lacks the scope {' or '.join(sorted(needed))}"


class Forwarder:
    """Sends a caller's request to the service that owns the path, after the scope check."""

    def __init__(self, upstreams: dict[str, Upstream], secret: str) -> None:
        self.upstreams = upstreams
        self._secret = secret  # signs every caller it forwards (shared.caller)

    async def call(self, method: str, path: str, caller: Caller, *,
                   params: Mapping[str, Any] | httpx.QueryParams | str | None = None,
                   body: bytes = b"", headers: Mapping[str, str] | None = None,
                   json: Any = None) -> Answer:
        """The service's answer, or a problem answer (404 no route or an ambiguous path,
        403 scope, 503 down)."""
        if canonical_path(path) is None:
            return problem_response(404, "no such resource: a path with dot segments, empty "
                                         "segments, backslashes, control characters or "
                                         "encoded separators")
        route = route_for(path)
        if route is None:
            return problem_response(404, f"no such resource: {path}")
        refused = missing_scope(route, method, caller)
        if refused:
            return problem_response(403, refused)
        return await self.send(route.service, method, path, caller, params=params,
                               body=body, headers=headers, json=json)

    async def send(self, service: str, method: str, path: str, caller: Caller, *,
                   params: Mapping[str, Any] | httpx.QueryParams | str | None = None,
                   body: bytes = b"", headers: Mapping[str, str] | None = None,
                   json: Any = None) -> Answer:
        """Forward without a scope check: for callers the route check already admitted, or
        token paths whose token is the authority. `params` as a string: the raw query."""
        upstream = self.upstreams[service]
        request_id = request_id_var.get() or uuid.uuid4().hex
        signed = signed_headers(self._secret, caller, method, unquote(path.split("?")[0]),
                                request_id)
        sent = {**(headers or {}), **signed, **tracing.headers()}
        try:
            return await upstream.request(method, path, params=params, content=body,
                                          json=json, headers=sent)
        except httpx.HTTPError as exc:
            log.warning("%s unreachable: %s", upstream.name, type(exc).__name__)
            return problem_response(503, f"{upstream.name} is unavailable; retry later",
                                    {"retry-after": "1"})

    async def complaint_view(self, complaint: dict[str, Any], caller: Caller) -> dict[str, Any]:
        """API.md's complaint view: the complaint plus its case as the filer may see it
        (triage decides what that is; null until triage has run)."""
        found = await self.send("triage", "GET",
                                f"/api/v1/cases/of-complaint/{quote(complaint['id'])}", caller)
        if found.status_code == 200:
            case = found.json()
            complaint["status"] = complaint_status(case["state"]) or complaint["status"]
            complaint["case"] = case
        return complaint
