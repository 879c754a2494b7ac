"""Console: the board's server render time with 5,000 open cases, and the latency from an
event to 50 live (SSE) clients (issue #11, point 7).

    python bench/console.py                  # SQLite (embedded mode), under a minute
    python bench/console.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/beacon_bench
    python bench/console.py --profile        # and where one in-process GET /board goes

The server under test is a child process of this script (`--serve`, not for use by hand):
the embedded gateway (every service and the console in one process) under uvicorn on a
free loopback port, started as `make run` starts it (asyncio loop, lifespan run first).
It seeds `--cases` open cases straight into triage's table (one executemany, no events),
then answers commands on its stdin: time the pages in its own process through httpx's
ASGITransport, publish paced notices into the console's LiveHub, profile one render, quit.
This script is the load generator, a separate process on loopback:

1. Render: GET /board and GET /board/lanes as a signed-in duty officer, `--requests` each,
   one after the other, in-process and over loopback: p50/p99 and the server's CPU per
   request. Baseline in the same run: the four GET /api/v1/cases calls the board makes
   (one per lane, gathered as the board gathers them) and the bare
   GET /api/v1/cases?open=true&limit=50, with the admin key.
2. Live: `--clients` SSE streams sharing one session. Fan-out alone: `--notices` notices
   published into the hub at `--notice-rate`, from publish to each client. End to end:
   `--complaints` level-1 complaints POSTed at `--complaint-rate`, from the POST to each
   client's `case` notice for it (intake, outbox, bus, triage, outbox, bus, hub, SSE).

Figures are printed, never asserted; the aim of the issue (the board under 300 ms on the
server with 5,000 open cases) is printed against them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import logging
import os
import pstats
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from _common import (
    cores,
    drop_database,
    machine_line,
    no_interrupts,
    percentile,
    pg_admin,
    pg_durability,
    proc_cpu,
    proc_rss_mib,
    sample,
    stop_child,
)
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from deploy.support import free_port, until
from services.console.board import CATEGORIES, CHANNELS, lane_query
from services.console.live import LiveHub
from services.launcher import build_embedded
from services.settings import GatewaySettings
from shared.events.schemas import ComplaintTriaged
from triage_svc.models import Case
from triage_svc.rules import load_rules
from triage_svc.service import deadlines

AIM_MS = 300.0
WARMUP = 3
REPLY = "@bench "  # the child's answers on stdout; anything else there is passed on
USER, PASSWORD = "bench-officer", "bench-officer-password"
LEVELS, LEVEL_WEIGHTS = (1, 2, 3, 4), (0.05, 0.15, 0.40, 0.40)
OPEN_STATES = ("triaged", "acknowledged", "investigating", "reopened")
LEVEL_ONE = "热水器爆炸，有人受伤住院"
CSRF_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"')
LOG_TROUBLE = ("ERROR", "Traceback", "database is locked")
IDLE_S = 3.0  # the server's own background work (relays, timers) with no traffic
QUIET_CORES = 0.3  # other processes busier than this make a phase's figures suspect


# ---------------------------------------------------------------- shared by both sides


@dataclass(frozen=True)
class Target:
    label: str
    paths: tuple[str, ...]  # fetched concurrently, as one request of the table
    with_key: bool  # the admin API key; otherwise the console session's cookie


@dataclass
class Timing:
    latencies_ms: list[float]
    cpu_ms: float  # the server's CPU time per request

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies_ms), q)


BOARD = Target("GET /board", ("/board",), False)
LANE_CALLS = "API: the board's 4 lane calls, gathered"


def targets(lane_size: int) -> list[Target]:
    lanes = tuple("/api/v1/cases?" + urlencode(
        {k: v for k, v in lane_query({}, level, False, lane_size).items() if v is not None})
        for level in (1, 2, 3, 4))
    return [BOARD, Target("GET /board/lanes", ("/board/lanes",), False),
            Target(LANE_CALLS, lanes, True),
            Target("API: GET /api/v1/cases?open=true&limit=50",
                   ("/api/v1/cases?open=true&limit=50",), True)]


async def sign_in(client: httpx.AsyncClient) -> None:
    """The login form's flow; the client keeps the `beacon_session` cookie."""
    form = await client.get("/login")
    found = CSRF_IN_PAGE.search(form.text)
    if found is None:
        raise RuntimeError(f"no csrf_token on /login (HTTP {form.status_code})")
    answer = await client.post("/login", data={"username": USER, "password": PASSWORD,
                                               "csrf_token": found.group(1)})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in refused: HTTP {answer.status_code}")


