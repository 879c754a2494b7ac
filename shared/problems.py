"""RFC 9457 problem details for every error a service or the gateway answers."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import is_unavailable
from shared.messages import Language, detail, in_words, language_of

log = logging.getLogger("beacon.http")

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://beacon.dev/problems/{status}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_errors(exc: RequestValidationError | ValidationError,
                 language: Language = "en") -> list[dict[str, Any]]:
    """`{field, message}` per error in plain words (shared.messages), never the rejected
    value (it may be personal data)."""
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        out.append({"field": ".".join(loc) or "body", "message": in_words(dict(err), language)})
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(400, "the body is not valid JSON",
                           errors=[{"field": "body", "message": "not valid JSON"}])
        language = language_of(request.headers.get("accept-language"))
        errors = field_errors(exc, language)
        fields = ", ".join(e["field"] for e in errors)
        return problem(422, detail(fields, language), errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):
            # The unit of work is all or nothing: the same request (same Idempotency-Key)
            # can be sent again safely.
            log.warning("database unavailable: %s", type(exc).__name__)
            return problem(503, "the database is unavailable; retry shortly",
                           headers={"Retry-After": "1"})
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return problem(500, "internal error; the request id identifies it in the logs")
