"""The incident locks a batch of complaints takes (PostgreSQL advisory locks): complaints
about one target wait for each other's group decision, as they must; complaints without a
target have no group candidates and take no shared lock, so batches of them on different
partitions are triaged side by side instead of one transaction after another (issue 18:
the triage consumer fell behind at 20-40/s using a third of a core)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shared.bus import MemoryBroker
from shared.events import make_event
from shared.events.schemas import ComplaintReceived, ComplaintTarget
from shared.migrations import prepare_schema
from shared.runtime import ServiceRuntime, Unit
from tests.support import eventually, waits_on_a_lock
from triage_svc import incidents
from triage_svc.models import Case, Incident, metadata
from triage_svc.rules import load_rules
from triage_svc.service import open_cases
from triage_svc.settings import TriageSettings

pytestmark = pytest.mark.postgres

RULES = load_rules()
# Long enough for a loaded machine to open two cases; a batch that waits for the other
# transaction's lock waits for ever here (the other commits only after it).
WITHIN_S = 10.0


@pytest.fixture
async def runtime(tmp_path: Path, pg_url: str, pg_schema: str) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime("triage", TriageSettings(data_dir=tmp_path, database_url=pg_url),
                             metadata, migrations="triage_svc.migrations",
                             broker=MemoryBroker(), schema=pg_schema)
    await prepare_schema(runtime.db, metadata, "triage_svc.migrations", "triage")
    try:
        yield runtime
    finally:
        await runtime.db.dispose()


def complaint(n: int, *, department: str | None = None, people: int = 1) -> ComplaintReceived:
    return ComplaintReceived(
        complaint_id=f"{n:032x}", channel="hotline",
        content=f"快递延误一周，客服电话一直打不通 {n}", received_at=datetime.now(UTC),
        complainant_key=f"person-{n}", people_count=people,
        target=ComplaintTarget(department=department))


async def open_batch(unit: Unit, complaints: Sequence[ComplaintReceived]) -> None:
    """What the runtime does with a batch of one partition: the locks first, then the
    cases (`consumers.register` wires `lock_batch` as `before_batch`)."""
    await incidents.lock_batch(unit, [make_event(c, source="/test", subject=c.complaint_id)
                                      for c in complaints])
    await open_cases(unit, complaints, RULES)


async def test_batches_without_a_target_do_not_wait_for_each_other(
        runtime: ServiceRuntime) -> None:
    async with runtime.unit() as first:
        await open_batch(first, [complaint(0), complaint(1)])
        # The first batch's transaction is still open: a second batch (another partition)
        # goes ahead, including a head-count complaint that is a group on its own.
        async with asyncio.timeout(WITHIN_S), runtime.unit() as second:
            await open_batch(second, [complaint(2), complaint(3, people=8)])
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 4
        [group] = (await session.scalars(select(Incident))).all()
        head_count = await session.scalar(select(Case).where(
            Case.complaint_id == complaint(3).complaint_id))
    assert head_count is not None and head_count.incident_id == group.id
    assert group.kind == "group" and group.people_count == 8


async def test_batches_about_one_target_still_wait_for_each_other(
        runtime: ServiceRuntime) -> None:
    second_done = asyncio.Event()

    async def second_batch() -> None:
        async with runtime.unit() as second:
            await open_batch(second, [complaint(2, department="营业厅")])
        second_done.set()

    async with runtime.unit() as first:
        await open_batch(first, [complaint(0, department="营业厅"), complaint(1)])
        waiting = asyncio.create_task(second_batch())
        # The second batch reaches the first's group lock and waits there.
        await eventually(lambda: waits_on_a_lock(runtime.db), "the second batch waiting on "
                         "the first's group lock", within=WITHIN_S)
        assert not second_done.is_set()
    async with asyncio.timeout(WITHIN_S):
        await waiting
    assert second_done.is_set()