async def fetch(client: httpx.AsyncClient, target: Target, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"} if target.with_key else {}
    answers = await asyncio.gather(*[client.get(p, headers=headers) for p in target.paths])
    for answer in answers:
        if answer.status_code != 200:
            raise RuntimeError(f"{target.label}: HTTP {answer.status_code} "
                               f"{answer.text[:200]}")


async def time_target(client: httpx.AsyncClient, target: Target, key: str, requests: int,
                      cpu: Callable[[], float]) -> Timing:
    """`requests` requests one after the other, after a warm-up; `cpu` reads the server's
    CPU seconds."""
    for _ in range(WARMUP):
        await fetch(client, target, key)
    latencies: list[float] = []
    cpu_before = cpu()
    for _ in range(requests):
        started = time.perf_counter()
        await fetch(client, target, key)
        latencies.append((time.perf_counter() - started) * 1e3)
    return Timing(latencies, (cpu() - cpu_before) * 1e3 / requests)


async def time_all(client: httpx.AsyncClient, key: str, requests: int, lane_size: int,
                   cpu: Callable[[], float]) -> dict[str, Timing]:
    return {t.label: await time_target(client, t, key, requests, cpu)
            for t in targets(lane_size)}


# ---------------------------------------------------------------- the server (child)


def seed_rows(count: int, now: datetime) -> list[dict[str, Any]]:
    """Open cases of every level, state, category and channel, opened over the last three
    days with the rules' own deadlines (so some are overdue), a few escalated or media."""
    rng, rules = random.Random(11), load_rules()
    rows = []
    for i in range(count):
        level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
        opened = now - timedelta(minutes=rng.uniform(1, 3 * 24 * 60))
        state = rng.choice(OPEN_STATES)
        rows.append(dict(
            id=uuid.uuid4().hex, complaint_id=uuid.uuid4().hex, response_level=level,
            category=rng.choice(CATEGORIES), level_reasons=["bench: seeded"], state=state,
            department=f"门店{i % 200:03d}", drill=False, opened_at=opened,
            **deadlines(level, opened, rules).model_dump(), rules_version=rules.version,
            channel=rng.choice(CHANNELS), complainant_key=f"bench-{i}",
            assignee=None if state == "triaged" else f"officer-{i % 17}",
            escalation_step=int(rng.random() < 0.05), media=rng.random() < 0.02,
            people_count=1, fingerprint=[]))
    return rows


async def seed_cases(triage: FastAPI, count: int) -> dict[str, Any]:
    rows = seed_rows(count, datetime.now(UTC))
    db = triage.state.runtime.db
    started = time.perf_counter()
    async with db.transaction() as session:
        await session.execute(insert(Case), rows)
    if db.engine.dialect.name == "postgresql":  # what autovacuum does soon after a load
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE triage_cases"))
    return {"seed_s": time.perf_counter() - started, "dialect": db.engine.dialect.name}


class GcPauses:
    """Full (generation 2) garbage collections in this process: how many, how long."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, stage: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if stage == "start":
            self._started = time.perf_counter()
        else:
            self.pauses_ms.append((time.perf_counter() - self._started) * 1e3)

    def take(self) -> dict[str, Any]:
        pauses, self.pauses_ms = self.pauses_ms, []
        return {"count": len(pauses), "max_ms": max(pauses, default=0.0),
                "total_ms": sum(pauses)}


def reply(message: dict[str, Any]) -> None:
    print(REPLY + json.dumps(message), flush=True)


async def publish(hub: LiveHub, count: int, rate: float) -> None:
    """`count` notices at `rate` per second, each stamped with its publish time."""
    started = time.monotonic()
    for seq in range(count):
        await asyncio.sleep(max(0.0, started + seq / rate - time.monotonic()))
        hub.publish("case", {"topic": "bench", "seq": seq, "sent": time.monotonic()})


async def profile_board(app: FastAPI, key: str) -> str:
    """cProfile of one in-process GET /board (its whole event loop while it runs)."""
    async with in_process(app) as client:
        await fetch(client, BOARD, key)
        profiler = cProfile.Profile()
        profiler.enable()
        await fetch(client, BOARD, key)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write("by own time:\n")
    stats.sort_stats("tottime").print_stats(15)
    out.write("Beacon's and Jinja's functions by cumulative time (a coroutine's every "
              "resumption counts as a call):\n")
    stats.sort_stats("cumulative").print_stats(r"(services|triage_svc|shared|jinja2)/", 20)
    return out.getvalue()


@contextlib.asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://beacon", timeout=60) as client:
        await sign_in(client)
        yield client


async def in_process_timings(app: FastAPI, key: str, requests: int) -> dict[str, Any]:
    lane_size = app.state.console.settings.lane_size
    async with in_process(app) as client:
        timings = await time_all(client, key, requests, lane_size, time.process_time)
    return {label: asdict(t) for label, t in timings.items()}


async def commands(app: FastAPI, key: str, pauses: GcPauses) -> None:
    """Answer the parent until `quit` or the end of stdin."""
    while words := (await asyncio.to_thread(sys.stdin.readline)).split():
        if words[0] == "inproc":
            reply(await in_process_timings(app, key, int(words[1])))
        elif words[0] == "publish":
            await publish(app.state.console.hub, int(words[1]), float(words[2]))
            reply({"published": int(words[1]), "listeners": app.state.console.hub.listeners})
        elif words[0] == "gc":
            reply(pauses.take())
        elif words[0] == "profile":
            reply({"profile": await profile_board(app, key)})
        elif words[0] == "quit":
            return


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the parent stops us through stdin."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def start_uvicorn(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Serve `app` (its lifespan already running) on 127.0.0.1:`port`, as the launcher does."""
    server = QuietServer(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                        access_log=False, log_config=None,
                                        log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(600):  # up to 30 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not server.started:
        await task  # its error, if it failed
        raise RuntimeError(f"uvicorn did not start on port {port}")
    return server, task


async def serve(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = GatewaySettings()  # DATA_DIR, DEV_API_KEY, DATABASE_URL from the parent
    embedded = build_embedded(settings)
    app = embedded.gateway
    async with app.router.lifespan_context(app):
        seeded = await seed_cases(embedded.services["triage"], args.cases)
        await app.state.console.users.create(USER, "Bench duty officer", PASSWORD,
                                             "duty_officer", False)
        if not args.no_gc_freeze:  # as services.launcher.serve does after start-up
            gc.collect()
            gc.freeze()
        server, task = await start_uvicorn(app, args.port)
        reply({**seeded, "lane_size": app.state.console.settings.lane_size})
        await commands(app, embedded.admin_key, GcPauses())
        server.should_exit = True
        await task


# ---------------------------------------------------------------- the load generator


@dataclass
class Child:
    proc: subprocess.Popen[bytes]
    log: Path

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    async def answer(self, within: float) -> dict[str, Any]:
        found: dict[str, Any] = await asyncio.wait_for(asyncio.to_thread(self._read), within)
        return found

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while line := self.proc.stdout.readline().decode():
            if line.startswith(REPLY):
                found: dict[str, Any] = json.loads(line[len(REPLY):])
                return found
            sys.stderr.write(line)
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the server exited ({self.proc.poll()}); its log ends:\n{tail}")


def start_server(args: argparse.Namespace, env: dict[str, str], port: int, work: Path) -> Child:
    log = work / "server.log"
    command = [sys.executable, __file__, "--serve", "--port", str(port), "--cases",
               str(args.cases), *(["--no-gc-freeze"] if args.no_gc_freeze else [])]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=sink, env=env, start_new_session=True)
    return Child(proc, log)


def stop_server(child: Child) -> None:
    with no_interrupts():
        with contextlib.suppress(OSError):
            child.send("quit")
            assert child.proc.stdin is not None
            child.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=20)
        stop_child(child.proc)


def server_env(work: Path, key: str, database_url: str | None) -> dict[str, str]:
    """This environment without what would point the server elsewhere, plus its own."""
    dropped = re.compile(r"^(\w+_)?DATABASE_URL$|^(PII_KEYS|DEV_API_KEY|DATA_DIR|BUS)$")
    env = {k: v for k, v in os.environ.items() if not dropped.match(k)}
    env.update({"DATA_DIR": str(work / "data"), "DEV_API_KEY": key, "LOG_LEVEL": "WARNING",
                "RATE_LIMIT_PER_S": "1000000", "RATE_LIMIT_BURST": "1000000"})
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@dataclass
class Usage:
    phase: str
    wall_s: float
    server_cpu_s: float
    cores: dict[str, float]
    rss_mib: float


@contextlib.contextmanager
def phase(name: str, pid: int, usages: list[Usage]) -> Iterator[None]:
    """The server's CPU, the other cores and its RSS over one phase of the bench."""
    before = sample({"server": pid})
    yield
    after = sample({"server": pid})
    used, wall = cores(before, after), after.at - before.at
    usages.append(Usage(name, wall, used["server"] * wall, used, proc_rss_mib(pid)))


# ---------------------------------------------------------------- live notices


class Listener:
    """What the SSE clients received: per bench notice its latencies, per complaint the
    arrival times of its `complaint.triaged` notice."""

    def __init__(self) -> None:
        self.hello = 0
        self.fanout: dict[int, list[float]] = defaultdict(list)
        self.arrived: dict[str, list[float]] = defaultdict(list)
        self.levels: dict[str, int] = {}

    def on_event(self, event: str, data: str, now: float) -> None:
        if event == "hello":
            self.hello += 1
        if event != "case":
            return
        notice = json.loads(data)
        if notice.get("topic") == "bench":
            self.fanout[notice["seq"]].append(now - notice["sent"])
        elif notice.get("topic") == ComplaintTriaged.topic:
            self.arrived[notice["complaint_id"]].append(now)
            self.levels[notice["complaint_id"]] = notice.get("response_level", 0)


async def listen(client: httpx.AsyncClient, listener: Listener) -> None:
    """One browser's EventSource: parse the stream, hand each event over as it ends."""
    async with client.stream("GET", "/events") as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"GET /events: HTTP {answer.status_code}")
        event, data = "message", ""
        async for line in answer.aiter_lines():
            if not line:
                listener.on_event(event, data, time.monotonic())
                event, data = "message", ""
                continue
            name, _, value = line.partition(":")
            if name == "event":
                event = value.strip()
            elif name == "data":
                data = value.strip()


