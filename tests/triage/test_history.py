"""History: the same complainant's earlier complaints (matched by keyed hash, never by
their data) raise the level of the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from shared.bus import MemoryBroker
from shared.events.schemas import ComplaintReceived, ComplaintTarget
from shared.migrations import prepare_schema
from shared.runtime import ServiceRuntime
from tests.support import System
from triage_svc.models import Case, metadata
from triage_svc.rules import load_rules
from triage_svc.service import History, open_cases, recent_histories
from triage_svc.settings import TriageSettings


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


async def _batch_levels(runtime: ServiceRuntime) -> None:
    """`open_cases` opens a batch as one by one would: each complaint's history counts the
    batch's earlier real complaints (not yet in the database), a repeated complaint id
    opens one case, and one opened before is left as it is."""
    rules = load_rules()
    now = datetime.now(UTC)

    def complaint(n: int, *, drill: bool = False, key: str = "person-a") -> ComplaintReceived:
        return ComplaintReceived(
            complaint_id=f"{n:032x}", channel="hotline", content="营业厅排队时间太长",
            received_at=now + timedelta(seconds=n), complainant_key=key, drill=drill,
            target=ComplaintTarget(department="营业厅", product="宽带"))

    async with runtime.unit() as unit:
        [before] = await open_cases(unit, [complaint(0)], rules)
    batch = [complaint(0), complaint(1, drill=True), complaint(2, key="person-b"),
             complaint(3), complaint(3), complaint(4)]
    async with runtime.unit() as unit:
        cases = await open_cases(unit, batch, rules)
        levels = [c.response_level for c in cases]
        repeats = [c.repeat_reason is not None for c in cases]
        histories = await recent_histories(unit, [complaint(5)], rules)
    assert cases[0].id == before.id and cases[3] is cases[4]
    # 0: opened before; 1: a drill (0 is in its history, it counts in no one's); 2: someone
    # else; 3: one earlier real complaint (0); 4: two (0 and 3, opened in this batch)
    assert levels == [4, 4, 4, 4, 4, 2]
    assert repeats == [False, True, False, True, True, True]
    # From the database now: person-a's real 0, 3, 4; the target's real 0, 2, 3, 4.
    assert histories == [History(complainant_recent=3, target_recent=4)]
    async with runtime.db.session() as session:
        opened = (await session.scalars(select(Case.complaint_id))).all()
    assert sorted(opened) == [f"{n:032x}" for n in range(5)]


async def test_a_batch_counts_its_own_earlier_complaints(system: System) -> None:
    await _batch_levels(system.embedded.services["triage"].state.runtime)


@pytest.mark.postgres
async def test_a_batch_counts_its_own_earlier_complaints_on_postgresql(
        tmp_path: Path, pg_url: str, pg_schema: str) -> None:
    runtime = ServiceRuntime("triage", TriageSettings(data_dir=tmp_path, database_url=pg_url),
                             metadata, migrations="triage_svc.migrations",
                             broker=MemoryBroker(), schema=pg_schema)
    await prepare_schema(runtime.db, metadata, "triage_svc.migrations", "triage")
    try:
        await _batch_levels(runtime)
    finally:
        await runtime.db.dispose()
