"""Spike detection on bucketed counts of negative mentions (舆情预警).

Per scope (overall, or one topic) the state holds the open bucket's counts and a baseline:
a slow EWMA of negatives per bucket (time constant ~1/alpha buckets) and an EWMA per
hour-of-week slot, so a usual Monday-morning peak is not news. The open bucket is checked as
mentions arrive, so a burst is caught inside its first bucket, not when the bucket closes:
  anomalous  negatives >= min_count, >= min_ratio × baseline, and Poisson tail
             P(X >= negatives | baseline) < p_value; or the negative share jumped by
             share_jump over its baseline with enough volume.
One alert per wave: the scope stays "in spike" until `exit_buckets` closed buckets in a row
are no longer anomalous at a looser exit threshold, and alerts on entering it. A sustained
spike (or a step up to a new level) stays one alert; but a new wave inside the spike (an
anomalous bucket after at least one quiet one, e.g. a second burst of reposts half an hour
later) alerts again with its own evidence, so the open incident collects it. Buckets
(including the spike's) feed the baseline, so a high but flat level becomes the norm.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from scipy.stats import poisson


@dataclass(frozen=True)
class SpikeConfig:
    bucket_s: int = 600
    alpha: float = 0.02
    slot_alpha: float = 0.2
    slot_min_obs: int = 6
    floor: float = 0.5
    min_count: int = 10
    min_ratio: float = 2.0
    p_value: float = 1e-5
    # Looser thresholds to leave a spike than to enter one (hysteresis).
    exit_ratio: float = 1.25
    exit_p_value: float = 0.05
    share_jump: float = 0.3
    share_min_total: int = 20
    # Buckets before the first alert: a new overall baseline must see traffic first. Topic
    # scopes use 0, since a new topic that opens with a burst is itself the news.
    warmup_buckets: int = 3
    # A spike ends after this many closed buckets in a row that are no longer anomalous at
    # exit_p_value; a fading spike that wobbles around the threshold stays one spike.
    exit_buckets: int = 6
    # A new wave inside a spike: anomalous again after this many buckets in a row back at the
    # baseline (a lull; a ramp that wobbles is one wave, a second burst later is another).
    wave_gap_buckets: int = 2
    tz_offset_h: int = 8  # hour-of-week in local (China) time
    max_gap_buckets: int = 7 * 24 * 6


@dataclass
class SpikeState:
    bucket: int = -1
    negative: int = 0
    total: int = 0
    ewma: float = 0.0
    ewma_share: float = 0.0
    ewma_total: float = 0.0
    slots: dict[str, list[float]] = field(default_factory=dict)  # slot -> [ewma, n]
    seen: int = 0
    in_spike: bool = False
    quiet_run: int = 0
    lull_run: int = 0  # closed buckets in a row back at the baseline, inside a spike
    alerted_bucket: int = -1  # the bucket that last alerted: one alert per bucket at most
    top: list[tuple[str, int]] = field(default_factory=list)  # (mention id, risk score)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpikeState:
        state = cls(**{k: v for k, v in data.items() if k != "top"})
        state.top = [(str(m), int(s)) for m, s in data.get("top", [])]
        return state


@dataclass(frozen=True)
class Spike:
    warning_level: int
    window_start: datetime
    window_end: datetime
    negative: int
    total: int
    baseline: float
    share: float
    top_mention_ids: list[str]
    reasons: list[str]
    follow_up: bool = False  # a new wave inside a spike already alerted


def bucket_of(at: datetime, cfg: SpikeConfig) -> int:
    return int(at.timestamp()) // cfg.bucket_s


def slot_of(bucket: int, cfg: SpikeConfig) -> str:
    local = datetime.fromtimestamp(bucket * cfg.bucket_s, UTC) + timedelta(hours=cfg.tz_offset_h)
    return str(local.weekday() * 24 + local.hour)


def baseline(state: SpikeState, bucket: int, cfg: SpikeConfig) -> float:
    slot = state.slots.get(slot_of(bucket, cfg))
    seasonal = slot[0] if slot and slot[1] >= cfg.slot_min_obs else 0.0
    return max(state.ewma, seasonal, cfg.floor)


def advance(state: SpikeState, at: datetime, cfg: SpikeConfig) -> None:
    """Close every bucket before `at`'s: fold it into the baseline, end a spike that faded."""
    now = bucket_of(at, cfg)
    if state.bucket < 0:
        state.bucket = now
        return
    if now <= state.bucket:
        return
    _close(state, state.bucket, state.negative, state.total, cfg)
    gap = min(now - state.bucket - 1, cfg.max_gap_buckets)
    for empty in range(now - gap, now):  # quiet buckets are data too: zeros
        _close(state, empty, 0, 0, cfg)
    state.bucket, state.negative, state.total, state.top = now, 0, 0, []