async def wait_until(done: Callable[[], bool], within: float,
                     streams: Sequence[asyncio.Task[None]]) -> bool:
    """Poll `done`; False when `within` passed first; a failed stream raises."""
    def finished() -> bool:
        if done():
            return True
        for stream in streams:
            if stream.done():
                stream.result()
                raise RuntimeError("an SSE stream ended")
        return False

    try:
        await until(finished, within=within, what="every stream saw the change", every=0.02)
    except TimeoutError:
        return False
    return True


@dataclass
class Latency:
    label: str
    deliveries_s: list[float]  # every (notice, client) pair
    to_last_s: list[float]  # per notice, to the last client that got it
    expected: int
    extra: str = ""

    @classmethod
    def of(cls, label: str, per_notice: list[list[float]], expected: int,
           extra: str = "") -> Latency:
        return cls(label, sorted(x for xs in per_notice for x in xs),
                   sorted(max(xs) for xs in per_notice if xs), expected, extra)


async def fan_out(child: Child, listener: Listener, streams: Sequence[asyncio.Task[None]],
                  args: argparse.Namespace) -> Latency:
    child.send(f"publish {args.notices} {args.notice_rate}")
    answer = await child.answer(args.notices / args.notice_rate + 60)
    expected = args.notices * args.clients
    await wait_until(lambda: sum(map(len, listener.fanout.values())) >= expected, 10, streams)
    return Latency.of(f"fan-out alone: LiveHub.publish, {args.notices} notices at "
                      f"{args.notice_rate:g}/s", list(listener.fanout.values()), expected,
                      f"hub listeners {answer['listeners']}")


