"""OpenAPI that tells the truth about errors: every answer a route can give, and problem
details (RFC 9457) as their body, instead of FastAPI's default 422 model."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from shared.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
METHODS = ("get", "post", "put", "patch", "delete")


def _problem_response(status: int) -> dict[str, Any]:
    return {"description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def operations(spec: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for item in spec.get("paths", {}).values():
        for method in METHODS:
            if method in item:
                yield item[method]


def document_problems(spec: dict[str, Any], *, everywhere: Iterable[int] = (),
                      with_body: Iterable[int] = ()) -> dict[str, Any]:
    """Every operation answers `everywhere` statuses (plus `with_body` when it takes a body,
    plus 422 when it takes parameters) as problem details."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for schema in ("HTTPValidationError", "ValidationError"):
        spec["components"]["schemas"].pop(schema, None)
    for operation in operations(spec):
        statuses = set(everywhere)
        if "requestBody" in operation:
            statuses |= set(with_body)
        responses = operation.setdefault("responses", {})
        if "422" in responses:
            statuses.add(422)
        for status in statuses:
            described = responses.get(str(status), {})
            responses[str(status)] = {**_problem_response(status),
                                      "description": described.get("description")
                                      or HTTPStatus(status).phrase}
    return spec
