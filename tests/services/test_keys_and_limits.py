"""Keys made through the admin API, per-key rate limits, body-size limits."""

from __future__ import annotations

from sqlalchemy import select

from services.auth import key_hash
from services.models import ApiKeyRecord
from tests.support import System

COMPLAINT = {"channel": "app", "content": "App 闪退，无法下单"}


async def _new_key(system: System, **fields: object) -> dict[str, object]:
    body = {"name": "12345 hotline", "owner": "hotline-12345",
            "scopes": ["complaints:write", "complaints:read"], **fields}
    response = await system.client.post("/api/v1/admin/keys", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def test_created_key_works_is_stored_hashed_and_can_be_revoked(system: System) -> None:
    created = await _new_key(system)
    secret = str(created["key"])
    headers = {"Authorization": f"Bearer {secret}"}
    posted = await system.client.post("/api/v1/complaints", json=COMPLAINT, headers=headers)
    assert posted.status_code == 202

    listed = (await system.client.get("/api/v1/admin/keys")).json()["items"]
    # The built-in admin key is listed (and revocable) like any other; newest first.
    assert [k["id"] for k in listed] == [created["id"], "dev"]
    assert listed[1]["name"] == "built-in admin key"
    assert not [k for k in listed if "key" in k]
    store = system.embedded.gateway.state.keys
    async with store.db.session() as session:
        record = await session.get(ApiKeyRecord, created["id"])
        stored = await session.scalars(select(ApiKeyRecord.key_hash))
    assert record is not None and record.key_hash == key_hash(secret)
    assert secret not in list(stored)

    assert (await system.client.delete(f"/api/v1/admin/keys/{created['id']}")).status_code == 204
    refused = await system.client.post("/api/v1/complaints", json=COMPLAINT, headers=headers)
    assert refused.status_code == 401
    assert (await system.client.delete("/api/v1/admin/keys/nope")).status_code == 404


async def test_admin_api_needs_admin_scope_and_valid_scopes(system: System) -> None:
    forbidden = await system.client.get("/api/v1/admin/keys", headers=system.as_key("operator"))
    assert forbidden.status_code == 403
    bad = await system.client.post("/api/v1/admin/keys", json={
        "name": "x", "owner": "o", "scopes": ["everything"]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].startswith("scopes")


async def test_rate_limit_answers_429_with_retry_after(system: System) -> None:
    created = await _new_key(system, rate_per_s=0.5, burst=3)
    headers = {"Authorization": f"Bearer {created['key']}"}
    answers = [(await system.client.get("/api/v1/complaints/none", headers=headers))
               for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    # 3 requests in any 6 s (burst / rate): the next one is some seconds away.
    assert 1 <= int(answers[3].headers["retry-after"]) <= 6
    assert answers[3].json()["status"] == 429


async def test_body_over_the_limit_is_413_and_changes_nothing(system: System) -> None:
    huge = {"channel": "web", "content": "很" * 200_000}  # ~600 KB of UTF-8
    response = await system.client.post("/api/v1/complaints", json=huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert await system.complaints_stored() == 0


async def test_acknowledgement_link_needs_no_key_but_a_valid_token(system: System) -> None:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "燃气泄漏爆炸，有人受伤"})
    await system.notified.applied(1)
    deliveries = (await system.client.get("/api/v1/notifications", params={
        "complaint_id": posted.json()["id"]})).json()["items"]
    tokens = system.embedded.services["notify"].state.notifier.tokens
    token = tokens.token_for(deliveries[0]["id"])
    anonymous = {"Authorization": ""}

    unknown = await system.client.post("/api/v1/notifications/ack", json={"token": "x" * 64},
                                       headers=anonymous)
    assert unknown.status_code == 404
    acked = await system.client.post("/api/v1/notifications/ack", json={"token": token},
                                     headers=anonymous)
    assert acked.status_code == 200 and acked.json()["acknowledged_at"]
    again = await system.client.post("/api/v1/notifications/ack", json={"token": token},
                                     headers=anonymous)
    assert again.status_code == 409
    listing = await system.client.get("/api/v1/notifications", headers=anonymous)
    assert listing.status_code == 401  # only the token path is open