def complaint(i: int) -> dict[str, Any]:
    return {"channel": "hotline", "content": f"{LEVEL_ONE}（基准 {i}）",
            "target": {"department": f"基准测试部{i:03d}"}}


async def end_to_end(client: httpx.AsyncClient, listener: Listener,
                     streams: Sequence[asyncio.Task[None]], args: argparse.Namespace,
                     key: str) -> Latency:
    """POST level-1 complaints paced; from each POST to each client's `case` notice."""
    sent: dict[str, float] = {}
    post_ms: list[float] = []
    started = time.monotonic()
    for i in range(args.complaints):
        await asyncio.sleep(max(0.0, started + i / args.complaint_rate - time.monotonic()))
        posted = time.monotonic()
        answer = await client.post("/api/v1/complaints", json=complaint(i), headers={
            "Authorization": f"Bearer {key}", "Idempotency-Key": f"bench-{uuid.uuid4().hex}"})
        if answer.status_code != 202:
            raise RuntimeError(f"POST /api/v1/complaints: HTTP {answer.status_code}")
        post_ms.append((time.monotonic() - posted) * 1e3)
        sent[answer.json()["id"]] = posted
    await wait_until(lambda: all(len(listener.arrived.get(c, ())) >= args.clients
                                 for c in sent), 30, streams)
    levels = sorted({listener.levels.get(c, 0) for c in sent})
    return Latency.of(f"end to end: {args.complaints} level-1 complaints POSTed at "
                      f"{args.complaint_rate:g}/s", [[t - sent[c] for t in listener.arrived[c]]
                                                     for c in sent],
                      args.complaints * args.clients,
                      f"POST answered p50 {percentile(sorted(post_ms), 0.5):.0f} ms; "
                      f"levels triaged {levels}")


