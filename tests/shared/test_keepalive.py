"""The keep-alive pool shared by the gateway's replica client and notify's webhook client:
reuse, expiry, the bound, and hand-overs that survive a cancelled or failed caller."""

from __future__ import annotations

import asyncio

import pytest

from shared.keepalive import KeepAlivePool


class FakeConnection:
    def __init__(self, number: int) -> None:
        self.number, self.open, self.idle_since = number, True, 0.0

    def close(self) -> None:
        self.open = False


class Opener:
    """Opens numbered connections; `fail` makes the next open raise."""

    def __init__(self) -> None:
        self.opened: list[FakeConnection] = []
        self.fail = False

    async def __call__(self) -> FakeConnection:
        if self.fail:
            self.fail = False
            raise ConnectionRefusedError("refused")
        self.opened.append(FakeConnection(len(self.opened)))
        return self.opened[-1]


def pool(opener: Opener, keepalive_s: float = 60.0) -> KeepAlivePool[FakeConnection]:
    return KeepAlivePool(opener, max_connections=1, max_idle=1, keepalive_s=keepalive_s)


async def test_an_idle_connection_is_reused_until_it_expires() -> None:
    opener = Opener()
    fresh = pool(opener)
    first = await fresh.acquire()
    fresh.release(first)
    assert await fresh.acquire() is first and len(opener.opened) == 1
    expiring = pool(Opener(), keepalive_s=0.0)  # every idle connection is past its time
    old = await expiring.acquire()
    expiring.release(old)
    assert await expiring.acquire() is not old and not old.open


async def test_a_cancelled_waiter_passes_its_connection_on() -> None:
    opener = Opener()
    bounded = pool(opener)
    held = await bounded.acquire()
    cancelled = asyncio.create_task(bounded.acquire())
    patient = asyncio.create_task(bounded.acquire())
    await asyncio.sleep(0)  # a yield, not a wait: both tasks now wait at the bound
    bounded.release(held)  # handed to the first waiter ...
    cancelled.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert await patient is held and len(opener.opened) == 1


async def test_a_failed_open_lets_a_waiter_open_in_its_place() -> None:
    opener = Opener()
    bounded = pool(opener)
    held = await bounded.acquire()
    first = asyncio.create_task(bounded.acquire())
    second = asyncio.create_task(bounded.acquire())
    await asyncio.sleep(0)  # a yield, not a wait: both tasks now wait at the bound
    held.close()
    opener.fail = True
    bounded.release(held)  # closed: its slot goes to the first waiter, whose open fails ...
    with pytest.raises(ConnectionRefusedError):
        await first
    assert (await second).number == 1  # ... and the slot passes to the next one
