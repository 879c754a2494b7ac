"""Idle: the cores the distributed deployment uses doing nothing, and what one complaint at a
time then takes from accepted to case, for each setting compared, in one run.

    python bench/idle.py                                  # baseline and new (about 3 minutes)
    python bench/idle.py --variants new --seconds 10 --complaints 20
    python bench/idle.py --variants baseline,wait500,new --postgres

What runs, per variant: `deploy.local.up` (the code behind `make up`) in a temporary
DATA_DIR with its own Tansu on `--kafka-port` (else a free port) and the gateway on a free
port: Tansu, one process per service, the gateway; SQLite files per service (with
`--postgres`, a throwaway PostgreSQL database `beacon_bench_<hex>`, dropped after). The
variant's settings are put in the environment the processes start with, so each variant is
the same code with other settings.

In order: `--settle` seconds after every process is ready (consumer groups join, start-up
work ends), then each process's CPU seconds (utime + stime from /proc) over `--seconds`:
the cores each uses idle, and their total. Then `--complaints` complaints are posted one
after another through the gateway; each is timed from its 202 to the first 200 of
`GET /api/v1/cases/of-complaint/{id}` (polled every `--poll-ms`): accepted -> case. The
first complaint comes after the idle phase (the consumers' fetches wait their idle
length); the p50/p99 are of all of them; the CPU ms per complaint is every process's CPU
over that phase (the idle share included: one at a time, most of it is the
fetching and polling that goes on between complaints), per complaint.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from _common import (
    CONTENTS,
    PATH,
    RawConnection,
    cores,
    drop_database,
    free_port,
    machine_line,
    no_interrupts,
    percentile,
    sample,
)

# The settings each variant starts the processes with. "baseline" is what the deployment
# did before the idle work (issue 18): every fetch waits 50 ms in the broker (Tansu, which
# spends CPU while it holds a fetch) whether records flow or not,
# the outbox relays poll every 200 ms with batches of 500 and no LISTEN, drill's injector
# looks every 250 ms; "wait500" is the last session's other try (every fetch waits 500 ms);
# "new" is the defaults (client pacing; `new+KAFKA_FETCH_PACING=broker` for the other).
_OLD_REST = {"OUTBOX_IDLE_POLL_S": "0.2", "OUTBOX_BATCH_MAX": "500", "OUTBOX_LISTEN": "false",
             "DRILL_IDLE_TICK_S": "0.25"}
VARIANTS: dict[str, dict[str, str]] = {
    "baseline": {"KAFKA_FETCH_PACING": "broker", "KAFKA_FETCH_MAX_WAIT_MS": "50",
                 "KAFKA_FETCH_IDLE_WAIT_MS": "50", **_OLD_REST},
    "wait500": {"KAFKA_FETCH_PACING": "broker", "KAFKA_FETCH_MAX_WAIT_MS": "500",
                "KAFKA_FETCH_IDLE_WAIT_MS": "500", **_OLD_REST},
    "new": {"KAFKA_FETCH_PACING": "client"},
}
# What would point the deployment elsewhere, or change a variant behind its back.
DROPPED = {"DATABASE_URL", "PII_KEYS", "DEV_API_KEY", "DATA_DIR", "BUS",
           "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_PORT", "GATEWAY_PORT", "BEACON_BASE_PORT"}
DROPPED_PREFIXES = ("KAFKA_", "OUTBOX_", "DRILL_", "NOTIFY_", "TRIAGE_", "INTAKE_",
                    "SENTIMENT_", "GATEWAY_")
READY_TIMEOUT_S = 120.0


def say(text: str = "") -> None:
    print(text, flush=True)


def uptime() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Result:
    variant: str
    idle: dict[str, float] = field(default_factory=dict)  # cores per process
    idle_load: str = ""
    latencies_ms: list[float] = field(default_factory=list)  # in the order posted
    missing: int = 0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per complaint, all of it
    busy: dict[str, float] = field(default_factory=dict)  # cores per process while posting
    load_load: str = ""

    @property
    def idle_total(self) -> float:
        return sum(self.idle.values())


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in DROPPED and not k.startswith(DROPPED_PREFIXES)}
    env.update({"RATE_LIMIT_PER_S": "1000000", "RATE_LIMIT_BURST": "1000000"})
    env.update(extra)
    return env


class Client:
    """The gateway on one keep-alive connection: post a complaint, read its case."""

    def __init__(self, url: str, key: str) -> None:
        parts = urlsplit(url)
        self.host = parts.netloc
        self.conn = RawConnection(parts.hostname or "127.0.0.1", parts.port or 80)
        self.key, self.run = key, uuid.uuid4().hex[:8]

    def _request(self, method: str, path: str, body: bytes = b"") -> bytes:
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Authorization: Bearer {self.key}\r\n")
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n").encode() + body

    async def post(self, n: int) -> str:
        body = json.dumps({
            "channel": "hotline",
            "content": f"{CONTENTS[n % len(CONTENTS)]}（idle {self.run} #{n}）",
            "complainant": {"name": "张三", "phone": f"139{n % 100_000_000:08d}"},
        }, ensure_ascii=False).encode()
        status, answer = await self.conn.post(self._request("POST", PATH, body), body)
        if status != 202:
            raise RuntimeError(f"POST answered {status}: {answer[:200]!r}")
        return str(json.loads(answer)["id"])

    async def has_case(self, complaint_id: str) -> bool:
        path = f"/api/v1/cases/of-complaint/{complaint_id}"
        status, answer = await self.conn.post(self._request("GET", path), b"")
        if status not in (200, 404):
            raise RuntimeError(f"GET answered {status}: {answer[:200]!r}")
        return status == 200


async def measure(variant: str, state_url: str, key: str, pids: Mapping[str, int],
                  args: argparse.Namespace) -> Result:
    result = Result(variant)
    say(f"  settling {args.settle:.0f} s ({uptime()})")
    await asyncio.sleep(args.settle)
    before = sample(pids)
    await asyncio.sleep(args.seconds)
    after = sample(pids)
    used = cores(before, after)
    result.idle = {k: v for k, v in used.items() if k not in ("loadgen", "other", "postgres")}
    if args.postgres:
        result.idle["postgres"] = used["postgres"]
    result.idle_load = uptime()
    say(f"  idle over {args.seconds:.0f} s: {describe(result.idle)}; total "
        f"{result.idle_total:.3f} cores ({result.idle_load}; rest of the machine "
        f"{used['other']:.2f} cores)")

    client = Client(state_url, key)
    start = sample(pids)
    try:
        for n in range(args.complaints):
            complaint_id = await client.post(n)
            accepted = time.perf_counter()
            deadline = accepted + args.case_timeout
            while not await client.has_case(complaint_id):
                if time.perf_counter() > deadline:
                    result.missing += 1
                    break
                await asyncio.sleep(args.poll_ms / 1000)
            else:
                result.latencies_ms.append((time.perf_counter() - accepted) * 1000)
            if args.gap:
                await asyncio.sleep(args.gap)
    finally:
        await client.conn.close()
    end = sample(pids)
    wall = end.at - start.at
    spent = cores(start, end)
    done = max(len(result.latencies_ms), 1)
    result.busy = {name: spent[name] for name in result.idle}
    result.cpu_ms = {name: spent[name] * wall / done * 1000 for name in result.idle}
    result.load_load = uptime()
    lat = sorted(result.latencies_ms)
    first = f"{result.latencies_ms[0]:.0f}" if result.latencies_ms else "-"
    say(f"  {len(lat)} complaints one at a time: accepted->case p50 "
        f"{percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms, the first "
        f"(after idle) {first} ms, max {max(lat, default=float('nan')):.0f} ms"
        + (f", {result.missing} without a case in {args.case_timeout:.0f} s"
           if result.missing else "") + f" ({result.load_load})")
    say(f"  while posting: {sum(result.busy.values()):.3f} cores; CPU ms per complaint (all "
        f"of it, idle share included): {sum(result.cpu_ms.values()):.1f} "
        f"({describe(result.cpu_ms, '.1f')})")
    return result


def describe(values: Mapping[str, float], fmt: str = ".3f") -> str:
    return ", ".join(f"{name} {value:{fmt}}" for name, value in values.items())


async def run_variant(variant: str, args: argparse.Namespace, work: Path) -> Result:
    from deploy import local

    database = f"beacon_bench_{uuid.uuid4().hex[:12]}" if args.postgres else None
    key, data_dir = f"bench-{secrets.token_hex(16)}", work / variant
    extra = {"GATEWAY_PORT": str(free_port()),
             "KAFKA_PORT": str(args.kafka_port or free_port()), "DEV_API_KEY": key,
             **VARIANTS[variant]}
    if database:
        extra["DATABASE_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    env = base_env(extra)
    settings = ", ".join(f"{k}={v}" for k, v in VARIANTS[variant].items()) or "the defaults"
    say(f"\n== {variant}: {settings} ==")
    try:
        state = await asyncio.to_thread(local.up, env, data_dir, timeout=READY_TIMEOUT_S)
        pids = {p.name: p.pid for p in state.processes}
        return await measure(variant, state.gateway_url, key, pids, args)
    finally:
        with no_interrupts():
            local.down(data_dir)
            if database:
                drop_database(database)


def table(results: list[Result]) -> str:
    names = list(dict.fromkeys(n for r in results for n in r.idle))
    head = ("| | " + " | ".join(names) + " | total | p50 | p99 | first | cores posting | "
            "CPU ms/complaint |")
    rows = [head, "|" + "---|" * (len(names) + 7)]
    for r in results:
        lat = sorted(r.latencies_ms)
        first = f"{r.latencies_ms[0]:.0f} ms" if r.latencies_ms else "-"
        rows.append(f"| {r.variant} | " + " | ".join(f"{r.idle.get(n, 0.0):.3f}" for n in names)
                    + f" | **{r.idle_total:.3f}** | {percentile(lat, 0.5):.0f} ms | "
                    f"{percentile(lat, 0.99):.0f} ms | {first} | "
                    f"{sum(r.busy.values()):.3f} | {sum(r.cpu_ms.values()):.1f} |")
    return "\n".join(rows)


async def main_async(args: argparse.Namespace) -> int:
    # SIGTERM cancels the run, so the deployment in hand is stopped (`local.down`) as on
    # Ctrl-C.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    say(machine_line())
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for variant in variants:  # "new+KAFKA_FETCH_IDLE_WAIT_MS=1000": a variant with more
        name, *changes = variant.split("+")
        if name in VARIANTS and all("=" in c for c in changes):
            VARIANTS[variant] = {**VARIANTS[name], **dict(c.split("=", 1) for c in changes)}
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        say(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="beacon-idle-") as tmp:
        for variant in variants:
            results.append(await run_variant(variant, args, Path(tmp)))
    say(f"\ncores idle per process (over {args.seconds:.0f} s), accepted->case of "
        f"{args.complaints} complaints one at a time:")
    say(table(results))
    say(f"({uptime()} at the end)")
    return 1 if any(r.missing for r in results) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="baseline,new",
                        help=f"comma-separated, in order; of {', '.join(VARIANTS)}, each "
                             f"optionally with +NAME=VALUE settings more")
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds between ready and the idle measurement")
    parser.add_argument("--seconds", type=float, default=30.0, help="idle measurement")
    parser.add_argument("--complaints", type=int, default=50)
    parser.add_argument("--gap", type=float, default=0.0,
                        help="seconds between one complaint's case and the next post")
    parser.add_argument("--poll-ms", type=float, default=5.0,
                        help="how often a complaint's case is asked for")
    parser.add_argument("--case-timeout", type=float, default=30.0)
    parser.add_argument("--kafka-port", type=int, default=None,
                        help="Tansu's port (default: a free one)")
    parser.add_argument("--postgres", action="store_true",
                        help="one throwaway PostgreSQL database instead of SQLite files")
    args = parser.parse_args()
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        main()
