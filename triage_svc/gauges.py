"""Open cases per response level, as a Prometheus gauge read from the cases table.

`beacon_open_cases{level="1".."4", drill="false"|"true"}`: cases not closed. Drills are a
label of their own, so an exercise never shows in the real figures. Every replica reads
the same table, so replicas report the same value: aggregate with max, not sum.
"""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select

from shared.runtime import ServiceRuntime
from triage_svc.models import Case

OPEN_CASES = Gauge(
    "beacon_open_cases",
    "Cases not closed, by response level; drills apart (drill=\"true\")",
    ["level", "drill"],
)
LEVELS = (1, 2, 3, 4)
CLOSED_STATES = ("closed",)
INTERVAL_S = 15.0


async def refresh_open_cases(runtime: ServiceRuntime) -> dict[tuple[int, bool], int]:
    """Count open cases per (level, drill) in one grouped query and set every series (0
    where none), so a level that empties falls to 0 instead of keeping its last value."""
    query = (
        select(Case.response_level, Case.drill, func.count())
        .where(Case.state.not_in(CLOSED_STATES))
        .group_by(Case.response_level, Case.drill)
    )
    async with runtime.db.session() as session:
        rows = (await session.execute(query)).all()
    counts = {(level, drill): 0 for level in LEVELS for drill in (False, True)}
    for level, drill, count in rows:
        counts[(int(level), bool(drill))] = int(count)
    for (level, drill), count in counts.items():
        OPEN_CASES.labels(str(level), "true" if drill else "false").set(count)
    return counts


def register_gauges(runtime: ServiceRuntime) -> None:
    """Keep `beacon_open_cases` current while the service runs (every INTERVAL_S)."""

    async def open_cases() -> None:
        await refresh_open_cases(runtime)

    runtime.every(INTERVAL_S, open_cases)
