"""History: the same complainant's earlier complaints (matched by keyed hash, never by
their data) raise the level of the next one."""

from __future__ import annotations

from tests.support import System


async def _level(system: System, phone: str, drill: bool = False) -> tuple[int, list[str]]:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "营业厅排队时间太长", "drill": drill,
        "complainant": {"phone": phone}})
    complaint_id = posted.json()["id"]
    await system.notified.wait_for(lambda: system.notified.outcomes["applied"] >= 1)
    system.notified.outcomes.clear()
    case = (await system.client.get(f"/api/v1/complaints/{complaint_id}")).json()["case"]
    return case["response_level"], case["level_reasons"]


async def test_third_complaint_of_one_complainant_is_raised(system: System) -> None:
    assert (await _level(system, "13700000001"))[0] == 4
    assert (await _level(system, "13700000001", drill=True))[0] == 4  # drills do not count
    assert (await _level(system, "13700000002"))[0] == 4  # someone else
    assert (await _level(system, "137 0000 0001"))[0] == 4  # one earlier real complaint
    level, reasons = await _level(system, "13700000001")
    assert level == 2
    assert any("repeated_history" in reason for reason in reasons)
