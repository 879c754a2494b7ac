"""The gateway: authenticates, checks scopes, routes by path, composes the complaint view
with its case, merges the services' OpenAPI into one."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.admin import build_admin_router
from services.auth import ApiKey, KeyStore
from services.ratelimit import RateLimiter, retry_after
from services.routing import is_token_path, route_for
from services.settings import GatewaySettings
from services.upstreams import Upstream
from shared import tracing
from shared.app import RequestContext
from shared.caller import Caller
from shared.logctx import request_id_var
from shared.openapi import document_problems
from shared.problems import install_problem_handlers, problem

log = logging.getLogger("beacon.gateway")

FORWARDED_REQUEST_HEADERS = ("content-type", "idempotency-key", "accept", "accept-language")
FORWARDED_RESPONSE_HEADERS = ("content-type", "retry-after", "location")
CASE_STATE_TO_STATUS = {
    "triaged": "triaged", "acknowledged": "in_progress", "investigating": "in_progress",
    "responded": "responded", "follow_up": "responded", "closed": "closed",
    "reopened": "reopened",
}
Lifespan = Callable[[], contextlib.AbstractAsyncContextManager[object]]


def create_gateway(
    upstreams: dict[str, Upstream],
    keys: KeyStore,
    settings: GatewaySettings,
    *,
    lifespans: list[Lifespan] | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            await keys.start()
            stack.push_async_callback(keys.stop)
            for start in lifespans or []:
                await stack.enter_async_context(start())
            try:
                yield
            finally:
                for upstream in upstreams.values():
                    await upstream.aclose()

    app = FastAPI(title="Beacon API", version="1.0.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)
    app.state.keys = keys
    limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    install_problem_handlers(app)
    app.add_middleware(RequestContext, service="gateway")

    async def authenticated(request: Request) -> ApiKey:
        """The caller's key, rate-limited; 401 without a known key, 429 over its rate."""
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        key = await keys.authenticate(presented.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise HTTPException(401, "missing or unknown API key (Authorization: Bearer <key>)",
                                headers={"WWW-Authenticate": "Bearer"})
        wait = limiter.take(key.key_id, key.rate_per_s, key.burst)
        if wait > 0:
            raise HTTPException(429, f"rate limit of this key exceeded; retry in {wait:.2f}s",
                                headers={"Retry-After": retry_after(wait)})
        return key

    async def require_admin(request: Request) -> ApiKey:
        key = await authenticated(request)
        if "admin" not in key.scopes:
            raise HTTPException(403, "this key lacks the scope admin")
        return key

    app.include_router(build_admin_router(require_admin))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = {name: await _ready(u) for name, u in upstreams.items()}
        failing = [name for name, state in checks.items() if state.get("status") != "ready"]
        if failing:
            return problem(503, "not ready: " + ", ".join(failing), extra={"checks": checks})
        return JSONResponse({"status": "ready", "checks": checks})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        # In embedded mode this process holds every service: their figures are here too.
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi() -> dict[str, Any]:
        own = get_openapi(title=app.title, version=app.version, routes=app.routes)
        return await merged_openapi(own, upstreams)

    @app.get("/api/v1/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="Beacon API")

    @app.api_route("/api/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def forward(request: Request, path: str) -> Response:
        route = route_for(request.url.path)
        if route is None:
            return problem(404, f"no such resource: {request.url.path}")
        # Metrics label: the prefix, not the path (which holds ids).
        request.scope["beacon.route"] = (route.prefix if request.url.path == route.prefix
                                         else f"{route.prefix}/{{rest}}")
        if is_token_path(request.url.path):
            return await _forward_token_request(request, upstreams[route.service], limiter)
        key = await authenticated(request)
        caller = key.caller()
        needed = route.scopes_for(request.method)
        if not any(caller.has(scope) for scope in needed):
            return problem(403, f"this key lacks the scope {' or '.join(sorted(needed))}")
        limit = (settings.max_batch_body_bytes if path.endswith("/batch")
                 else settings.max_body_bytes)
        body = await _read_body(request, limit)
        response = await _send(upstreams[route.service], request, caller, body)
        if (route.service == "intake" and request.method == "GET"
                and response.status_code == 200 and path.count("/") == 1):
            return await _with_case(response, upstreams["triage"], caller)
        return _relay(response)

    return app


async def _forward_token_request(
    request: Request, upstream: Upstream, limiter: RateLimiter
) -> Response:
    """A request whose token authorises it: no key, no scopes, a bucket per client address."""
    client = request.client.host if request.client else "unknown"
    wait = limiter.take(f"ip:{client}")
    if wait > 0:
        raise HTTPException(429, f"too many requests from {client}; retry in {wait:.2f}s",
                            headers={"Retry-After": retry_after(wait)})
    anonymous = Caller(key_id=None, owner=None, scopes=frozenset())
    body = await _read_body(request, 16 * 1024)
    return _relay(await _send(upstream, request, anonymous, body))


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it passes `limit` (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _send(
    upstream: Upstream, request: Request, caller: Caller, body: bytes
) -> httpx.Response:
    headers = {h: request.headers[h] for h in FORWARDED_REQUEST_HEADERS if h in request.headers}
    headers.update(caller.headers())
    headers["x-request-id"] = request_id_var.get() or ""
    headers.update(tracing.headers())
    try:
        # The path as the client encoded it: decoding and re-sending would change it.
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        return await upstream.request(
            request.method, raw_path.decode("latin-1"), params=request.query_params,
            content=body, headers=headers,
        )
    except httpx.HTTPError as exc:
        log.warning("%s unreachable: %s", upstream.name, type(exc).__name__)
        return httpx.Response(
            503, json={"type": "https://beacon.dev/problems/503", "title": "Service Unavailable",
                       "status": 503, "detail": f"{upstream.name} is unavailable; retry later"},
            headers={"content-type": "application/problem+json", "retry-after": "1"},
        )


def _relay(response: httpx.Response) -> Response:
    headers = {h: response.headers[h] for h in FORWARDED_RESPONSE_HEADERS
               if h in response.headers}
    return Response(response.content, status_code=response.status_code, headers=headers)


async def _with_case(response: httpx.Response, triage: Upstream, caller: Caller) -> Response:
    """API.md's complaint view: the complaint plus its case (null until triage has run)."""
    complaint = response.json()
    try:
        found = await triage.request(
            "GET", "/api/v1/cases", params={"complaint_id": complaint["id"]},
            headers={**caller.headers(), "x-request-id": request_id_var.get() or "",
                     **tracing.headers()},
        )
    except httpx.HTTPError as exc:  # the complaint is known; its case is, for now, not
        log.warning("triage unreachable for a complaint view: %s", type(exc).__name__)
        return JSONResponse(complaint)
    cases = found.json().get("items", []) if found.status_code == 200 else []
    if cases:
        case = cases[0]
        complaint["status"] = CASE_STATE_TO_STATUS.get(case["state"], complaint["status"])
        complaint["case"] = {k: case[k] for k in (
            "id", "response_level", "category", "level_reasons", "state", "deadlines",
            "incident_id")}
    return JSONResponse(complaint)


async def _ready(upstream: Upstream) -> dict[str, Any]:
    """Ready only when every replica is: round-robin would hide a replica that is down."""
    replicas = [await _replica_ready(client) for client in upstream.clients]
    ready = all(r.get("status") == "ready" for r in replicas)
    return {"status": "ready" if ready else "not ready", "replicas": replicas}


async def _replica_ready(client: httpx.AsyncClient) -> dict[str, Any]:
    try:
        answer = await client.get("/readyz", timeout=5)
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 else {**body, "status": "not ready"}
    except (httpx.HTTPError, ValueError) as exc:
        return {"status": f"unreachable: {type(exc).__name__}"}


async def merged_openapi(own: dict[str, Any], upstreams: dict[str, Upstream]) -> dict[str, Any]:
    """The gateway's own paths (admin) and every service's, with one bearer scheme."""
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Beacon API", "version": "1.0.0"},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
    parts = [own] + [(await u.client().get("/openapi.json")).json() for u in upstreams.values()]
    for part in parts:
        spec["paths"].update(part.get("paths", {}))
        spec["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    # What the gateway itself may answer on any route, before or instead of the service.
    return document_problems(spec, everywhere=(401, 403, 404, 429, 500, 503),
                             with_body=(400, 413, 422))
