"""Accountability records (追责问责) are the leadership's: the gateway admits only the
`accountability` scope to /api/v1/cases/{id}/accountability (the console gives it to the
leader role, and admin holds every scope); cases:write, pii:read or a hotline key are
refused before the request reaches triage, and triage checks again."""

from __future__ import annotations

import httpx
import pytest

from services.console.users import ROLES, User
from services.routing import route_for
from tests.support import ADMIN, System, as_gateway, file_case

RECORD = {"department": "营业厅", "finding": "未按规定巡检", "measure": "通报批评"}


def test_only_the_leader_and_admin_roles_hold_the_accountability_scope() -> None:
    holders = [role for role in ROLES
               if User("u", "U", role, pii=True).caller().has("accountability")]
    assert holders == ["leader", "admin"]


def test_the_accountability_path_has_a_scope_of_its_own() -> None:
    for method in ("GET", "POST"):
        route = route_for("/api/v1/cases/abc/accountability")
        assert route is not None and route.scopes_for(method) == {"accountability"}
    # Its neighbours keep the cases scopes.
    for path in ("/api/v1/cases/abc/rectifications", "/api/v1/cases/abc",
                 "/api/v1/cases/abc/accountability/x", "/api/v1/cases/accountability"):
        route = route_for(path)
        assert route is not None and route.scopes_for("POST") == {"cases:write"}, path


@pytest.mark.parametrize("key", ["operator", "operator-pii", "hotline-a"])
async def test_keys_without_the_scope_are_refused_at_the_gateway(system: System,
                                                                  key: str) -> None:
    case_id = await file_case(system, "营业厅排队两个小时")
    path = f"/api/v1/cases/{case_id}/accountability"
    for answer in (await system.client.get(path, headers=system.as_key(key)),
                   await system.client.post(path, json=RECORD, headers=system.as_key(key))):
        assert answer.status_code == 403, answer.text
        assert "accountability" in answer.json()["detail"]
    listed = await system.client.get(path, headers=system.as_key("leader"))
    assert listed.status_code == 200 and listed.json() == []


async def test_the_leader_and_admin_may_record_and_read(system: System) -> None:
    case_id = await file_case(system, "营业厅排队两个小时")
    path = f"/api/v1/cases/{case_id}/accountability"
    for key in ({"Authorization": f"Bearer {ADMIN}"}, system.as_key("leader")):
        made = await system.client.post(path, json=RECORD, headers=key)
        assert made.status_code == 201, made.text
    assert len((await system.client.get(path)).json()) == 2


async def test_triage_itself_refuses_a_caller_without_the_scope(system: System) -> None:
    case_id = await file_case(system, "营业厅排队两个小时")
    triage = system.embedded.services["triage"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=triage),
                                 base_url="http://triage", auth=as_gateway(triage),
                                 headers={"x-beacon-owner": "ops", "x-beacon-key-id": "k",
                                          "x-beacon-scopes": "cases:read cases:write"}
                                 ) as direct:
        answer = await direct.get(f"/api/v1/cases/{case_id}/accountability")
        assert answer.status_code == 403
        answer = await direct.post(f"/api/v1/cases/{case_id}/accountability", json=RECORD)
        assert answer.status_code == 403
