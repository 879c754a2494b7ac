"""The console inside the gateway: its routes, static files, error pages, live stream and
lifespan (the first admin, the bus subscription of this replica's own group)."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.console import (
    accounts,
    board,
    case,
    drills,
    duty,
    incidents,
    opinion,
    register,
    signin,
    statements,
    stats,
)
from services.console.live import stream
from services.console.security import PageHeaders
from services.console.web import Console, SessionDep, SignInNeeded, redirect, render
from shared.bus import Bus

log = logging.getLogger("beacon.console")
STATIC = Path(__file__).parent / "static"
ROUTERS = (signin.router, board.router, case.router, register.router, incidents.router,
           opinion.router, statements.router, duty.router, stats.router, accounts.router,
           drills.router)
# The kinds of notice a page may hear about, by the scope that reads what they point at.
KINDS_BY_SCOPE = {"cases:read": frozenset({"case", "incident", "notification", "alert",
                                          "statement"})}
Lifespan = Callable[[], contextlib.AbstractAsyncContextManager[object]]


def install_console(app: FastAPI, console: Console, bus: Bus | None) -> Lifespan:
    """Add the console to the gateway app; returns the lifespan the gateway runs."""
    app.state.console = console
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(PageHeaders)
    _install_error_pages(app)
    group = f"console-{socket.gethostname()}-{console.hub.epoch}"
    if bus is not None:
        console.hub.attach(bus, group)

    @app.get("/events", include_in_schema=False)
    async def events(request: Request, session: SessionDep) -> Response:
        allowed = frozenset().union(*[kinds for scope, kinds in KINDS_BY_SCOPE.items()
                                      if session.user.caller().has(scope)])
        last_id = (request.headers.get("last-event-id")
                   or request.query_params.get("last_event_id"))
        return EventSourceResponse(
            stream(console.hub, last_id, console.settings.heartbeat_s, allowed),
            headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        if await console.users.ensure_admin(console.admin_password):
            log.info("console: created the user admin (password: the admin secret)")
        if bus is not None:
            await bus.start()
        try:
            yield
        finally:
            console.hub.end_streams()  # open streams would hold the shutdown up
            if bus is not None:
                await bus.stop()

    return lifespan


def _install_error_pages(app: FastAPI) -> None:
    """Pages answer errors as pages; the API keeps its problem documents."""
    api_http_error = app.exception_handlers[StarletteHTTPException]
    api_validation_error = app.exception_handlers[RequestValidationError]

    async def sign_in(request: Request, _exc: Exception) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return redirect(f"/login?next={_quote(target)}", request)

    async def http_error(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/") or not isinstance(exc, StarletteHTTPException):
            return await _call(api_http_error, request, exc)
        console: Console = request.app.state.console
        return render(request, console, None, "error.html", status=exc.status_code,
                      status_code=exc.status_code, detail=str(exc.detail))

    async def validation_error(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return await _call(api_validation_error, request, exc)
        console: Console = request.app.state.console
        return render(request, console, None, "error.html", status=422, status_code=422,
                      detail="invalid input")

    app.add_exception_handler(SignInNeeded, sign_in)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


async def _call(handler: Any, request: Request, exc: Exception) -> Response:
    answer: Response = await handler(request, exc)
    return answer


def _quote(target: str) -> str:
    return quote(target, safe="/")