async def live(base_url: str, cookies: httpx.Cookies, child: Child, args: argparse.Namespace,
               key: str, usages: list[Usage]) -> list[Latency]:
    listener = Listener()
    limits = httpx.Limits(max_connections=args.clients + 10)
    async with httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=60,
                                 limits=limits) as client:
        streams = [asyncio.create_task(listen(client, listener)) for _ in range(args.clients)]
        try:
            if not await wait_until(lambda: listener.hello >= args.clients, 30, streams):
                raise RuntimeError(f"only {listener.hello} SSE streams said hello")
            with phase("SSE fan-out", child.proc.pid, usages):
                fanned = await fan_out(child, listener, streams, args)
            with phase("SSE end to end", child.proc.pid, usages):
                ended = await end_to_end(client, listener, streams, args, key)
        finally:
            for stream in streams:
                stream.cancel()
            await asyncio.gather(*streams, return_exceptions=True)
    return [fanned, ended]


# ---------------------------------------------------------------- the run


async def renders(child: Child, base_url: str, args: argparse.Namespace, key: str,
                  lane_size: int, usages: list[Usage]
                  ) -> tuple[dict[str, Timing], dict[str, Timing], httpx.Cookies,
                             list[dict[str, Any]]]:
    pid = child.proc.pid
    with phase("render, in-process", pid, usages):
        child.send(f"inproc {args.requests}")
        inside = {k: Timing(**v) for k, v in (await child.answer(600)).items()}
    child.send("gc")
    collections = [await child.answer(30)]
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await sign_in(client)
        with phase("render, loopback", pid, usages):
            outside = await time_all(client, key, args.requests, lane_size,
                                     lambda: proc_cpu(pid))
        child.send("gc")
        collections.append(await child.answer(30))
        return inside, outside, client.cookies, collections


