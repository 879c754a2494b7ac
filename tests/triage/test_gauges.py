"""beacon_open_cases: open cases per response level, drills counted apart."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from shared.bus import MemoryBroker
from shared.runtime import ServiceRuntime
from tests.support import System
from triage_svc.gauges import refresh_open_cases, register_gauges
from triage_svc.models import Case, metadata
from triage_svc.settings import TriageSettings


@pytest.fixture
async def runtime(sqlite_url: str) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime("triage", TriageSettings(database_url=sqlite_url), metadata,
                             migrations=None, broker=MemoryBroker(1))
    await runtime.db.create_all(metadata)
    yield runtime
    await runtime.db.dispose()


def _case(level: int, state: str = "triaged", *, drill: bool = False) -> Case:
    now = datetime.now(UTC)
    return Case(
        id=uuid.uuid4().hex, complaint_id=uuid.uuid4().hex, response_level=level,
        category="service", level_reasons=["test"], state=state, department=None,
        drill=drill, opened_at=now, acknowledge_by=now + timedelta(hours=1),
        first_contact_by=now + timedelta(hours=2), report_by=now + timedelta(hours=4),
        resolve_by=now + timedelta(days=3), incident_id=None, rules_version=1,
    )


def open_cases(level: int, drill: bool) -> float | None:
    return REGISTRY.get_sample_value(
        "beacon_open_cases", {"level": str(level), "drill": "true" if drill else "false"})


async def test_open_cases_per_level_with_drills_apart(runtime: ServiceRuntime) -> None:
    cases = [_case(1), _case(1, "investigating"), _case(2), _case(3, "closed"),
             _case(4, "reopened"), _case(1, drill=True), _case(2, "closed", drill=True)]
    async with runtime.unit() as unit:
        unit.session.add_all(cases)

    register_gauges(runtime)
    job = runtime._periodic[-1].job  # what the runtime runs on its schedule
    await job()
    assert {(level, drill): open_cases(level, drill)
            for level in (1, 2, 3, 4) for drill in (False, True)} == {
        (1, False): 2, (2, False): 1, (3, False): 0, (4, False): 1,
        (1, True): 1, (2, True): 0, (3, True): 0, (4, True): 0,
    }

    # Closing the last open level-2 case brings its series to 0 (it does not linger).
    async with runtime.unit() as unit:
        await unit.session.execute(
            update(Case).where(Case.id == cases[2].id).values(state="closed"))
    await job()
    assert open_cases(2, False) == 0
    assert open_cases(1, False) == 2


async def test_stats_list_and_gauge_count_the_same_open_cases(system: System) -> None:
    """One definition (open until closed), three readers: /cases/stats, the list's `open`
    filter and beacon_open_cases agree over cases in every state, drills apart."""
    states = ["triaged", "acknowledged", "investigating", "responded", "follow_up", "closed",
              "reopened"]
    cases = [_case(level, state) for level in (1, 2, 3) for state in states[level - 1:]]
    cases += [_case(4, "responded", drill=True), _case(4, "closed", drill=True)]
    triage = system.embedded.services["triage"].state.runtime
    async with triage.unit() as unit:
        unit.session.add_all(cases)
    await refresh_open_cases(triage)

    for drill in (False, True):
        flag = str(drill).lower()
        stats = (await system.client.get("/api/v1/cases/stats", params={"drill": flag})).json()
        gauge = {str(level): open_cases(level, drill) for level in (1, 2, 3, 4)}
        assert {level: stats["by_level"]["open"].get(level, 0) for level in gauge} == gauge
        listed = (await system.client.get("/api/v1/cases", params={
            "open": "true", "drill": flag, "total": "true"})).json()
        assert listed["total"] == sum(value or 0 for value in gauge.values())
        expected = sum(c.state != "closed" for c in cases if c.drill is drill)
        assert listed["total"] == expected
    # A responded case is open in every reader (the disagreement the issue saw).
    assert open_cases(4, True) == 1
