"""Soak: distributed mode under a steady load for minutes, to show that memory and lag stay flat.
    python bench/soak.py                      # 10 minutes at half the rate found in this run
    python bench/soak.py --rate 20 --minutes 3
What runs is bench/e2e.py's system (`deploy.local.up`: Tansu, one process per service, the
gateway, a fresh PostgreSQL database; the webhook sink; the same load generator). In order:
  find      unless `--rate` is given, bench/e2e.py's fixed-rate steps at `--rates` (20 s each);
            the highest that passed (accepted->notified p99 < 1 s, nothing failed) is the
            sustained rate of this run, and the soak runs at `--fraction` of it (0.5);
  soak      `--minutes` windows of 60 s, back to back, open loop at that rate. At the end of
            each window: the RSS of every process and the consumer lag summed over groups;
  settle    after the last window, until every accepted complaint is notified.
Reported per window: accepted/s, accepted->notified p50/p99 of the complaints sent in it, the
lag at its end, and RSS per process. The verdict compares the last third of the windows with
the first third after the first window (warm caches and pools): RSS growth per process in
MiB and %, and whether the lag at the window ends grows. It is a measurement, not a test:
it prints figures and exits 0 when every complaint was notified.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop
from _common import machine_line, percentile, proc_rss_mib
from e2e import (
    Ctx,
    Deliveries,
    Load,
    Monitor,
    System,
    Tap,
    child_server,
    distributed,
    idle_cores,
    latencies,
    open_loop,
    poll_forever,
    raise_interrupt,
    say,
    settle,
    step,
    warm_up,
    work_dir,
)

WINDOW_S = 60.0


@dataclass
class Window:
    index: int
    accepted: dict[str, float]
    accepted_per_s: float
    errors: int
    lag_end: int
    rss: dict[str, float]
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    notified: int = 0


@dataclass
class Soak:
    rate: float = 0.0
    sustained: float | None = None
    windows: list[Window] = field(default_factory=list)
    settle_s: float | None = None


async def find_rate(ctx: Ctx, rates: list[float]) -> float | None:
    best = None
    for rate in rates:
        result = await step(ctx, "find", rate, 20.0)
        if result.passed:
            best = rate
        else:
            break
    return best


async def soak(ctx: Ctx, report: Soak, minutes: int) -> None:
    for index in range(minutes):
        tally = await open_loop(ctx.load, report.rate, WINDOW_S, 1, ctx.args.connections,
                                grace=5.0)
        span = max(WINDOW_S, tally.ended - tally.started)
        window = Window(index + 1, tally.accepted, len(tally.accepted) / span, tally.n_errors,
                        sum(ctx.monitor.lag_now.values()),
                        {n: proc_rss_mib(p) for n, p in ctx.system.pids.items()})
        report.windows.append(window)
        groups = ", ".join(f"{g} {n:,}" for g, n in sorted(ctx.monitor.lag_now.items()) if n)
        say(f"  window {window.index:2d}: {window.accepted_per_s:6.1f}/s accepted, "
            f"{window.errors} failed, lag {window.lag_end:,} ({groups or 'none'}), RSS "
            + ", ".join(f"{n} {r:.0f}" for n, r in sorted(window.rss.items())))
    everything = {i: t for w in report.windows for i, t in w.accepted.items()}
    report.settle_s = await settle(ctx, everything, ctx.args.drain)
    with contextlib.suppress(httpx.HTTPError):
        await ctx.deliveries.poll(ctx.client)
    for window in report.windows:
        found, window.notified = latencies(ctx, window.accepted)
        window.p50_ms = percentile(found, 0.5) * 1000
        window.p99_ms = percentile(found, 0.99) * 1000


async def run(args: argparse.Namespace, system: System, work: Path, report: Soak) -> None:
    async with httpx.AsyncClient() as client:
        monitor, tap = Monitor(system), Tap(system.bootstrap)
        await monitor.start()
        await tap.start()
        ctx = Ctx(args, system, Load(system.url, system.key, args.timeout), monitor,
                  Deliveries(system.sink_url, system.expected), client, tap, work)
        poller = asyncio.create_task(poll_forever(ctx))
        try:
            ctx.idle = await idle_cores(system.pids)
            say("\n== warm-up ==")
            await warm_up(ctx)
            if args.rate:
                report.rate = args.rate
            else:
                say("\n== the sustained rate of this run ==")
                report.sustained = await find_rate(ctx, [float(r) for r in args.rates.split(",")])
                if report.sustained is None:
                    say("  no rate passed: nothing to soak at")
                    return
                report.rate = report.sustained * args.fraction
            say(f"\n== soak: {args.minutes} x {WINDOW_S:.0f} s at {report.rate:g}/s ==")
            await soak(ctx, report, args.minutes)
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            await monitor.stop()
            await tap.stop()


def verdict(report: Soak) -> list[str]:
    windows = report.windows[1:]  # the first window warms caches, pools and the JIT of SQL
    third = max(1, len(windows) // 3)
    if len(windows) < 2:
        return ["too few windows for a verdict (use --minutes 4 or more)"]
    first, last = windows[:third], windows[-third:]
    lines = []
    for name in sorted(first[0].rss):
        before = sum(w.rss.get(name, math.nan) for w in first) / len(first)
        after = sum(w.rss.get(name, math.nan) for w in last) / len(last)
        lines.append(f"RSS {name}: {before:.0f} -> {after:.0f} MiB "
                     f"({after - before:+.1f} MiB, {(after / before - 1) * 100:+.1f}%)")
    lag_before = max(w.lag_end for w in first)
    lag_after = max(w.lag_end for w in last)
    lines.append(f"lag at window ends: at most {lag_before:,} in the first third, "
                 f"{lag_after:,} in the last")
    p99_before = max(w.p99_ms for w in first)
    p99_after = max(w.p99_ms for w in last)
    lines.append(f"accepted->notified p99: at most {p99_before:,.0f} ms in the first third, "
                 f"{p99_after:,.0f} ms in the last")
    return lines


def summary(report: Soak) -> None:
    say("\n== summary ==")
    if report.sustained is not None:
        say(f"sustained rate of this run {report.sustained:g}/s; soak at {report.rate:g}/s")
    say("| window | accepted/s | failed | notified | p50 ms | p99 ms | lag at end | "
        "max RSS MiB |")
    say("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for w in report.windows:
        say(f"| {w.index} | {w.accepted_per_s:.1f} | {w.errors} | {w.notified:,} of "
            f"{len(w.accepted):,} | {w.p50_ms:,.0f} | {w.p99_ms:,.0f} | {w.lag_end:,} | "
            f"{max(w.rss.values(), default=0):.0f} |")
    for line in verdict(report):
        say(line)
    say("settled: " + (f"all notified {report.settle_s:.1f} s after the last window"
                       if report.settle_s is not None else "NOT all notified"))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    add = parser.add_argument
    add("--minutes", type=int, default=10, help="60-s windows of the soak (default 10)")
    add("--rate", type=float, help="complaints/s of the soak (default: --fraction of the "
                                   "highest of --rates that passed in this run)")
    add("--rates", default="20,40,80,160", help="rates tried to find the sustained one")
    add("--fraction", type=float, default=0.5, help="of the sustained rate (default 0.5)")
    add("--connections", type=int, default=32)
    add("--timeout", type=float, default=30.0, help="per request, seconds")
    add("--drain", type=float, default=300.0, help="longest wait for the last complaints")
    add("--work", type=Path, help="keep logs and state here (default: a temporary directory)")
    args = parser.parse_args(argv)
    # What bench/e2e.py's steps read from its own arguments.
    args.batch, args.p99_limit, args.warmup = 1, 1.0, 30
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, raise_interrupt)
    say(machine_line())
    report = Soak()
    with work_dir(args.work) as work, contextlib.ExitStack() as stack:
        sink = stack.enter_context(child_server(work, "--serve-sink", "sink", "/records"))
        started = time.monotonic()
        system = stack.enter_context(distributed(work, sink.url, sink.proc.pid))
        say(f"distributed mode up in {time.monotonic() - started:.1f} s")
        uvloop.run(run(args, system, work, report))
    summary(report)
    return 0 if report.windows and report.settle_s is not None else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted; the system under test was stopped", file=sys.stderr)
        sys.exit(130)