async def bench(args: argparse.Namespace, env: dict[str, str], key: str, work: Path,
                store: str) -> None:
    port, usages = free_port(), list[Usage]()
    base_url = f"http://127.0.0.1:{port}"
    child = start_server(args, env, port, work)
    try:
        with phase("start and seed", child.proc.pid, usages):
            ready = await child.answer(300)
        print_seeding(args, ready, store)
        with phase("idle", child.proc.pid, usages):
            await asyncio.sleep(IDLE_S)
        inside, outside, cookies, collections = await renders(
            child, base_url, args, key, ready["lane_size"], usages)
        print_renders(args, inside, outside, collections)
        print_live(args, await live(base_url, cookies, child, args, key, usages))
        if args.profile:
            child.send("profile")
            print("\ncProfile of one in-process GET /board (cumulative):\n"
                  + (await child.answer(120))["profile"])
        print_usage(usages, proc_rss_mib(child.proc.pid, "VmHWM"))
    finally:
        stop_server(child)
    print_log_trouble(child.log)


# ---------------------------------------------------------------- printing


def print_seeding(args: argparse.Namespace, ready: dict[str, Any], store: str) -> None:
    print(f"\n{args.cases:,} open cases seeded straight into triage's table triage_cases "
          f"(SQLAlchemy Core, one executemany, no events, no escalation timers) in "
          f"{ready['seed_s']:.2f} s; every service's tables in {store} ({ready['dialect']})")


def print_renders(args: argparse.Namespace, inside: dict[str, Timing],
                  outside: dict[str, Timing], collections: list[dict[str, Any]]) -> None:
    print(f"\nrender time, {args.requests} requests each one after the other after "
          f"{WARMUP} warm-up, signed in as a duty officer (lanes of 50 cards):")
    print(f"  {'':44} {'in-process (ASGITransport)':>28}   {'loopback (uvicorn)':>28}")
    print(f"  {'':44} {'p50':>8} {'p99':>8} {'CPU/req':>10}   {'p50':>8} {'p99':>8} "
          f"{'CPU/req':>10}")
    for label, a in inside.items():
        b = outside[label]
        print(f"  {label:44} {a.p(0.5):6.1f}ms {a.p(0.99):6.1f}ms {a.cpu_ms:8.1f}ms   "
              f"{b.p(0.5):6.1f}ms {b.p(0.99):6.1f}ms {b.cpu_ms:8.1f}ms")
    print("  (CPU/req: the server process's CPU time per request; in-process it includes "
          "the httpx client in that process)")
    for name, timings in (("in-process", inside), ("loopback", outside)):
        board, api = timings[BOARD.label], timings[LANE_CALLS]
        print(f"  GET /board minus its 4 lane calls ({name}): "
              f"{board.p(0.5) - api.p(0.5):.1f} ms p50, {board.cpu_ms - api.cpu_ms:.1f} ms "
              "CPU (templates, session, saved views, forwarding)")
    for name, c in zip(("in-process", "loopback"), collections, strict=True):
        print(f"  full (gen-2) garbage collections in the server during the {name} renders: "
              f"{c['count']}, longest {c['max_ms']:.0f} ms, {c['total_ms']:.0f} ms in all"
              + (" (no gc.freeze())" if args.no_gc_freeze else " (gc.freeze() after start-up)"))
    worst = max(inside[BOARD.label].p(0.99), outside[BOARD.label].p(0.99))
    print(f"  aim: GET /board under {AIM_MS:.0f} ms on the server with {args.cases:,} open "
          f"cases: p99 {worst:.0f} ms (the slower of the two) -> "
          f"{'met' if worst < AIM_MS else 'MISSED'}")


