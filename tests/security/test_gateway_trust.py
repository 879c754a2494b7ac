"""Issue 13, HIGH 1: a service believes no caller header the gateway did not sign. Replayed
on a real service port: the forged `x-beacon-scopes: pii:read` read of a complaint, a
signature made with another secret, a stale one, one made for another path; and every path
the gateway and the console use still works, because each signs."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import httpx
import pytest

from services.auth import key_hash
from services.launcher import build_embedded
from services.settings import GatewaySettings
from shared.caller import Caller, signed_headers
from shared.settings import ConfigError, ServiceSettings
from tests.support import (
    ADMIN,
    PASSWORD,
    ConsoleWorld,
    System,
    serving,
    sign_in,
)

NAME, PHONE = "王小明", "13912345678"
FORGED = {"x-beacon-scopes": "pii:read cases:read complaints:read admin",
          "x-beacon-owner": "ops", "x-beacon-key-id": "k1"}


async def _complaint(system: System) -> str:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "热水器漏电", "complainant": {"name": NAME,
                                                                  "phone": PHONE}})
    assert posted.status_code == 202, posted.text
    return str(posted.json()["id"])


async def test_forged_caller_headers_on_a_service_port_get_401(system: System) -> None:
    complaint_id = await _complaint(system)
    intake = system.embedded.services["intake"]
    path = f"/api/v1/complaints/{complaint_id}"
    async with serving(intake) as port, httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}") as direct:
        forged = await direct.get(path, headers=FORGED)
        assert forged.status_code == 401
        assert forged.headers["content-type"] == "application/problem+json"
        assert forged.json()["status"] == 401
        assert NAME not in forged.text and PHONE not in forged.text

        caller = Caller("k1", "ops", frozenset({"pii:read", "complaints:read", "admin"}))
        secret = intake.state.internal_secret
        wrong_key = signed_headers("another-secret-0123456789", caller, "GET", path, "r1")
        stale = signed_headers(secret, caller, "GET", path, "r1", now=time.time() - 120)
        other_path = signed_headers(secret, caller, "GET", "/api/v1/complaints", "r1")
        other_request = {**signed_headers(secret, caller, "GET", path, "r1"),
                         "x-request-id": "r2"}
        widened = {**signed_headers(secret, Caller("k1", "ops", frozenset({"cases:read"})),
                                    "GET", path, "r1"), "x-beacon-scopes": "pii:read admin"}
        for headers in (wrong_key, stale, other_path, other_request, widened):
            refused = await direct.get(path, headers=headers)
            assert refused.status_code == 401, headers
            assert NAME not in refused.text

        # The check is not a wall: the gateway's own signature is believed.
        genuine = await direct.get(path, headers=signed_headers(secret, caller, "GET", path,
                                                                "r3"))
        assert genuine.status_code == 200
        assert genuine.json()["complainant"]["name"] == NAME
        # Operational routes stay open to probes: they carry no caller and no data.
        assert (await direct.get("/healthz")).status_code == 200


async def test_the_gateway_signs_every_forwarded_call(system: System) -> None:
    complaint_id = await _complaint(system)
    await system.notified.applied(1)
    # The composed view calls intake and triage, each signed.
    view = await system.client.get(f"/api/v1/complaints/{complaint_id}",
                                   headers=system.as_key("operator"))
    assert view.status_code == 200
    assert view.json()["case"] is not None
    assert view.json()["complainant"]["name"] != NAME  # masked: operator lacks pii:read
    revealed = await system.client.get(f"/api/v1/complaints/{complaint_id}",
                                       headers=system.as_key("operator-pii"))
    assert revealed.json()["complainant"]["name"] == NAME


async def test_console_pages_reach_the_services_signed(world: ConsoleWorld) -> None:
    complaint_id = await _complaint(world.system)
    await world.system.notified.applied(1)
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        board = await browser.get("/board")
        assert board.status_code == 200
        cases = (await world.system.client.get("/api/v1/cases", params={
            "complaint_id": complaint_id})).json()["items"]
        page = await browser.get(f"/cases/{cases[0]['id']}")
        assert page.status_code == 200 and "热水器漏电" in page.text


def test_distributed_processes_refuse_to_start_without_the_shared_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEACON_INTERNAL_SECRET", raising=False)
    monkeypatch.setenv("BUS", "kafka")
    with pytest.raises(ConfigError) as raised:
        ServiceSettings().caller_secret()
    assert raised.value.setting == "BEACON_INTERNAL_SECRET"
    monkeypatch.setenv("BEACON_INTERNAL_SECRET", "s" * 32)
    assert ServiceSettings().caller_secret() == "s" * 32


async def test_the_built_in_admin_key_can_be_revoked_and_stays_revoked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    settings = GatewaySettings(data_dir=tmp_path, dev_api_key=ADMIN)
    for attempt in range(2):  # the second start is a restart on the same database
        app = build_embedded(settings).gateway
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://beacon",
                headers={"Authorization": f"Bearer {ADMIN}"}) as client:
            if attempt == 0:
                listed = (await client.get("/api/v1/admin/keys")).json()["items"]
                (builtin,) = [k for k in listed if k["id"] == "dev"]
                assert builtin["revoked_at"] is None
                assert (await client.delete("/api/v1/admin/keys/dev")).status_code == 204
            refused = await client.get("/api/v1/cases")
            assert refused.status_code == 401
    # A new admin secret is a new key.
    renewed = GatewaySettings(data_dir=tmp_path, dev_api_key="a-new-admin-secret-987654")
    app = build_embedded(renewed).gateway
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://beacon") as client:
        answer = await client.get("/api/v1/cases", headers={
            "Authorization": "Bearer a-new-admin-secret-987654"})
        assert answer.status_code == 200
        assert key_hash(ADMIN) != key_hash("a-new-admin-secret-987654")


async def test_sqlite_files_are_readable_by_their_owner_only(system: System,
                                                              tmp_path: Path) -> None:
    await _complaint(system)
    files = [tmp_path / name for name in os.listdir(tmp_path)
             if name.endswith((".db", ".db-wal", ".db-shm"))]
    assert {p.name for p in files} >= {"intake.db", "gateway.db", "intake.db-wal"}
    for path in files:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600, f"{path.name}: {oct(mode)}"
