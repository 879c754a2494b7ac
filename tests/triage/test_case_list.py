"""The case list the board reads: filters, a stable newest-first order, cursor paging with
a total, and the single-case view's escalation ladder and reveal record."""

from __future__ import annotations

from typing import Any

from tests.support import System

TEXTS = [("hotline", "热水器爆炸，有人受伤住院"), ("web", "营业厅排队太久"),
         ("email", "话费多扣了二十元"), ("onsite", "快递送错了地址"),
         ("hotline", "宽带断网两天没人修")]


async def _cases(system: System, **params: Any) -> dict[str, Any]:
    answer = await system.client.get("/api/v1/cases", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _file_all(system: System) -> None:
    for i, (channel, text) in enumerate(TEXTS):
        posted = await system.client.post("/api/v1/complaints", json={
            "channel": channel, "content": text, "target": {"department": f"部门{i % 2}"},
            "complainant": {"name": f"人{i}", "phone": f"1380000000{i}"}})
        assert posted.status_code == 202
    await system.notified.applied(len(TEXTS))


async def test_pages_cover_every_case_once_in_order(system: System) -> None:
    await _file_all(system)
    seen: list[dict[str, Any]] = []
    page = await _cases(system, limit=2, total="true")
    assert page["total"] == len(TEXTS)
    while True:
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        assert len(page["items"]) == 2
        page = await _cases(system, limit=2, cursor=page["next_cursor"])
    assert len({c["id"] for c in seen}) == len(TEXTS) == len(seen)
    keys = [(c["opened_at"], c["id"]) for c in seen]
    assert keys == sorted(keys, reverse=True)


async def test_filters_by_channel_department_and_openness(system: System) -> None:
    await _file_all(system)
    hotline = await _cases(system, channel="hotline", total="true")
    assert hotline["total"] == 2 and {c["channel"] for c in hotline["items"]} == {"hotline"}
    department = await _cases(system, department="部门1")
    assert len(department["items"]) == 2
    some = department["items"][0]
    for action, body in (("acknowledge", {}), ("answer", {"text": "已处理"})):
        done = await system.client.post(f"/api/v1/cases/{some['id']}/{action}", json=body)
        assert done.status_code == 200, done.text
    unanswered = await _cases(system, answered="false", total="true")
    assert unanswered["total"] == len(TEXTS) - 1
    assert some["id"] not in {c["id"] for c in unanswered["items"]}
    answered = await _cases(system, answered="true")
    assert [c["id"] for c in answered["items"]] == [some["id"]]
    # Answered is still open (open until closed); closing it, with its record, ends that.
    assert (await _cases(system, open="true", total="true"))["total"] == len(TEXTS)
    record: tuple[tuple[str, dict[str, object]], ...] = (
        ("investigation", {"findings": "线路故障", "root_cause": "设备老化"}),
        ("opinion", {"text": "更换设备"}), ("follow-up", {"satisfaction": 5}))
    for action, part in record:
        done = await system.client.post(f"/api/v1/cases/{some['id']}/{action}", json=part)
        assert done.status_code == 200, done.text
    closed = await system.client.post(f"/api/v1/cases/{some['id']}/state",
                                      json={"state": "closed"})
    assert closed.status_code == 200, closed.text
    assert [c["id"] for c in (await _cases(system, open="false"))["items"]] == [some["id"]]
    assigned = await system.client.post(f"/api/v1/cases/{some['id']}/assign",
                                        json={"assignee": "王五"})
    assert assigned.status_code == 200
    by_assignee = await _cases(system, assignee="王五")
    assert [c["id"] for c in by_assignee["items"]] == [some["id"]]


async def test_a_malformed_cursor_is_refused_with_its_field(system: System) -> None:
    answer = await system.client.get("/api/v1/cases", params={"cursor": "not-a-cursor"})
    assert answer.status_code == 422
    assert "cursor" in answer.text


async def test_the_case_view_shows_its_ladder(system: System) -> None:
    await _file_all(system)
    level_one = (await _cases(system, response_level=1))["items"][0]
    view = (await system.client.get(f"/api/v1/cases/{level_one['id']}")).json()
    ladder = view["escalations"]
    assert [step["step"] for step in ladder] == sorted(step["step"] for step in ladder)
    assert ladder and {step["status"] for step in ladder} == {"pending"}
    assert view["mentions"] == []


async def test_a_reveal_is_recorded_and_needs_pii_read(system: System) -> None:
    await _file_all(system)
    case_id = (await _cases(system, limit=1))["items"][0]["id"]
    refused = await system.client.post(f"/api/v1/cases/{case_id}/reveal", json={},
                                       headers=system.as_key("operator"))
    assert refused.status_code == 403
    done = await system.client.post(f"/api/v1/cases/{case_id}/reveal",
                                    json={"reason": "回访需要电话"})
    assert done.status_code == 204
    timeline = (await system.client.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    assert timeline[-1]["action"] == "pii_revealed"
    assert timeline[-1]["reason"] == "回访需要电话"