def _close(state: SpikeState, bucket: int, negative: int, total: int, cfg: SpikeConfig) -> None:
    if state.in_spike:
        quiet = not _anomalous(state, bucket, negative, total, cfg, strict=False)
        state.quiet_run = state.quiet_run + 1 if quiet else 0
        lull = negative <= baseline(state, bucket, cfg)
        state.lull_run = state.lull_run + 1 if lull else 0
        if state.quiet_run >= cfg.exit_buckets:
            state.in_spike, state.quiet_run, state.lull_run = False, 0, 0
    if state.seen == 0:  # the first bucket seeds the baseline
        state.ewma = float(negative)
        state.ewma_share = negative / total if total else 0.0
        state.ewma_total = float(total)
    else:
        state.ewma_total += cfg.alpha * (total - state.ewma_total)
        state.ewma += cfg.alpha * (negative - state.ewma)
        if total:
            state.ewma_share += cfg.alpha * (negative / total - state.ewma_share)
    slot = state.slots.setdefault(slot_of(bucket, cfg), [float(negative), 0.0])
    slot[0] += cfg.slot_alpha * (negative - slot[0])
    slot[1] += 1
    state.seen += 1


def _anomalous(state: SpikeState, bucket: int, negative: int, total: int, cfg: SpikeConfig,
               *, strict: bool = True) -> list[str]:
    """Reasons the counts are a spike against the baseline; empty when they are not.

    `strict` are the thresholds to enter a spike, else the looser ones to stay in one.
    """
    base = baseline(state, bucket, cfg)
    ratio, p_value, jump = ((cfg.min_ratio, cfg.p_value, cfg.share_jump) if strict
                            else (cfg.exit_ratio, cfg.exit_p_value, cfg.share_jump / 2))
    reasons = []
    if negative >= cfg.min_count and negative >= ratio * base:
        tail = float(poisson.sf(negative - 1, base))
        if tail < p_value:
            reasons.append(f"{negative} negative mentions in the bucket against a baseline of "
                           f"{base:.1f} (Poisson tail {tail:.1e})")
    # A share needs volume: at least half a usual bucket, or early arrivals decide it.
    if total >= max(cfg.share_min_total, state.ewma_total / 2) and negative >= cfg.min_count:
        share = negative / total
        if share >= state.ewma_share + jump:
            reasons.append(f"negative share {share:.0%} against a baseline of "
                           f"{state.ewma_share:.0%}")
    return reasons


def observe(state: SpikeState, mention_id: str, negative: bool, risk_score: int,
            top_n: int = 5) -> None:
    state.total += 1
    if negative:
        state.negative += 1
        state.top = sorted([*state.top, (mention_id, risk_score)], key=lambda t: -t[1])[:top_n]


def check(state: SpikeState, cfg: SpikeConfig, *, severe: bool = False) -> Spike | None:
    """A spike when the open bucket turned anomalous and the scope was not in one already,
    or a follow-up when it is a new wave (quiet buckets since the last alert) inside one."""
    if state.seen < cfg.warmup_buckets or state.bucket == state.alerted_bucket:
        return None
    follow_up = state.in_spike
    if follow_up and state.lull_run < cfg.wave_gap_buckets:  # the same wave goes on
        return None
    reasons = _anomalous(state, state.bucket, state.negative, state.total, cfg)
    if not reasons:
        return None
    state.in_spike, state.lull_run, state.alerted_bucket = True, 0, state.bucket
    if follow_up:
        reasons.append("a new wave inside the spike already alerted")
    base = baseline(state, state.bucket, cfg)
    start = datetime.fromtimestamp(state.bucket * cfg.bucket_s, UTC)
    return Spike(
        warning_level=warning_level(state.negative, base, severe=severe),
        window_start=start, window_end=start + timedelta(seconds=cfg.bucket_s),
        negative=state.negative, total=state.total, baseline=round(base, 2),
        share=round(state.negative / state.total, 3) if state.total else 0.0,
        top_mention_ids=[m for m, _ in state.top], reasons=reasons, follow_up=follow_up,
    )


def warning_level(negative: int, base: float, *, severe: bool) -> int:
    """1 most severe: by the jump's size, one step up when a top mention is itself level 1."""
    ratio = negative / max(base, 1e-9)
    level = 4
    if ratio >= 3:
        level = 3
    if ratio >= 5 and negative >= 20:
        level = 2
    if ratio >= 10 and negative >= 50:
        level = 1
    return max(1, level - 1) if severe else level


def expected_quiet(base: float, cfg: SpikeConfig) -> int:
    """The fewest negatives that would alert on `base` (for dashboards and tests)."""
    n = max(cfg.min_count, math.ceil(cfg.min_ratio * base))
    while float(poisson.sf(n - 1, max(base, cfg.floor))) >= cfg.p_value:
        n += 1
    return n
