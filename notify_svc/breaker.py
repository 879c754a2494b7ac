"""Circuit breakers per endpoint, and the retry delay.

The breakers live in this process's memory: each replica learns on its own that an endpoint
is down (a few failed attempts each), which is cheap and needs no shared state. While a
breaker is open its deliveries fail fast (an attempt is counted, no network call is made)
so a dead endpoint reaches its dead-letter records in bounded time instead of piling up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import RetryCallState, wait_exponential_jitter


@dataclass
class Breaker:
    failures_to_open: int
    reset_s: float
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trial_started: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_s else "open"

    def allow(self) -> bool:
        """Closed: yes. Open: no. Half-open: one trial call at a time."""
        state = self.state
        if state == "closed":
            return True
        now = self.clock()
        # A trial that never reported (its task was cancelled) stops counting after reset_s.
        stale = self.trial_started is not None and now - self.trial_started >= self.reset_s
        if state == "half_open" and (self.trial_started is None or stale):
            self.trial_started = now
            return True
        return False

    def success(self) -> None:
        self.failures, self.opened_at, self.trial_started = 0, None, None

    def failure(self) -> None:
        self.failures += 1
        was_trial, self.trial_started = self.trial_started is not None, None
        if was_trial or self.failures >= self.failures_to_open:
            self.opened_at = self.clock()


@dataclass
class Breakers:
    failures_to_open: int
    reset_s: float
    by_endpoint: dict[str, Breaker] = field(default_factory=dict)

    def get(self, endpoint: str) -> Breaker:
        if endpoint not in self.by_endpoint:
            self.by_endpoint[endpoint] = Breaker(self.failures_to_open, self.reset_s)
        return self.by_endpoint[endpoint]

    def open_endpoints(self) -> list[str]:
        return [e for e, b in self.by_endpoint.items() if b.state != "closed"]


class Backoff:
    """Delay before attempt n+1: exponential from `initial`, capped, plus random jitter
    (tenacity's wait_exponential_jitter), so retries of many deliveries spread out."""

    def __init__(self, initial: float, maximum: float, jitter: float) -> None:
        self.wait = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=jitter)

    def delay(self, attempts_made: int) -> float:
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempts_made
        return float(self.wait(state))
