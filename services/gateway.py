"""The gateway: authenticates, checks scopes, routes by path, composes the complaint view
with its case, merges the services' OpenAPI into one."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from services.auth import KeyRing
from services.routing import route_for
from services.upstreams import Upstream
from shared.app import RequestContext
from shared.caller import Caller
from shared.logctx import request_id_var
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
    upstreams: dict[str, Upstream], keys: KeyRing, *, lifespans: list[Lifespan] | None = None
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for start in lifespans or []:
                await stack.enter_async_context(start())
            try:
                yield
            finally:
                for upstream in upstreams.values():
                    await upstream.aclose()

    app = FastAPI(title="Beacon API", version="1.0.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    app.add_middleware(RequestContext, service="gateway")

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

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi() -> dict[str, Any]:
        return await merged_openapi(upstreams)

    @app.api_route("/api/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def forward(request: Request, path: str) -> Response:
        route = route_for(request.url.path)
        if route is None:
            return problem(404, f"no such resource: {request.url.path}")
        caller = _authenticate(request, keys)
        if caller is None:
            return problem(401, "missing or unknown API key (Authorization: Bearer <key>)",
                           headers={"WWW-Authenticate": "Bearer"})
        needed = route.scopes_for(request.method)
        if not any(caller.has(scope) for scope in needed):
            return problem(403, f"this key lacks the scope {' or '.join(sorted(needed))}")
        upstream = upstreams[route.service]
        response = await _send(upstream, request, caller)
        if (route.service == "intake" and request.method == "GET"
                and response.status_code == 200 and path.count("/") == 1):
            return await _with_case(response, upstreams["triage"], caller)
        return _relay(response)

    return app


def _authenticate(request: Request, keys: KeyRing) -> Caller | None:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return None
    key = keys.authenticate(presented.strip())
    return key.caller() if key else None


async def _send(upstream: Upstream, request: Request, caller: Caller) -> httpx.Response:
    headers = {h: request.headers[h] for h in FORWARDED_REQUEST_HEADERS if h in request.headers}
    headers.update(caller.headers())
    headers["x-request-id"] = request_id_var.get() or ""
    try:
        return await upstream.client().request(
            request.method, request.url.path, params=request.query_params,
            content=await request.body(), headers=headers,
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
    found = await triage.client().get(
        "/api/v1/cases", params={"complaint_id": complaint["id"]},
        headers={**caller.headers(), "x-request-id": request_id_var.get() or ""},
    )
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


async def merged_openapi(upstreams: dict[str, Upstream]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Beacon API", "version": "1.0.0"},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
    for upstream in upstreams.values():
        part = (await upstream.client().get("/openapi.json")).json()
        spec["paths"].update(part.get("paths", {}))
        spec["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    return spec
