"""POST /api/v1/complaints/batch: up to 500, one result per item, bad items spoil nothing."""

from __future__ import annotations

from tests.support import System


async def test_each_item_gets_its_own_answer(system: System) -> None:
    items = [
        {"channel": "hotline", "content": "停水三天了", "external_ref": "r-1"},
        {"channel": "fax", "content": ""},
        {"channel": "web", "content": "账单多收费", "external_ref": "r-2"},
        {"channel": "hotline", "content": "停水三天了", "external_ref": "r-1"},
        {"channel": "hotline", "content": "不一样的内容", "external_ref": "r-2"},
    ]
    answer = await system.client.post("/api/v1/complaints/batch", json={"complaints": items})
    assert answer.status_code == 200
    body = answer.json()
    assert [r["status"] for r in body["results"]] == [202, 422, 202, 200, 409]
    assert (body["accepted"], body["replayed"], body["rejected"]) == (2, 1, 2)
    results = body["results"]
    assert results[3]["id"] == results[0]["id"]
    assert {e["field"] for e in results[1]["errors"]} == {"channel", "content"}
    assert await system.complaints_stored() == 2

    again = await system.client.post("/api/v1/complaints/batch", json={"complaints": items[:1]})
    assert again.json()["results"][0] == {**results[0], "status": 200}
    await system.notified.applied(2)


async def test_batch_bounds(system: System) -> None:
    empty = await system.client.post("/api/v1/complaints/batch", json={"complaints": []})
    assert empty.status_code == 422
    many = [{"channel": "app", "content": f"第{i}条"} for i in range(501)]
    too_many = await system.client.post("/api/v1/complaints/batch", json={"complaints": many})
    assert too_many.status_code == 422
    full = await system.client.post("/api/v1/complaints/batch", json={"complaints": many[:500]})
    assert full.json()["accepted"] == 500
    assert await system.complaints_stored() == 500
