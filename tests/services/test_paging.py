"""Every list pages alike: `items` and `next_cursor`, `cursor` and `limit`, a stable order.
The OpenAPI is walked, so a new list without paging fails here; each list is then paged two
at a time and must give exactly the rows of one big page, in the same order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from notify_svc.models import BriefRow
from tests.support import System
from triage_svc.models import Incident

# Whole documents, read and replaced as one (PUT), a lookup by the caller's own reference
# (at most one item), and the scenarios shipped with the code: not lists to page.
DOCUMENTS = {"/api/v1/roster/duty", "/api/v1/complaints", "/api/v1/drills/scenarios"}
# list path -> (the field that identifies an item, the field it is ordered by, newest first)
LISTS = {
    "/api/v1/cases": ("id", "opened_at"),
    "/api/v1/incidents": ("id", "opened_at"),
    "/api/v1/notifications": ("id", "created_at"),
    "/api/v1/statements": ("id", "drafted_at"),
    "/api/v1/callbacks": ("owner", "updated_at"),
    "/api/v1/mentions": ("id", "received_at"),
    "/api/v1/admin/keys": ("id", "created_at"),
    "/api/v1/drills": ("id", "started_at"),
    "/api/v1/admin/users": ("username", None),
    "/api/v1/complainants/at-risk": ("id", "registered_at"),
    "/api/v1/briefs": ("id", "period_start"),
}


def _schema(spec: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    name = ref.get("$ref", "").rpartition("/")[2]
    schema: dict[str, Any] = spec["components"]["schemas"].get(name, ref)
    return schema


async def test_every_list_in_the_openapi_documents_its_paging(system: System) -> None:
    spec = (await system.client.get("/api/v1/openapi.json")).json()
    lists = set()
    for path, item in spec["paths"].items():
        answer = item.get("get", {}).get("responses", {}).get("200", {})
        schema = _schema(spec, answer.get("content", {}).get("application/json", {})
                         .get("schema", {}))
        if schema.get("properties", {}).get("items", {}).get("type") != "array":
            continue
        if path in DOCUMENTS:
            continue
        lists.add(path)
        parameters = {p["name"]: p for p in item["get"].get("parameters", [])}
        assert {"cursor", "limit"} <= set(parameters), path
        assert parameters["cursor"]["schema"]["anyOf"][0]["pattern"], path
        assert "next_cursor" in schema["properties"], path
        assert schema["properties"]["next_cursor"].get("description"), path
    assert lists == set(LISTS), "a list is not paged (or no longer exists)"


async def _file(system: System) -> None:
    """Three or more rows in every list."""
    for n in range(3):
        filed = await system.client.post("/api/v1/complaints", json={
            "channel": "web", "content": f"第{n}号：营业厅排队时间太长"})
        assert filed.status_code == 202, filed.text
        for resource, body in (
                ("/api/v1/statements", {"title": f"口径{n}", "text": "正在处理"}),
                ("/api/v1/admin/keys", {"name": f"k{n}", "owner": f"o{n}",
                                        "scopes": ["cases:read"]}),
                ("/api/v1/admin/users", {"username": f"user-{n}", "display_name": f"U{n}",
                                         "password": "x" * 12, "role": "duty_officer"}),
                ("/api/v1/mentions", {"source": "news", "content": f"第{n}条报道"}),
                ("/api/v1/complainants/at-risk", {"phone": f"1380000000{n}", "note": "n"}),
                # A run whose complaint comes a minute later (speed 1): nothing it posts
                # lands in the lists while they are paged.
                ("/api/v1/drills", {"scenario": {
                    "name": f"drill-{n}", "title": f"演练{n}", "length": "2m", "complaints": [
                        {"ref": "a", "at": "1m", "content": f"第{n}号演练投诉"}]}})):
            made = await system.client.post(resource, json=body)
            assert made.status_code in (201, 202), made.text
        put = await system.client.put(f"/api/v1/callbacks/hotline-{n}", json={
            "url": "https://hotline.example.com/cb", "secret": "s" * 16})
        assert put.status_code == 200, put.text
    # Incidents as triage stores them; two opened at the same instant, so the id decides.
    at = datetime.now(UTC)
    triage = system.embedded.services["triage"].state.runtime
    async with triage.unit() as unit:
        unit.session.add_all([Incident(
            id=uuid.uuid4().hex, kind="group", response_level=2, state="open",
            opened_at=at - timedelta(seconds=min(n, 1)), updated_at=at, summary="s",
            key=f"k{n}", people_count=3) for n in range(3)])
    # Briefs as notify claims them, one a day.
    async with system.embedded.services["notify"].state.runtime.unit() as unit:
        unit.session.add_all([BriefRow(
            id=f"daily-2026010{n}", kind="daily", period_start=at - timedelta(days=n + 1),
            period_end=at - timedelta(days=n), requested_at=at, wait_until=at,
            status="delivered", figures={}) for n in range(3)])
    await system.notified.applied(3)


async def _all_pages(system: System, path: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(50):
        page = (await system.client.get(path, params=params)).json()
        assert len(page["items"]) <= 2, path
        seen += page["items"]
        if page["next_cursor"] is None:
            return seen
        params["cursor"] = page["next_cursor"]
    raise AssertionError(f"{path} never reached its last page")


async def test_every_list_pages_without_skipping_or_repeating(system: System) -> None:
    await _file(system)
    for path, (key, order) in LISTS.items():
        whole = (await system.client.get(path, params={"limit": 100})).json()
        assert whole["next_cursor"] is None and len(whole["items"]) >= 3, path
        paged = await _all_pages(system, path)
        assert [i[key] for i in paged] == [i[key] for i in whole["items"]], path
        if order:
            stamps = [i[order] for i in paged]
            assert stamps == sorted(stamps, reverse=True), path
    # A malformed cursor is refused with its field, on every list.
    for path in LISTS:
        bad = await system.client.get(path, params={"cursor": "not a cursor"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


async def test_notifications_of_one_complaint_page_in_the_order_they_happened(
        system: System) -> None:
    filed = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "燃气泄漏爆炸，多人受伤住院"})  # level 1: many told
    await system.notified.applied(1)
    params = {"complaint_id": filed.json()["id"], "limit": 1, "total": "true"}
    first = (await system.client.get("/api/v1/notifications", params=params)).json()
    assert first["total"] >= 2
    items = first["items"]
    cursor = first["next_cursor"]
    while cursor:
        page = (await system.client.get("/api/v1/notifications",
                                        params={**params, "cursor": cursor})).json()
        items, cursor = items + page["items"], page["next_cursor"]
    assert len(items) == first["total"] == len({i["id"] for i in items})
    keys = [(i["created_at"], i["id"]) for i in items]
    assert keys == sorted(keys)


async def test_lists_filter_by_their_own_fields(system: System) -> None:
    await _file(system)
    keys = (await system.client.get("/api/v1/admin/keys", params={"owner": "o1"})).json()
    assert [k["owner"] for k in keys["items"]] == ["o1"]
    revoked = await system.client.delete(f"/api/v1/admin/keys/{keys['items'][0]['id']}")
    assert revoked.status_code == 204
    gone = (await system.client.get("/api/v1/admin/keys", params={"revoked": "true"})).json()
    assert [k["owner"] for k in gone["items"]] == ["o1"]
    users = (await system.client.get("/api/v1/admin/users", params={"role": "admin"})).json()
    assert {u["role"] for u in users["items"]} == {"admin"}
    incidents = (await system.client.get("/api/v1/incidents", params={
        "min_level": 1, "total": "true"})).json()
    assert incidents["total"] == 0
    assert (await system.client.get("/api/v1/incidents", params={
        "min_level": 2, "total": "true"})).json()["total"] == 3
