"""Request limits, kept by the `limits` library: per key, per client address on token paths,
and failed authentications per client address. With `RATE_LIMIT_STORAGE_URL` naming a Redis,
every gateway replica shares one count; without it (embedded mode) they live in this
process. Either way each count expires with its window, so nothing grows without bound."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

log = logging.getLogger("beacon.gateway")


class LocalStorage(MemoryStorage):
    """limits' in-process storage, sweeping expired entries at most once a second. Its own
    sweep starts after every hit a task that hops to a thread per key: profiled under load,
    that was a sixth of the gateway's CPU. What a hit decides does not depend on the sweep
    (each entry carries its time), only how soon memory is given back."""

    sweep_every_s = 1.0
    _swept = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:  # limits' private hook
        now = time.monotonic()
        if now - self._swept >= self.sweep_every_s:
            self._swept = now
            await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


def storage_for(url: str | None, prefix: str) -> Storage:
    """Redis (`redis://…`, shared by replicas) or, with no URL, this process's memory."""
    if not url or url.startswith("memory://"):
        return LocalStorage()
    scheme = url if url.startswith("async+") else f"async+{url}"
    # redis-py's asyncio client (one Redis client library in the project, not two).
    storage = storage_from_string(scheme, implementation="redispy", key_prefix=prefix,
                                  wrap_exceptions=True)
    assert isinstance(storage, Storage)  # an async+ scheme gives an async storage
    return storage


def _item(rate: float, burst: int, namespace: str) -> RateLimitItemPerSecond:
    """`burst` requests in any `burst / rate` seconds (a whole number, at least one)."""
    return RateLimitItemPerSecond(burst, max(1, math.ceil(burst / rate)), namespace=namespace)


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int, storage: Storage) -> None:
        self.rate, self.burst = rate_per_s, burst
        self.storage = storage
        self._window = MovingWindowRateLimiter(storage)
        self._warned = 0.0

    async def take(self, key: str, rate: float | None = None, burst: int | None = None,
                   *, namespace: str = "rate") -> float:
        """0 when admitted; otherwise the seconds until the next request would be."""
        item = _item(rate or self.rate, burst or self.burst, namespace)
        try:
            if await self._window.hit(item, key):
                return 0.0
            stats = await self._window.get_window_stats(item, key)
        except StorageError as exc:
            self._storage_down(exc)
            return 0.0  # the limit store is down: serve rather than refuse everyone
        return max(stats.reset_time - time.time(), 0.01)

    async def exhausted(self, key: str, limit: int, window_s: int, namespace: str) -> float:
        """Seconds to wait when `key` used its `limit` in the window, else 0 (takes nothing)."""
        item = RateLimitItemPerSecond(limit, window_s, namespace=namespace)
        try:
            if await self._window.test(item, key):
                return 0.0
            stats = await self._window.get_window_stats(item, key)
        except StorageError as exc:
            self._storage_down(exc)
            return 0.0
        return max(stats.reset_time - time.time(), 0.01)

    async def count(self, key: str, limit: int, window_s: int, namespace: str) -> None:
        item = RateLimitItemPerSecond(limit, window_s, namespace=namespace)
        try:
            await self._window.hit(item, key)
        except StorageError as exc:
            self._storage_down(exc)

    def _storage_down(self, exc: Exception) -> None:
        if time.monotonic() - self._warned > 30:  # once in a while, not once per request
            self._warned = time.monotonic()
            log.warning("rate-limit storage unreachable (%s): requests are not limited",
                        type(exc).__name__)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
