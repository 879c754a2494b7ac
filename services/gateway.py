"""The gateway: authenticates, checks scopes, routes by path, composes the complaint view
with its case, merges the services' OpenAPI into one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.admin import build_admin_router
from services.api_docs import add_docs_routes
from services.auth import ApiKey, KeyStore
from services.console.accounts_api import build_users_router
from services.console.app import install_console
from services.console.live import LiveHub
from services.console.settings import ConsoleSettings
from services.console.users import UserStore
from services.console.web import Console
from services.forwarding import Forwarder, missing_scope
from services.http_safety import HeaderLimits, SecurityHeaders
from services.openapi_links import add_links
from services.ratelimit import RateLimiter, retry_after, storage_for
from services.replicas import Answer, Replica
from services.routing import ROUTES, canonical_path, is_token_path, route_for
from services.service_route import ServiceRoute
from services.settings import GatewaySettings
from services.upstreams import Upstream
from shared.app import RequestContext
from shared.bus import Bus
from shared.caller import ANONYMOUS, Caller
from shared.db import Database
from shared.openapi import document_problems
from shared.problems import install_problem_handlers, problem

log = logging.getLogger("beacon.gateway")

FORWARDED_REQUEST_HEADERS = ("content-type", "idempotency-key", "accept", "accept-language")
# A service's page (the acknowledgement page) may set its own policy; else the API default.
FORWARDED_RESPONSE_HEADERS = ("content-type", "retry-after", "location",
                              "content-security-policy")
PROXIED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
READY_TIMEOUT_S = 5.0  # per replica's /readyz
Lifespan = Callable[[], contextlib.AbstractAsyncContextManager[object]]


def create_gateway(
    upstreams: dict[str, Upstream],
    keys: KeyStore,
    settings: GatewaySettings,
    *,
    lifespans: list[Lifespan] | None = None,
    console_bus: Bus | None = None,
    admin_secret: str | None = None,
    internal_secret: str,
) -> FastAPI:
    """The gateway; with `admin_secret` (the first console admin's password) and a database
    for its keys, the console too, fed live by `console_bus`. `internal_secret` signs the
    caller of every request it forwards."""
    console_lifespan: Lifespan | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            await keys.start()
            stack.push_async_callback(keys.stop)
            for start in [*(lifespans or []), *([console_lifespan] if console_lifespan else [])]:
                await stack.enter_async_context(start())
            try:
                yield
            finally:
                for upstream in upstreams.values():
                    await upstream.aclose()

    app = FastAPI(title="Beacon API", version="1.0.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)
    app.state.keys = keys
    forwarder = Forwarder(upstreams, internal_secret)
    app.state.forwarder = forwarder
    limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst,
                          storage_for(settings.rate_limit_storage_url,
                                      settings.rate_limit_key_prefix))
    app.state.limiter = limiter
    install_problem_handlers(app)
    app.add_middleware(RequestContext, service="gateway")
    failures = (settings.auth_failures_per_address, settings.auth_failure_window_s, "authfail")

    async def authenticated(request: Request) -> ApiKey:
        """The caller's key, rate-limited; 401 without a known key, 429 over its rate or
        after too many failed attempts from the client's address."""
        address = client_address(request)
        wait = await limiter.exhausted(address, *failures)
        if wait > 0:
            raise HTTPException(429, "too many failed authentications from this address; "
                                     f"retry in {retry_after(wait)}s",
                                headers={"Retry-After": retry_after(wait)})
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        key = await keys.authenticate(presented.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            await limiter.count(address, *failures)
            raise HTTPException(401, "missing or unknown API key (Authorization: Bearer <key>)",
                                headers={"WWW-Authenticate": "Bearer"})
        wait = await limiter.take(key.key_id, key.rate_per_s, key.burst)
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
    if keys.db is not None:  # console users live in the gateway's database
        app.include_router(build_users_router(require_admin))
    if admin_secret is not None and keys.db is not None:
        console_lifespan = install_console(app, _console(forwarder, keys.db, admin_secret),
                                           console_bus)

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
    async def prometheus_metrics(request: Request) -> Response:
        # In embedded mode this process holds every service: their figures are here too.
        key = await authenticated(request)
        if not key.caller().has("metrics:read"):
            raise HTTPException(403, "this key lacks the scope metrics:read")
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi() -> dict[str, Any]:
        own = get_openapi(title=app.title, version=app.version, routes=app.routes)
        return await merged_openapi(own, upstreams)

    add_docs_routes(app)

    async def forward(request: Request) -> Response:
        # Decided on the path that is forwarded, byte for byte: see canonical_path.
        raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
        decided = canonical_path(raw.decode("latin-1"))
        if decided is None:
            # 404, documented on every route: such a path names no resource unambiguously.
            return problem(404, "no such resource: a path with dot segments, empty segments, "
                                "backslashes, control characters or encoded separators")
        route = route_for(decided)
        if route is None:
            return problem(404, f"no such resource: {decided}")
        # Metrics label: the prefix, not the path (which holds ids).
        request.scope["beacon.route"] = (route.prefix if decided == route.prefix
                                         else f"{route.prefix}/{{rest}}")
        if is_token_path(decided):
            return await _forward_token_request(request, forwarder, route.service, limiter)
        key = await authenticated(request)
        caller = key.caller()
        refused = missing_scope(route, request.method, caller)
        if refused:
            return problem(403, refused)
        limit = (settings.max_batch_body_bytes if decided.endswith("/batch")
                 else settings.max_body_bytes)
        body = await _read_body(request, limit)
        response = await _send(forwarder, route.service, request, caller, body)
        if (route.prefix == "/api/v1/complaints" and request.method == "GET"
                and response.status_code == 200 and decided.count("/") == 4):
            return JSONResponse(await forwarder.complaint_view(response.json(), caller))
        return _relay(response)

    # Every other path under /api/v1/ (ambiguous, unknown) gets its 404 here.
    app.add_api_route("/api/v1/{path:path}", forward, methods=list(PROXIED_METHODS),
                      include_in_schema=False)
    app.router.routes.insert(0, ServiceRoute((r.prefix for r in ROUTES), PROXIED_METHODS,
                                             forward))

    # Outermost, after the console's own: its headers stay, the rest are added to them.
    app.add_middleware(HeaderLimits, count=settings.max_headers, size=settings.max_header_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def _console(forwarder: Forwarder, db: Database, admin_secret: str) -> Console:
    console_settings = ConsoleSettings()
    users = UserStore(db, timedelta(seconds=console_settings.idle_timeout_s))
    return Console(forwarder, users, LiveHub(console_settings.event_buffer), console_settings,
                   admin_secret)


def client_address(request: Request) -> str:
    """The peer's address; uvicorn replaces it with X-Forwarded-For's only when the peer is
    one of TRUSTED_PROXIES (services/launcher.py), so a client cannot choose its own."""
    return request.client.host if request.client else "unknown"


async def _forward_token_request(
    request: Request, forwarder: Forwarder, service: str, limiter: RateLimiter
) -> Response:
    """A request whose token authorises it: no key, no scopes, a bucket per client address."""
    client = client_address(request)
    wait = await limiter.take(client, namespace="address")
    if wait > 0:
        raise HTTPException(429, f"too many requests from {client}; retry in {wait:.2f}s",
                            headers={"Retry-After": retry_after(wait)})
    body = await _read_body(request, 16 * 1024)
    return _relay(await _send(forwarder, service, request, ANONYMOUS, body))


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


async def _send(forwarder: Forwarder, service: str, request: Request, caller: Caller,
                body: bytes) -> Answer:
    headers = {h: request.headers[h] for h in FORWARDED_REQUEST_HEADERS if h in request.headers}
    # The path and query as the client encoded them: decoding and re-sending would change them.
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return await forwarder.send(service, request.method, raw_path.decode("latin-1"), caller,
                                params=query.decode("latin-1"), body=body, headers=headers)


def _relay(response: Answer) -> Response:
    headers = {h: response.headers[h] for h in FORWARDED_RESPONSE_HEADERS
               if h in response.headers}
    location = headers.get("location", "")
    if location and not (location.startswith("/") and not location.startswith("//")):
        del headers["location"]  # an absolute one would name the service's internal host
    return Response(response.content, status_code=response.status_code, headers=headers)


async def _ready(upstream: Upstream) -> dict[str, Any]:
    """Ready only when every replica is: round-robin would hide a replica that is down."""
    replicas = [await _replica_ready(replica) for replica in upstream.replicas]
    ready = bool(replicas) and all(r.get("status") == "ready" for r in replicas)
    return {"status": "ready" if ready else "not ready", "replicas": replicas}


async def _replica_ready(replica: Replica) -> dict[str, Any]:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            answer = await replica.send("GET", "/readyz", (), b"")
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 else {**body, "status": "not ready"}
    except (httpx.HTTPError, ValueError, TimeoutError) as exc:
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
    parts = [own] + [(await u.replica().send("GET", "/openapi.json", (), b"")).json()
                     for u in upstreams.values()]
    for part in parts:
        spec["paths"].update(part.get("paths", {}))
        spec["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    add_links(spec)
    # What the gateway itself may answer on any route, before or instead of the service.
    return document_problems(spec, everywhere=(401, 403, 404, 429, 500, 503),
                             with_body=(400, 413, 422))
