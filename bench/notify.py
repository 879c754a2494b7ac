"""Notify's delivery path under load, with a slow and a failing endpoint beside healthy ones.

    python bench/notify.py                      # 400 triaged events as fast as they go
    python bench/notify.py --events 600 --rate 50   # paced below capacity: read latency
    python bench/notify.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/beacon_bench \
        --fast 3 --healthy-only --rate 100         # CPU per delivery on PostgreSQL

The notify app runs here (in-memory bus, SQLite in a temporary directory); a webhook sink
runs in a child process (uvicorn) so its CPU is not ours. Every level-1 event reaches
`--fast` members on healthy webhooks (/fast/<n>, answer at once), one member on a slow
webhook (/slow, answers after `--slow-s`) and one on a failing webhook (/fail, always 500).
Deliveries to the healthy webhooks are what we count:
  deliveries/s  healthy deliveries received by the sink / (first publish .. last receipt)
  p50/p99       sink receipt time minus the moment the triaged event was published
  CPU ms        this process's CPU time (notify, the bus and the publisher, which costs
                little) from the first publish to the last receipt, per healthy delivery
                and per event; with --postgres, PostgreSQL's backends' CPU beside it
`--batch N` publishes N events per record batch, which notify's consumer applies in one
transaction (`Notifier.handle_many`, as with Kafka batches); 1 publishes one at a time.
`--healthy-only` leaves the slow and the failing member out (every delivery then counts);
`--postgres URL` runs on a fresh schema of that database (dropped after) instead of SQLite.
The slow and failing endpoints must not hold the others back: the per-endpoint concurrency
bound and the circuit breaker keep them to their own slots.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.support import free_port, until  # noqa: E402
from notify_svc.main import create_app  # noqa: E402
from notify_svc.settings import NotifySettings  # noqa: E402
from shared.bus import MemoryBroker, MemoryBus  # noqa: E402
from shared.caller import Caller, signed_headers  # noqa: E402
from shared.events import make_event  # noqa: E402
from shared.events.schemas import ComplaintTriaged, Deadlines  # noqa: E402


def sink_app(slow_s: float) -> object:
    from starlette.applications import Starlette
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    received: list[tuple[str, str, float]] = []

    async def hook(request: Request) -> Response:
        path = request.url.path
        if path == "/fail":
            return JSONResponse({"error": "down"}, status_code=500)
        try:
            if path == "/slow":
                await asyncio.sleep(slow_s)
            body = json.loads(await request.body())
        except ClientDisconnect:  # the bench ended with this request in flight
            return Response(status_code=499)
        received.append((path, body["data"]["complaint_id"], time.time()))
        return JSONResponse({"ok": True})

    async def stats(_request: Request) -> Response:
        return JSONResponse(received)

    return Starlette(routes=[Route("/stats", stats, methods=["GET"]),
                             Route("/{path:path}", hook, methods=["POST"])])


def run_sink(port: int, slow_s: float) -> None:
    import uvicorn

    uvicorn.run(sink_app(slow_s), host="127.0.0.1", port=port, log_level="warning",  # type: ignore[arg-type]
                timeout_graceful_shutdown=1)


def roster(port: int, fast: int, faulty: bool = True) -> str:
    base = f"http://127.0.0.1:{port}"
    members = [(f"fast-{n}", f"/fast/{n}") for n in range(fast)]
    if faulty:
        members += [("slow", "/slow"), ("failing", "/fail")]
    text = "".join(f'[[member]]\nid = "{m}"\nroles = ["leadership_group"]\n'
                   f'channels = {{ webhook = "{base}{path}" }}\n' for m, path in members)
    return text + "[routing]\n" + "".join(f'{n} = ["leadership_group"]\n' for n in range(1, 5))


def triaged(n: int) -> ComplaintTriaged:
    now = dt.datetime.now(dt.UTC)
    return ComplaintTriaged(
        complaint_id=f"{n:032d}", case_id=f"{n:032d}", response_level=1, category="safety",
        level_reasons=["bench"], deadlines=Deadlines(
            acknowledge_by=now, first_contact_by=now, report_by=now, resolve_by=now))


async def wait_port(port: int) -> None:
    """A child process has no start signal but its port."""
    async with httpx.AsyncClient() as client:
        async def answers() -> bool:
            try:
                await client.get(f"http://127.0.0.1:{port}/stats")
            except httpx.TransportError:
                return False
            return True

        await until(answers, within=10.0, what="the sink answers")


async def bench(args: argparse.Namespace, port: int, data: Path) -> None:
    roster_file = data / "roster.toml"
    roster_file.write_text(roster(port, args.fast, not args.healthy_only), encoding="utf-8")
    schema = f"bench_notify_{uuid.uuid4().hex[:12]}" if args.postgres else None
    if schema is not None:
        await pg_execute(args.postgres, f"CREATE SCHEMA {schema}")
    try:
        await bench_on(args, port, data, roster_file, schema)
    finally:
        if schema is not None:
            await pg_execute(args.postgres, f"DROP SCHEMA {schema} CASCADE")


async def pg_execute(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_cpu_s() -> float:
    """CPU seconds of every PostgreSQL process on this host so far (server on loopback)."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


