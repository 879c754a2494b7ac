"""Per-key token buckets: `rate` tokens a second, up to `burst` saved up. Each gateway
replica keeps its own buckets, so N replicas admit up to N times the rate."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate, self.burst = rate_per_s, burst
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, rate: float | None = None, burst: int | None = None) -> float:
        """0 when admitted; otherwise the seconds until a token is there."""
        rate = rate or self.rate
        burst = burst or self.burst
        now = time.monotonic()
        bucket = self._buckets.setdefault(key, _Bucket(float(burst), now))
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
