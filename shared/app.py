"""The FastAPI app every service is: its routes plus health, readiness, metrics, request ids
and problem-details errors, with the runtime started and stopped by the app's lifespan."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics, tracing
from shared.caller import CallerCheck
from shared.logctx import bind, log_access, request_id_var, service_var
from shared.openapi import document_problems
from shared.problems import install_problem_handlers, problem
from shared.runtime import ServiceRuntime, Unit


async def runtime_of(request: Request) -> ServiceRuntime:
    # async: FastAPI runs a plain `def` dependency in its thread pool, on every request
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(runtime_of)]


async def unit_of(runtime: RuntimeDep) -> AsyncIterator[Unit]:
    async with runtime.unit() as unit:
        yield unit


async def read_session_of(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.db.session() as session:
        yield session


# The request's unit: it commits when the route returns, before the answer is sent (scope
# "function"), and rolls back when the route raises. Services take it and never commit.
UnitDep = Annotated[Unit, Depends(unit_of, scope="function")]
# A session for a route that only reads.
ReadSessionDep = Annotated[AsyncSession, Depends(read_session_of, scope="function")]
Readiness = Callable[[], Awaitable[dict[str, Any]]]
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SAFE_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def route_label(scope: Scope) -> str:
    """The route template that answered (`/api/v1/cases/{case_id}`), never the raw path: a
    label per complaint id would grow without bound. A handler may name its own route in
    `scope["beacon.route"]` (the gateway's catch-all does)."""
    named = scope.get("beacon.route")
    if isinstance(named, str):
        return named
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else metrics.UNMATCHED_ROUTE


class RequestContext:
    """ASGI middleware: binds X-Request-ID (accepted or made) and the trace context
    (`traceparent` continued, or a new trace), counts requests by route template and writes
    one access line per request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        token = request_id_var.set(request_id)
        service_token = service_var.set(self.service)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"], (b"x-request-id", request_id.encode())
                ]
            await send(message)

        try:
            with tracing.continued(tracing.from_http_headers(scope["headers"])):
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    self._record(scope, status, time.perf_counter() - started)
        finally:
            request_id_var.reset(token)
            service_var.reset(service_token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = metrics.http_method(scope["method"]), route_label(scope)
        metrics.HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
        metrics.HTTP_SECONDS.labels(self.service, method, route).observe(seconds)
        # scope["path"] never holds the query string (which may carry personal data).
        log_access(method, scope["path"], status, seconds)


def add_operational_routes(app: FastAPI, readiness: Readiness) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = await readiness()
        failing = [name for name, state in checks.items() if state != "ok"]
        if failing:
            return problem(503, "not ready: " + ", ".join(failing), extra={"checks": checks})
        return JSONResponse({"status": "ready", "checks": checks})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def install_problem_openapi(app: FastAPI) -> None:
    """Document the problem-details answers every route can give (400, 404, 409, 422, 500)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(
                plain(), everywhere=(404, 500), with_body=(400, 409, 422))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_service_app(
    runtime: ServiceRuntime, routers: Sequence[APIRouter], *, title: str
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Bound here, the service's name reaches every task start() makes (relay,
        # consumers, periodic jobs): their lines name it even in embedded mode.
        with bind(runtime.name):
            await runtime.start()
        try:
            yield
        finally:
            with bind(runtime.name):
                await runtime.stop()

    # No slash redirects: their Location would name the service's own host.
    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan, redirect_slashes=False)
    app.state.runtime = runtime
    for router in routers:
        app.include_router(router)
    install_problem_handlers(app)
    add_operational_routes(app, runtime.readiness)
    install_problem_openapi(app)
    app.state.internal_secret = runtime.settings.caller_secret()
    app.add_middleware(CallerCheck, secret=app.state.internal_secret)
    app.add_middleware(RequestContext, service=runtime.name)
    return app
