"""The gateway's contract (API.md): keys, scopes, errors, idempotency, privacy, request ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.events import Envelope
from tests.support import System

BODY = {"channel": "hotline", "content": "收费不合理", "complainant": {
    "name": "李四", "phone": "13912345678", "email": "lisi@example.com"}}


async def test_no_key_is_401_and_unknown_key_is_401(system: System) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer nope"}):
        response = await system.client.post("/api/v1/complaints", json=BODY, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401


async def test_missing_scope_is_403_naming_the_scope(system: System) -> None:
    response = await system.client.post("/api/v1/complaints", json=BODY,
                                        headers=system.as_key("operator"))
    assert response.status_code == 403
    assert "complaints:write" in response.json()["detail"]


async def test_unknown_path_is_404_problem(system: System) -> None:
    response = await system.client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


async def test_bad_input_names_each_field_and_changes_nothing(system: System) -> None:
    response = await system.client.post("/api/v1/complaints", json={
        "channel": "fax", "content": "", "people_count": -1,
        "complainant": {"phone": "call me", "email": "nope"}})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"channel", "content", "people_count", "complainant.phone",
                      "complainant.email"}
    assert "call me" not in response.text  # rejected values are not echoed
    broken = await system.client.post("/api/v1/complaints", content=b'{"channel": ',
                                      headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert await system.complaints_stored() == 0


async def test_idempotency_key_replays_and_conflicts(system: System) -> None:
    first = await system.client.post("/api/v1/complaints", json=BODY,
                                     headers={"Idempotency-Key": "call-42"})
    again = await system.client.post("/api/v1/complaints", json=BODY,
                                     headers={"Idempotency-Key": "call-42"})
    other = await system.client.post("/api/v1/complaints", json={**BODY, "content": "别的"},
                                     headers={"Idempotency-Key": "call-42"})
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 409)
    assert again.json()["id"] == first.json()["id"]


async def test_external_ref_replays_per_caller(system: System) -> None:
    body = {**BODY, "external_ref": "12345-0001"}
    first = await system.client.post("/api/v1/complaints", json=body,
                                     headers=system.as_key("hotline-a"))
    again = await system.client.post("/api/v1/complaints", json=body,
                                     headers=system.as_key("hotline-a"))
    elsewhere = await system.client.post("/api/v1/complaints", json=body,
                                         headers=system.as_key("hotline-b"))
    assert (first.status_code, again.status_code, elsewhere.status_code) == (202, 200, 202)
    assert again.json()["id"] == first.json()["id"] != elsewhere.json()["id"]


async def test_hotline_sees_only_its_own_complaints(system: System) -> None:
    mine = await system.client.post("/api/v1/complaints", json=BODY,
                                    headers=system.as_key("hotline-a"))
    path = f"/api/v1/complaints/{mine.json()['id']}"
    assert (await system.client.get(path, headers=system.as_key("hotline-a"))).status_code == 200
    assert (await system.client.get(path, headers=system.as_key("hotline-b"))).status_code == 404


@pytest.mark.parametrize(("key", "name", "phone"), [
    ("operator", "李*", "139****5678"),
    ("operator-pii", "李四", "13912345678"),
])
async def test_complainant_masked_without_pii_scope(system: System, key: str, name: str,
                                                    phone: str) -> None:
    posted = await system.client.post("/api/v1/complaints", json=BODY)
    view = (await system.client.get(f"/api/v1/complaints/{posted.json()['id']}",
                                    headers=system.as_key(key))).json()
    assert (view["complainant"]["name"], view["complainant"]["phone"]) == (name, phone)


async def test_request_id_is_kept_or_made(system: System) -> None:
    kept = await system.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    made = await system.client.get("/healthz", headers={"X-Request-ID": "bad id; drop"})
    assert len(made.headers["x-request-id"]) == 32


async def test_readiness_and_merged_openapi(system: System) -> None:
    ready = await system.client.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"intake", "triage", "notify", "sentiment", "drill"}
    spec = (await system.client.get("/api/v1/openapi.json")).json()
    assert {"/api/v1/complaints", "/api/v1/cases", "/api/v1/notifications",
            "/api/v1/mentions"} <= set(spec["paths"])


async def test_no_two_services_name_different_schemas_alike(system: System) -> None:
    """The merged OpenAPI keeps one schema per name: a name two services define differently
    would document one service's body with the other's rules (a drill's complainant once
    replaced intake's, so the fuzzer sent phones intake rightly refused)."""
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for name, app in system.embedded.services.items():
        for schema, body in app.openapi().get("components", {}).get("schemas", {}).items():
            first = seen.setdefault(schema, (name, body))
            if first[1] != body:
                clashes.append((schema, first[0], name))
    assert not clashes, clashes


async def test_request_id_reaches_the_events_it_caused(system: System) -> None:
    posted = await system.client.post("/api/v1/complaints", json=BODY,
                                      headers={"X-Request-ID": "call-centre-7781"})
    assert posted.headers["x-request-id"] == "call-centre-7781"
    await system.notified.applied(1)
    for name in ("intake", "triage"):
        runtime = system.embedded.services[name].state.runtime
        async with runtime.db.session() as session:
            stored = (await session.scalars(select(runtime.outbox.c.envelope))).all()
        assert stored and all(Envelope.model_validate_json(e).requestid == "call-centre-7781"
                              for e in stored), name
