"""The merged OpenAPI's response links point somewhere real: each names an operation the document
has, fills only that operation's path parameters, and reads a field its answer's schema declares
(or a path parameter of the request it starts from)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.openapi_links import LINKS
from tests.support import merged_openapi

ADMIN = "links-admin-key-0123456789"


async def _spec(tmp_path: Path) -> dict[str, Any]:
    return await merged_openapi(tmp_path, ADMIN)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _field_schema(spec: dict[str, Any], schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The schema at a JSON pointer into an answer, or AssertionError naming the missing step."""
    for step in pointer.strip("/").split("/"):
        schema = _resolve(spec, schema)
        if step.isdigit():
            assert schema.get("type") == "array", f"{pointer}: {step} indexes a non-array"
            schema = schema["items"]
        else:
            assert step in schema.get("properties", {}), f"{pointer}: no field {step!r}"
            schema = schema["properties"][step]
    return _resolve(spec, schema)


def _path_parameters(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}


def _operations_by_id(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in spec["paths"].values() for op in item.values()}


def _check_link(spec: dict[str, Any], source: dict[str, Any], status: str,
                link: dict[str, Any]) -> None:
    target = _operations_by_id(spec).get(link["operationId"])
    assert target is not None, f"no operation {link['operationId']}"
    assert set(link["parameters"]) == _path_parameters(target)
    for expression in link["parameters"].values():
        if expression.startswith("$request.path."):
            assert expression.removeprefix("$request.path.") in _path_parameters(source)
            continue
        assert expression.startswith("$response.body#/"), expression
        body = source["responses"][status]["content"]["application/json"]["schema"]
        field = _field_schema(spec, body, expression.removeprefix("$response.body#"))
        assert field.get("type") == "string", f"{expression} is not a string id"


async def test_every_link_leads_to_a_real_operation_from_a_real_field(tmp_path: Path) -> None:
    spec = await _spec(tmp_path)
    checked = 0
    for (method, path, status), links in LINKS.items():
        answer = spec["paths"][path][method]["responses"][status]
        assert set(answer.get("links", {})) == set(links), f"{method} {path} {status}"
        for link in answer["links"].values():
            _check_link(spec, spec["paths"][path][method], status, link)
            checked += 1
    assert checked >= 30


async def test_the_flows_the_api_names_are_linked(tmp_path: Path) -> None:
    """The complaint -> case -> action flow and the draft -> approve one, by operationId."""
    spec = await _spec(tmp_path)
    paths = spec["paths"]
    accepted = paths["/api/v1/complaints"]["post"]["responses"]["202"]["links"]
    assert accepted["ReadComplaint"]["operationId"] == (
        paths["/api/v1/complaints/{complaint_id}"]["get"]["operationId"])
    case = paths["/api/v1/cases/of-complaint/{complaint_id}"]["get"]["responses"]["200"]["links"]
    assert case["CaseAcknowledge"]["operationId"] == (
        paths["/api/v1/cases/{case_id}/acknowledge"]["post"]["operationId"])
    drafted = paths["/api/v1/statements"]["post"]["responses"]["201"]["links"]
    assert drafted["ApproveStatement"]["parameters"] == {"statement_id": "$response.body#/id"}
