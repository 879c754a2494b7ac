"""Spike detection on synthetic series: bursts, flat series, slow rises, seasonality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from sentiment_svc.spikes import (
    Spike,
    SpikeConfig,
    SpikeState,
    advance,
    check,
    observe,
    warning_level,
)

CFG = SpikeConfig()
T0 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday


def run(negatives: list[int], totals: list[int] | None = None,
        cfg: SpikeConfig = CFG, state: SpikeState | None = None) -> list[tuple[int, Spike]]:
    """Feed one bucket per entry, mention by mention, checking after each like the service."""
    state = state or SpikeState()
    alerts = []
    for i, neg in enumerate(negatives):
        at = T0 + timedelta(seconds=i * cfg.bucket_s)
        advance(state, at, cfg)
        total = totals[i] if totals else neg
        for n in range(total):
            # negatives spread evenly through the bucket, as they arrive mixed in life
            negative = (n + 1) * neg // total > n * neg // total
            observe(state, f"m{i}-{n}", negative=negative, risk_score=n)
            spike = check(state, cfg)
            if spike:
                alerts.append((i, spike))
    return alerts


def poisson_series(rate: float, n: int, seed: int) -> list[int]:
    return [int(x) for x in np.random.default_rng(seed).poisson(rate, n)]


def test_a_burst_is_caught_inside_its_first_bucket() -> None:
    series = [*poisson_series(3, 300, seed=1), 40, 45, 38, *poisson_series(3, 50, seed=2)]
    alerts = run(series)
    assert [i for i, _ in alerts] == [300]
    spike = alerts[0][1]
    assert spike.negative < 40  # raised while the bucket was still filling
    assert 2 <= spike.baseline <= 4
    assert spike.top_mention_ids and spike.reasons
    assert spike.window_start == T0 + timedelta(seconds=300 * CFG.bucket_s)


def test_a_flat_series_never_alerts_even_when_high() -> None:
    for rate, seed, buckets in ((2, 3, 2000), (30, 4, 2000), (200, 5, 300)):
        assert run(poisson_series(rate, buckets, seed)) == []


def test_a_step_up_to_a_new_flat_level_alerts_once_then_becomes_the_norm() -> None:
    series = poisson_series(5, 200, seed=6) + poisson_series(40, 800, seed=7)
    alerts = run(series)
    assert [i for i, _ in alerts] == [200]


def test_a_slow_rise_alerts_once() -> None:
    rng = np.random.default_rng(8)
    ramp = [int(rng.poisson(2 + 28 * k / 72)) for k in range(72)]  # 2 -> 30 over 12 hours
    series = poisson_series(2, 200, seed=9) + ramp + poisson_series(30, 600, seed=10)
    alerts = run(series)
    assert len(alerts) == 1
    assert 200 < alerts[0][0] < 272


def test_a_jump_in_negative_share_alerts_with_flat_volume() -> None:
    totals = [60] * 300
    negatives = [6] * 200 + [30] * 100
    alerts = run(negatives, totals, cfg=SpikeConfig(p_value=1e-12))  # count rule off
    assert [i for i, _ in alerts] == [200]
    assert any("share" in r for r in alerts[0][1].reasons)


def test_the_usual_weekly_peak_is_not_a_spike() -> None:
    """Every Monday 09:00-10:00 local brings 30 negatives per bucket, otherwise 2."""
    cfg = SpikeConfig(alpha=0.02)
    per_week = 7 * 24 * 6
    monday_9 = 1 * 6  # 09:00 local is 01:00 UTC on Monday: buckets 6..11 of the week
    week = [30 if monday_9 <= b < monday_9 + 6 else 2 for b in range(per_week)]
    alerts = run(week * 4, cfg=cfg)
    weeks_alerted = sorted({i // per_week for i, _ in alerts})
    assert weeks_alerted[:1] == [0]  # news the first time
    assert 3 not in weeks_alerted  # by the fourth week the slot baseline expects it


def test_silence_after_a_gap_then_a_burst() -> None:
    state = SpikeState()
    run(poisson_series(4, 100, seed=11), state=state)
    later = T0 + timedelta(days=2)
    advance(state, later, CFG)
    assert state.ewma < 1  # two quiet days count as zeros
    for n in range(12):
        observe(state, f"x{n}", negative=True, risk_score=50)
    assert check(state, CFG) is not None


def test_warning_level_follows_the_jump_and_severity() -> None:
    assert warning_level(8, 2.0, severe=False) == 3
    assert warning_level(30, 3.0, severe=False) == 2
    assert warning_level(60, 3.0, severe=False) == 1
    assert warning_level(8, 2.0, severe=True) == 2
    assert warning_level(6, 4.0, severe=False) == 4


def test_state_survives_json() -> None:
    state = SpikeState()
    run([3, 4, 5], state=state)
    again = SpikeState.from_json(state.to_json())
    assert again == state


def test_a_second_wave_inside_a_spike_alerts_again_with_its_own_evidence() -> None:
    """Issue #15: a second burst half an hour after the first, while the scope is still in
    its spike, must reach the open incident; one alert per wave, not one per spike."""
    series = [*poisson_series(2, 100, seed=12), 60, 0, 0, 120, 0]
    alerts = run(series)
    assert [i for i, _ in alerts] == [100, 103]
    first, second = alerts[0][1], alerts[1][1]
    assert not first.follow_up and second.follow_up
    assert all(m.startswith("m103-") for m in second.top_mention_ids)
    assert any("new wave" in r for r in second.reasons)


def test_a_burst_that_goes_on_over_adjacent_buckets_is_one_wave() -> None:
    series = [*poisson_series(2, 100, seed=13), 60, 80, 70, 90, 40]
    assert [i for i, _ in run(series)] == [100]
