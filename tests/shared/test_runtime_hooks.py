"""The runtime's lifecycle hooks: on_start before any event, a background task for as long
as the service runs (finishing its work in hand at stop), `every` with an initial delay,
and on_stop once the tasks and the bus have stopped."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from shared.bus import MemoryBroker, MemoryBus
from shared.settings import ConfigError
from tests.support import Probe, events_for, new_topic


def probe_on(sqlite_url: str, broker: MemoryBroker, topic: str, group: str) -> Probe:
    return Probe(sqlite_url, MemoryBus(broker), topic, group=group, label=group)


async def test_on_start_hooks_run_in_order_with_the_schema_ready_before_any_event(
    sqlite_url: str,
) -> None:
    broker, topic = MemoryBroker(2), new_topic()
    emitter = probe_on(sqlite_url, broker, topic, "emitter-only")
    await emitter.runtime.start()
    await emitter.emit(events_for(keys=2, per_key=2))
    await emitter.tally.applied(4)  # on the bus, and applied by the first group

    late = probe_on(sqlite_url, broker, topic, "late")
    seen: list[tuple[str, int, float]] = []

    async def first() -> None:
        # The schema is there (the query works), and no event of `late` has been handled.
        seen.append(("first", await late.effect_count(), late.tally.outcomes["applied"]))

    async def second() -> None:
        seen.append(("second", await late.effect_count(), late.tally.outcomes["applied"]))

    late.runtime.on_start(first)
    late.runtime.on_start(second)
    await late.runtime.start()
    try:
        await late.tally.applied(4)
        assert seen == [("first", 4, 0), ("second", 4, 0)]
    finally:
        await late.runtime.stop()
        await emitter.runtime.stop()


async def test_a_database_error_in_an_on_start_hook_stops_the_start_naming_the_setting(
    sqlite_url: str,
) -> None:
    probe = probe_on(sqlite_url, MemoryBroker(1), new_topic(), "g")

    async def unreachable() -> None:
        raise OSError("connection refused")

    probe.runtime.on_start(unreachable)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        await probe.runtime.start()
    assert not probe.runtime.started
    await probe.runtime.stop()


async def test_every_waits_its_initial_delay_then_repeats_and_survives_a_failed_run(
    sqlite_url: str,
) -> None:
    probe = probe_on(sqlite_url, MemoryBroker(1), new_topic(), "g")
    runs: list[float] = []
    third = asyncio.Event()

    async def job() -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            raise RuntimeError("the first run fails")
        if len(runs) == 3:
            third.set()

    probe.runtime.every(0.05, job, initial_delay=0.4)
    started = time.monotonic()
    await probe.runtime.start()
    try:
        await asyncio.wait_for(third.wait(), 10)
    finally:
        await probe.runtime.stop()
    # Not at the start (asyncio may wake a timer up to its clock resolution early).
    assert runs[0] - started >= 0.39
    assert all(b - a >= 0.04 for a, b in itertools.pairwise(runs))


async def test_a_background_task_runs_until_stop_and_finishes_its_work_in_hand(
    sqlite_url: str,
) -> None:
    probe = probe_on(sqlite_url, MemoryBroker(1), new_topic(), "g")
    running = asyncio.Event()
    order: list[str] = []

    async def loop() -> None:
        running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            # Asked to stop: the database is still open to record what was in hand.
            order.append(f"background finished with {await probe.effect_count()} effects")
            raise

    async def closing() -> None:
        consuming = isinstance(probe.runtime.bus, MemoryBus) and probe.runtime.bus.consuming
        order.append(f"on_stop (consuming={consuming}, "
                     f"{await probe.effect_count()} effects)")

    probe.runtime.background(loop)
    probe.runtime.on_stop(closing)
    await probe.runtime.start()
    await asyncio.wait_for(running.wait(), 5)
    await probe.emit(events_for(keys=1, per_key=3))
    await probe.tally.applied(3)
    await probe.runtime.stop()
    assert order == ["background finished with 3 effects",
                     "on_stop (consuming=False, 3 effects)"]


async def test_a_failing_background_task_is_logged_and_the_service_keeps_running(
    sqlite_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    probe = probe_on(sqlite_url, MemoryBroker(1), new_topic(), "g")
    failed = asyncio.Event()

    async def broken() -> None:
        failed.set()
        raise RuntimeError("broken loop")

    probe.runtime.background(broken)
    await probe.runtime.start()
    try:
        await asyncio.wait_for(failed.wait(), 5)
        await probe.emit(events_for(keys=1, per_key=2))
        await probe.tally.applied(2)
    finally:
        await probe.runtime.stop()
    assert any("background task" in r.getMessage() and "broken" in r.getMessage()
               and r.exc_info for r in caplog.records)


async def test_on_stop_hooks_run_when_the_service_never_started(sqlite_url: str) -> None:
    probe = probe_on(sqlite_url, MemoryBroker(1), new_topic(), "g")
    stopped: list[str] = []

    async def failing() -> None:
        raise RuntimeError("one hook fails")

    async def release() -> None:
        stopped.append("released")

    probe.runtime.on_stop(failing)
    probe.runtime.on_stop(release)
    await probe.runtime.stop()
    assert stopped == ["released"]  # the failing hook did not keep the next from running
