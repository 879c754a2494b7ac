"""`Bus.stop_consuming(within)` on both buses: the batch in hand finishes and is committed,
publishing keeps working, and a batch still running at the bound is cut off uncommitted,
so the group's next member gets it again."""

from __future__ import annotations

import asyncio
import time
import uuid

from shared.events import Envelope
from shared.runtime import Unit
from tests.support import BusFactory, Probe, events_for, new_topic


class HeldProbe(Probe):
    """A probe whose handler waits for `release` (a batch in hand), once."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    async def _apply(self, unit: Unit, event: Envelope) -> None:
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        await super()._apply(unit, event)


async def test_stop_consuming_finishes_the_batch_in_hand_and_publishing_goes_on(
    bus_factory: BusFactory, sqlite_url: str,
) -> None:
    topic, group = new_topic(), f"g-{uuid.uuid4().hex[:8]}"
    held = HeldProbe(sqlite_url, bus_factory(), topic, group=group, label="held")
    await held.runtime.start()
    await held.emit(events_for(keys=1, per_key=1))
    await asyncio.wait_for(held.entered.wait(), 30)

    stopping = asyncio.create_task(held.runtime.bus.stop_consuming(20))
    await held.effect_count()  # a turn of the loop: it is waiting for the batch in hand
    assert not stopping.done()
    held.release.set()
    await asyncio.wait_for(stopping, 25)
    assert held.runtime.bus.assignment() == set()
    assert [(k, n, by) for k, n, _, by in await held.effects()] == [("k0", 0, "held")]

    # The producer still works: what is emitted now reaches the group's next member, which
    # does not get the committed event again.
    await held.emit(events_for(keys=1, per_key=1, start=1))
    following = Probe(sqlite_url, bus_factory(), topic, group=group, label="next")
    await following.runtime.start()
    try:
        await following.tally.applied(1)
        assert [(k, n, by) for k, n, _, by in await held.effects()] == [
            ("k0", 0, "held"), ("k0", 1, "next")]
        if not held.runtime.bus.loses_log_on_restart:  # (the memory bus replays the outbox)
            assert following.tally.outcomes == {"applied": 1}
    finally:
        await held.runtime.stop()  # stop_consuming again does nothing more
        await following.runtime.stop()


async def test_stop_consuming_cuts_off_a_hanging_batch_at_the_bound_uncommitted(
    bus_factory: BusFactory, sqlite_url: str,
) -> None:
    topic, group = new_topic(), f"g-{uuid.uuid4().hex[:8]}"
    held = HeldProbe(sqlite_url, bus_factory(), topic, group=group, label="held")
    await held.runtime.start()
    await held.emit(events_for(keys=1, per_key=1))
    await asyncio.wait_for(held.entered.wait(), 30)

    began = time.monotonic()
    await held.runtime.bus.stop_consuming(1.0)
    seconds = time.monotonic() - began
    assert seconds < 1.0 + 2.0  # the bound, and leaving the group
    assert await held.effect_count() == 0

    following = Probe(sqlite_url, bus_factory(), topic, group=group, label="next")
    await following.runtime.start()
    try:
        await following.tally.applied(1)
        assert [(k, n, by) for k, n, _, by in await following.effects()] == [("k0", 0, "next")]
    finally:
        await held.runtime.stop()
        await following.runtime.stop()