def print_live(args: argparse.Namespace, results: list[Latency]) -> None:
    print(f"\nlive notices to {args.clients} SSE clients (httpx streams, one shared "
          "session), server on loopback:")
    for r in results:
        print(f"  {r.label}: {len(r.deliveries_s):,}/{r.expected:,} delivered ({r.extra})")
        print(f"    each delivery p50 {percentile(r.deliveries_s, 0.5) * 1e3:.1f} ms, "
              f"p99 {percentile(r.deliveries_s, 0.99) * 1e3:.1f} ms; to the last of the "
              f"{args.clients} p50 {percentile(r.to_last_s, 0.5) * 1e3:.1f} ms, "
              f"p99 {percentile(r.to_last_s, 0.99) * 1e3:.1f} ms")


def print_usage(usages: list[Usage], peak_rss: float) -> None:
    print("\nserver process (and the rest of the machine) per phase:")
    print(f"  {'phase':20} {'wall s':>7} {'server CPU s':>13} {'server cores':>13} "
          f"{'loadgen':>8} {'postgres':>9} {'other':>6} {'RSS MiB':>8}")
    for u in usages:
        print(f"  {u.phase:20} {u.wall_s:7.1f} {u.server_cpu_s:13.2f} "
              f"{u.cores['server']:13.2f} {u.cores['loadgen']:8.2f} "
              f"{u.cores['postgres']:9.2f} {u.cores['other']:6.2f} {u.rss_mib:8.0f}"
              + ("  disturbed" if u.cores["other"] > QUIET_CORES else ""))
    print(f"  server peak RSS (VmHWM) {peak_rss:.0f} MiB")
    if any(u.cores["other"] > QUIET_CORES for u in usages):
        print(f"  disturbed: other processes used more than {QUIET_CORES} cores; on a "
              "shared machine compare figures from one run")


def print_log_trouble(log: Path) -> None:
    lines = [line for line in log.read_text(errors="replace").splitlines()
             if any(word in line for word in LOG_TROUBLE)]
    print(f"server log: {len(lines)} lines with {', '.join(LOG_TROUBLE)}")
    for line in lines[:5]:
        print(f"  {line[:300]}")


# ---------------------------------------------------------------- main


def fresh_database(url: str) -> tuple[str, str]:
    """A new database on the server `url` names (127.0.0.1:5432 only); (name, its URL)."""
    parsed = make_url(url)
    if parsed.host != "127.0.0.1" or (parsed.port or 5432) != 5432:
        raise SystemExit("--postgres: only a server on 127.0.0.1:5432")
    name = f"{parsed.database or 'beacon_bench'}_{secrets.token_hex(4)}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    return name, parsed.set(database=name).render_as_string(hide_password=False)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cases", type=int, default=5000, help="open cases seeded")
    parser.add_argument("--requests", type=int, default=50, help="per page and transport")
    parser.add_argument("--clients", type=int, default=50, help="SSE connections")
    parser.add_argument("--notices", type=int, default=200)
    parser.add_argument("--notice-rate", type=float, default=50.0, help="notices per second")
    parser.add_argument("--complaints", type=int, default=20)
    parser.add_argument("--complaint-rate", type=float, default=2.0,
                        help="complaints per second")
    parser.add_argument("--postgres", metavar="URL", help=(
        "every service's tables in a fresh PostgreSQL database on 127.0.0.1:5432, named "
        "after URL's with a random suffix, dropped afterwards"))
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one in-process GET /board")
    parser.add_argument("--no-gc-freeze", action="store_true", help=(
        "leave out the launcher's gc.freeze() after start-up: shows what full collections "
        "of start-up's objects cost the render tail"))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.serve:
        asyncio.run(serve(args))
        return 0
    print(machine_line(), flush=True)
    key = f"bench-{secrets.token_hex(16)}"
    database, url = fresh_database(args.postgres) if args.postgres else (None, None)
    store = (f"PostgreSQL, fresh database {database}, {pg_durability()}" if database
             else "SQLite files (embedded mode)")
    try:
        with tempfile.TemporaryDirectory(prefix="beacon-console-") as tmp:
            asyncio.run(bench(args, server_env(Path(tmp), key, url), key, Path(tmp), store))
    finally:
        if database is not None:
            drop_database(database)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
