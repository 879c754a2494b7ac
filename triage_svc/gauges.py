"""Open cases per response level, as a Prometheus gauge read from the cases table.

`beacon_open_cases{level="1".."4", drill="false"|"true"}`: open cases, as
triage_svc.queries defines them (not closed) and /api/v1/cases/stats counts them. Drills are a
label of their own, so an exercise never shows in the real figures. Every replica reads
the same table, so replicas report the same value: aggregate with max, not sum.
"""

from __future__ import annotations

from prometheus_client import Gauge

from shared.runtime import ServiceRuntime
from triage_svc.queries import open_by_level

OPEN_CASES = Gauge(
    "beacon_open_cases",
    "Cases not closed, by response level; drills apart (drill=\"true\")",
    ["level", "drill"],
)
INTERVAL_S = 15.0


async def refresh_open_cases(runtime: ServiceRuntime) -> dict[tuple[int, bool], int]:
    """Count open cases per (level, drill) in one grouped query and set every series (0
    where none), so a level that empties falls to 0 instead of keeping its last value."""
    async with runtime.db.session() as session:
        counts = await open_by_level(session)
    for (level, drill), count in counts.items():
        OPEN_CASES.labels(str(level), "true" if drill else "false").set(count)
    return counts


def register_gauges(runtime: ServiceRuntime) -> None:
    """Keep `beacon_open_cases` current while the service runs (every INTERVAL_S)."""

    async def open_cases() -> None:
        await refresh_open_cases(runtime)

    runtime.every(INTERVAL_S, open_cases)