async def bench_on(args: argparse.Namespace, port: int, data: Path, roster_file: Path,
                   schema: str | None) -> None:
    settings = NotifySettings(
        data_dir=data, database_url=args.postgres or f"sqlite+aiosqlite:///{data / 'notify.db'}",
        roster_file=roster_file, ack_secret="bench-ack-secret-0123456789",
        max_attempts=3, backoff_s=0.2, backoff_max_s=1.0, outbox_idle_poll_s=0.05,
        timeout_webhook_s=args.slow_s + 2,
        outbound_url_allowlist="127.0.0.1",  # the sink is on loopback, which the guard refuses
    )
    broker = MemoryBroker()
    app = create_app(settings, broker=broker, schema=schema)
    published: dict[str, float] = {}
    bus = MemoryBus(broker)
    expected = args.events * args.fast
    async with app.router.lifespan_context(app), httpx.AsyncClient() as client:
        cpu_start, pg_start, times_start = time.process_time(), postgres_cpu_s(), os.times()
        started = time.time()
        for first in range(0, args.events, args.batch):
            group = range(first, min(first + args.batch, args.events))
            events = [make_event(triaged(n), source="/bench", subject=f"{n:032d}")
                      for n in group]
            for n in group:
                published[f"{n:032d}"] = time.time()
            if args.batch == 1:
                await bus.publish(ComplaintTriaged.topic, events[0])
            else:  # one record batch: the consumer takes it as one (Notifier.handle_many)
                await bus.publish_batch([(ComplaintTriaged.topic, e) for e in events])
            if args.rate:
                await asyncio.sleep(max(0.0, started + group.stop / args.rate - time.time()))
        deadline = time.time() + args.timeout
        while True:  # the sink is another process: ask it how far it got
            received = (await client.get(f"http://127.0.0.1:{port}/stats")).json()
            fast = [r for r in received if r[0].startswith("/fast/")]
            if len(fast) >= expected or time.time() > deadline:
                break
            await asyncio.sleep(0.2)
        # Up to the last receipt (the polls' CPU after it is left out as well as it can be).
        cpu, pg = time.process_time() - cpu_start, postgres_cpu_s() - pg_start
        times = os.times()
        user, system = times.user - times_start.user, times.system - times_start.system
        dispatcher = app.state.dispatcher
        breakers = {e: b.state for e, b in dispatcher.breakers.by_endpoint.items()}
        errors = await slow_errors(app)
    report(args, started, published, received, expected, breakers)
    print(f"CPU: {cpu * 1000 / max(1, len(fast)):.2f} ms per healthy delivery, "
          f"{cpu * 1000 / args.events:.2f} ms per event (this process, {cpu:.2f} s: "
          f"user {user:.2f}, system {system:.2f})"
          + (f"; PostgreSQL {pg * 1000 / args.events:.2f} ms per event" if args.postgres
             else "")
          + f"; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("slow endpoint's errors so far: " + (", ".join(
        f"{n} x {e}" for e, n in errors.most_common(3)) or "none"))


async def slow_errors(app: FastAPI) -> Counter[str]:
    # Services answer only the gateway's signed calls: sign this one as an admin would be.
    path = "/api/v1/notifications"
    caller = Caller("bench", "bench", frozenset({"admin"}))
    headers = signed_headers(app.state.internal_secret, caller, "GET", path, uuid.uuid4().hex)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://notify") as api:
        answer = await api.get(path, params={"recipient": "slow", "limit": 1000},
                               headers=headers)
        answer.raise_for_status()
        items = answer.json()["items"]
    return Counter(str(i["last_error"])[:60] for i in items if i["last_error"])


def report(args: argparse.Namespace, started: float, published: dict[str, float],
           received: list[list[object]], expected: int, breakers: dict[str, str]) -> None:
    fast = [r for r in received if str(r[0]).startswith("/fast/")]
    latencies = sorted((float(str(r[2])) - published[str(r[1])]) * 1000 for r in fast)
    elapsed = max(float(str(r[2])) for r in fast) - started
    quantiles = statistics.quantiles(latencies, n=100)
    slow = sum(1 for r in received if r[0] == "/slow")
    faulty = ("" if args.healthy_only
              else f" + 1 slow ({args.slow_s}s) + 1 failing (HTTP 500)")
    print(f"events: {args.events} level-1 triaged"
          f" ({'unpaced' if not args.rate else f'{args.rate}/s'}"
          f"{f', batches of {args.batch}' if args.batch > 1 else ''}); "
          f"{args.fast} healthy webhooks{faulty}"
          f"{'; PostgreSQL' if args.postgres else '; SQLite'}")
    print(f"healthy deliveries: {len(fast)}/{expected} in {elapsed:.2f}s = "
          f"{len(fast) / elapsed:.0f} deliveries/s")
    print(f"triaged event -> webhook received: p50 {quantiles[49]:.0f} ms, "
          f"p99 {quantiles[98]:.0f} ms, max {latencies[-1]:.0f} ms")
    print(f"slow endpoint: {slow} delivered meanwhile; breakers: "
          + ", ".join(f"{e.rsplit('/', 1)[-1]}={s}" for e, s in breakers.items()
                      if s != "closed") or "all closed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--fast", type=int, default=5, help="healthy webhooks per event")
    parser.add_argument("--rate", type=float, default=0.0, help="events/s; 0 = unpaced")
    parser.add_argument("--slow-s", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--batch", type=int, default=1,
                        help="events per published record batch (1: one at a time)")
    parser.add_argument("--healthy-only", action="store_true",
                        help="no slow and no failing member")
    parser.add_argument("--postgres", metavar="URL",
                        help="postgresql+asyncpg://... (a fresh schema, dropped after)")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink, args.slow_s)
        return
    port = free_port()
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port),
                             "--slow-s", str(args.slow_s)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        asyncio.run(wait_port(port))
        with tempfile.TemporaryDirectory() as data:
            asyncio.run(bench(args, port, Path(data)))
    finally:
        sink.terminate()
        sink.wait(timeout=10)


if __name__ == "__main__":
    main()
