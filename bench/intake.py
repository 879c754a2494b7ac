"""Load on POST /api/v1/complaints through the gateway, beside a bare FastAPI endpoint.

    python bench/intake.py                        # bare, proxy, embedded, distributed; 10 s
    python bench/intake.py --systems bare,proxy --profile /tmp/prof   # the hop, profiled
    python bench/intake.py --seconds 3            # a quick run
    python bench/intake.py --systems bare,embedded --clients 64

Each system under test runs in processes of its own, started here and stopped afterwards:
  bare         uvicorn serving one FastAPI route that validates `ComplaintIn` and answers 202
               (the same response model as intake), no storage, no gateway;
  proxy        `python -m services gateway` (as distributed mode runs it) with every service
               URL on a second bare endpoint: the gateway hop alone (auth, rate limit, signed
               caller, the proxy client, the relay) at a rate no service would allow;
  embedded     `python -m services` (gateway + every service in one process, in-memory bus,
               SQLite files in a temporary DATA_DIR);
  distributed  `deploy.local.up`: Tansu + one process per service + the gateway, every service
               on a fresh PostgreSQL database (dropped afterwards).
The gateway's rate limit is lifted (RATE_LIMIT_PER_S=RATE_LIMIT_BURST=1000000).

This process is the load generator: asyncio on uvloop with a minimal HTTP/1.1 keep-alive
client over raw sockets (`--client httpx` uses httpx instead; its connection pool costs more
CPU per request than the servers do, see encode/httpx#3215). Each request has a distinct
body, so no idempotency short-circuit applies. Per system:
  max   closed loop: `--clients` connections send back to back for `--seconds`; accepted/s
        is the number of 2xx answers over the elapsed time; latency per request.
  @70%  open loop at `--fraction` of that maximum for `--seconds`: request n is due at
        start + n/rate whatever happened before it, and its latency runs from that due time
        (no coordinated omission: a stall delays every request due during it).
Between phases the script waits until the servers' CPU falls back to idle, so the backlog
of the max phase (triage, notify, relays) does not run during the @70% phase.
Each phase prints the CPU milliseconds each server process spent per accepted request;
`--profile DIR` records the gateway and intake processes (the one process in embedded mode)
with py-spy during the max phase and prints their top frames.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

# This checkout's packages (deploy.local starts distributed mode), not an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvloop
from _common import (
    CONTENTS,
    PATH,
    RawConnection,
    busy_cpu,
    cores,
    drop_database,
    free_port,
    log_tail,
    machine_line,
    no_interrupts,
    pg_durability,
    sample,
    serve_bare,
    server_cores,
    stop_child,
    wait_child_ready,
)

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("bare", "proxy", "embedded", "distributed")
LABELS = {
    "bare": "bare FastAPI endpoint",
    "proxy": "gateway alone before bare",
    "embedded": "gateway, embedded (SQLite)",
    "distributed": "gateway, distributed (Tansu+PG)",
}
NO_RATE_LIMIT = {"RATE_LIMIT_PER_S": "1000000", "RATE_LIMIT_BURST": "1000000"}
AIM_RATIO = 0.40
AIM_P99_MS = 50.0
READY_TIMEOUT_S = 90.0
LOG_TAIL = 15
QUIET_CORES = 0.3  # other processes busier than this make a phase's figures suspect
LOG_MATCHES = 12


# ---------------------------------------------------------------- processes


@dataclass
class System:
    """One system under test, up and ready."""

    name: str
    url: str
    key: str
    pids: dict[str, int]
    logs: dict[str, Path]
    note: str = ""


@contextlib.contextmanager
def child(argv: list[str], env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=dict(env), cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        with no_interrupts():
            stop_child(proc)


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    wait_child_ready(f"{url}/readyz", proc, log, name=log.stem, within=READY_TIMEOUT_S)


def sut_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "BUS", "PII_KEYS")}
    env.update(NO_RATE_LIMIT)
    env.update(extra)
    return env


@contextlib.contextmanager
def bare_system(work: Path, args: argparse.Namespace) -> Iterator[System]:
    port, log = free_port(), work / "bare.log"
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port),
            "--bare-loop", args.bare_loop]
    with child(argv, sut_env({}), log) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc, log)
        yield System("bare", url, "unused", {"uvicorn": proc.pid}, {"bare": log},
                     f"1 uvicorn process on {args.bare_loop}, no storage")


@contextlib.contextmanager
def proxy_system(work: Path, args: argparse.Namespace) -> Iterator[System]:
    """The gateway as distributed mode runs it, with every service URL on a bare endpoint:
    what the hop alone costs (auth, limits, signing, the proxy client, the relay)."""
    bare_port, port, key = free_port(), free_port(), new_key()
    bare_log, log = work / "proxy-bare.log", work / "proxy-gateway.log"
    bare = f"http://127.0.0.1:{bare_port}"
    env = sut_env({"DATA_DIR": str(work / "proxy"), "GATEWAY_PORT": str(port),
                   "DEV_API_KEY": key, "BEACON_INTERNAL_SECRET": secrets.token_urlsafe(24),
                   **{f"{name}_URL": bare
                      for name in ("INTAKE", "TRIAGE", "NOTIFY", "SENTIMENT", "DRILL")}})
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(bare_port),
            "--bare-loop", args.bare_loop]
    with child(argv, sut_env({}), bare_log) as upstream:
        wait_ready(bare, upstream, bare_log)
        with child([sys.executable, "-m", "services", "gateway"], env, log) as proc:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, proc, log)
            yield System("proxy", url, key, {"gateway": proc.pid, "uvicorn": upstream.pid},
                         {"gateway": log, "bare": bare_log},
                         "the gateway (SQLite key store, no bus) before a bare endpoint")


@contextlib.contextmanager
def embedded_system(work: Path, _args: argparse.Namespace) -> Iterator[System]:
    port, key, log = free_port(), new_key(), work / "embedded.log"
    env = sut_env({"DATA_DIR": str(work / "embedded"), "GATEWAY_PORT": str(port),
                   "DEV_API_KEY": key})
    with child([sys.executable, "-m", "services"], env, log) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc, log)
        yield System("embedded", url, key, {"beacon": proc.pid}, {"embedded": log},
                     "1 process; SQLite WAL synchronous=NORMAL; in-memory bus")


@contextlib.contextmanager
def distributed_system(work: Path, _args: argparse.Namespace) -> Iterator[System]:
    from deploy import local

    database = f"beacon_bench_{uuid.uuid4().hex[:12]}"
    key, data_dir = new_key(), work / "distributed"
    env = sut_env({
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
        "GATEWAY_PORT": str(free_port()), "KAFKA_PORT": str(free_port()), "DEV_API_KEY": key,
    })
    try:
        state = local.up(env, data_dir, timeout=READY_TIMEOUT_S)
        yield System("distributed", state.gateway_url, key,
                     {p.name: p.pid for p in state.processes},
                     {p.name: Path(p.log) for p in state.processes},
                     f"Tansu (memory storage) + {len(state.processes) - 1} processes; "
                     f"PostgreSQL database {database} ({pg_durability()})")
    finally:
        with no_interrupts():
            local.down(data_dir)
            drop_database(database)


def new_key() -> str:
    return f"bench-{secrets.token_hex(16)}"


Starter = Callable[[Path, argparse.Namespace], contextlib.AbstractContextManager[System]]
STARTERS: dict[str, Starter] = {
    "bare": bare_system, "proxy": proxy_system, "embedded": embedded_system,
    "distributed": distributed_system,
}


# ---------------------------------------------------------------- CPU accounting


def machine_busy(seconds: float = 2.0) -> float:
    before, started = busy_cpu(), time.monotonic()
    time.sleep(seconds)
    return (busy_cpu() - before) / (time.monotonic() - started)


def wait_machine_quiet(limit: float) -> float:
    """Cores the machine is busy with before a system starts; waits up to `limit` s for
    other work (not ours) to fall below QUIET_CORES."""
    deadline = time.monotonic() + limit
    while True:
        busy = machine_busy()
        if busy < QUIET_CORES or time.monotonic() > deadline:
            return busy


def wait_quiet(system: System, idle: float, limit: float) -> float | None:
    """Seconds until the servers (and postgres) are back to idle CPU; None if not in `limit`."""
    started = time.monotonic()
    before = sample(system.pids)
    while time.monotonic() - started < limit:
        time.sleep(0.5)
        after = sample(system.pids)
        if server_cores(cores(before, after)) < idle + 0.1:
            return time.monotonic() - started
        before = after
    return None


# ---------------------------------------------------------------- HTTP client


class Connection(Protocol):
    async def post(self, request: bytes, body: bytes) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


class HttpxConnection:
    """The same interface over one shared httpx.AsyncClient (its pool holds the sockets)."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self.client, self.url, self.headers = client, url, headers

    async def post(self, request: bytes, body: bytes) -> tuple[int, bytes]:
        response = await self.client.post(self.url, content=body, headers=self.headers)
        return response.status_code, response.content

    async def close(self) -> None:
        return None


# ---------------------------------------------------------------- load


@dataclass
class Target:
    url: str
    key: str
    client: str
    timeout: float
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    numbers: Iterator[int] = field(default_factory=itertools.count)
    httpx_client: httpx.AsyncClient | None = None

    def body(self, n: int) -> bytes:
        complaint = {
            "channel": "hotline",
            "content": f"{CONTENTS[n % len(CONTENTS)]}（bench {self.run} #{n}）",
            "complainant": {"name": "张三", "phone": f"138{n % 100_000_000:08d}"},
            "target": {"department": "售后"},
        }
        return json.dumps(complaint, ensure_ascii=False).encode()

    def request(self) -> tuple[bytes, bytes]:
        body = self.body(next(self.numbers))
        host = urlsplit(self.url).netloc
        head = (f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {self.key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body, body

    def connection(self) -> Connection:
        if self.client == "httpx":
            assert self.httpx_client is not None
            headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
            return HttpxConnection(self.httpx_client, self.url + PATH, headers)
        parts = urlsplit(self.url)
        return RawConnection(parts.hostname or "127.0.0.1", parts.port or 80)


@dataclass
class Tally:
    """Outcomes of one phase."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        self.samples.setdefault(kind, detail[:300])

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def send_one(conn: Connection, target: Target, tally: Tally, since: float) -> None:
    """One request; its latency counts from `since` (sent time, or due time in open loop)."""
    request, body = target.request()
    try:
        async with asyncio.timeout(target.timeout):
            status, answer = await conn.post(request, body)
    except Exception as exc:
        await conn.close()
        tally.error(type(exc).__name__, str(exc) or repr(exc))
        return
    if 200 <= status < 300:
        tally.latencies.append(time.perf_counter() - since)
    else:
        tally.error(f"HTTP {status}", answer.decode(errors="replace"))


async def closed_loop(target: Target, clients: int, seconds: float) -> Tally:
    tally = Tally(started=time.perf_counter())
    end = tally.started + seconds

    async def client() -> None:
        conn = target.connection()
        try:
            while time.perf_counter() < end:
                await send_one(conn, target, tally, time.perf_counter())
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    tally.ended = time.perf_counter()
    return tally


async def open_loop(target: Target, rate: float, seconds: float, connections: int) -> Tally:
    """Request n is due at start + n/rate; a free connection takes the next due request."""
    tally = Tally(started=time.perf_counter() + 0.05)
    total, due_numbers = int(rate * seconds), itertools.count()

    async def client() -> None:
        conn = target.connection()
        try:
            while (n := next(due_numbers)) < total:
                due = tally.started + n / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await send_one(conn, target, tally, due)
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    tally.ended = time.perf_counter()
    return tally


PhaseFn = Callable[[], Awaitable[Tally]]


async def with_client(target: Target, phase: PhaseFn) -> Tally:
    """Run one phase, inside an httpx.AsyncClient when `--client httpx`."""
    if target.client != "httpx":
        return await phase()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(limits=limits, timeout=target.timeout) as client:
        target.httpx_client = client
        try:
            return await phase()
        finally:
            target.httpx_client = None


def run_phase(target: Target, phase: PhaseFn) -> Tally:
    return uvloop.run(with_client(target, phase))


# ---------------------------------------------------------------- one system


@dataclass
class Phase:
    tally: Tally
    used: dict[str, float]
    rate: float = 0.0  # the open loop's target rate
    idle: dict[str, float] = field(default_factory=dict)  # each process's cores at rest

    @property
    def accepted_per_s(self) -> float:
        return self.tally.ok / self.tally.seconds if self.tally.seconds > 0 else 0.0


@dataclass
class Outcome:
    name: str
    peak: Phase | None = None
    steady: Phase | None = None
    warmup_errors: int = 0
    failure: str | None = None
    log_findings: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        phases = [p for p in (self.peak, self.steady) if p is not None]
        return self.warmup_errors + sum(sum(p.tally.errors.values()) for p in phases)


def measured(system: System, target: Target, phase: PhaseFn) -> Phase:
    before = sample(system.pids)
    tally = run_phase(target, phase)
    return Phase(tally, cores(before, sample(system.pids)))


FRAME = re.compile(r"^(.*) \((?:.*/)?([^/:]+)(?::\d+)?\)$")  # "f (dir/file.py:12)"


def py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else "py-spy"


@contextlib.contextmanager
def profiled(system: System, args: argparse.Namespace, phase: str) -> Iterator[None]:
    """py-spy on the gateway and intake processes (the whole process in embedded mode) for
    the phase: a collapsed-stack file per process under `--profile DIR` and its top frames
    printed. Only samples of the thread holding the GIL (`--gil`): without it, py-spy here
    counts threads blocked in C (aiosqlite's workers waiting on their queue) as busy. So
    SQLite's own work, done without the GIL, is not in these profiles."""
    if not args.profile:
        yield
        return
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    recorders = {}
    for name in (n for n in system.pids if n in ("gateway", "beacon") or n.startswith("intake")):
        path = out / f"{system.name}-{name}-{phase}.txt"
        recorders[name, path] = subprocess.Popen(
            [py_spy(), "record", "--pid", str(system.pids[name]), "--format", "raw",
             "--rate", "200", "--nonblocking", "--gil", "--output", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        for (name, path), recorder in recorders.items():
            recorder.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                recorder.wait(timeout=30)
            say(f"    py-spy {name} ({path}):\n" + top_frames(path))


def top_frames(path: Path, shown: int = 12) -> str:
    """The functions holding most samples of a collapsed-stack file: self and inclusive."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            frames = [FRAME.sub(r"\1 (\2)", f) for f in stack.split(";")]
            total += int(count)
            own[frames[-1]] += int(count)
            for frame in set(frames):
                inclusive[frame] += int(count)
    if not total:
        return "      (no samples)"
    lines = [f"      self {n / total:5.1%}  {frame}" for frame, n in own.most_common(shown)]
    # Inclusive: below the event loop and the server (which hold nearly every sample).
    below = [(f, n) for f, n in inclusive.most_common() if n / total < 0.9][:shown * 2]
    lines += [f"      incl {n / total:5.1%}  {frame}" for frame, n in below]
    return "\n".join(lines)


def idle_cores(system: System, seconds: float = 2.0) -> dict[str, float]:
    """Cores each server process uses with no load (relay polls, consumers' fetches)."""
    before = sample(system.pids)
    time.sleep(seconds)
    used = cores(before, sample(system.pids))
    return {name: value for name, value in used.items() if name not in ("loadgen", "other")}


def describe_cpu(used: Mapping[str, float]) -> str:
    parts = [f"{name} {value:.2f}" for name, value in used.items() if value >= 0.005]
    return "cores used: " + (", ".join(parts) or "none")


def cpu_ms_per_request(phase: Phase, process: str) -> float | None:
    """Milliseconds of `process`'s CPU per accepted request over the phase."""
    if process not in phase.used or not phase.tally.ok:
        return None
    return phase.used[process] * phase.tally.seconds / phase.tally.ok * 1000


def describe_cpu_per_request(phase: Phase) -> str:
    names = [n for n in phase.used if n not in ("loadgen", "other", "postgres")]
    parts = [f"{n} {cpu_ms_per_request(phase, n) or 0.0:.2f}" for n in names]
    line = "CPU ms per accepted request: " + ", ".join(parts)
    if phase.idle and phase.tally.ok:
        # At a low rate the fixed cost (polls, fetches) is most of a process's CPU: this
        # line is what the requests added to it.
        scale = phase.tally.seconds / phase.tally.ok * 1000
        above = [f"{n} {max(0.0, phase.used[n] - phase.idle.get(n, 0.0)) * scale:.2f}"
                 for n in names]
        line += "\n    above idle: " + ", ".join(above)
    return line


def describe_phase(title: str, phase: Phase) -> str:
    t = phase.tally
    errors = sum(t.errors.values())
    lines = [f"  {title}: {t.ok:,} accepted in {t.seconds:.1f} s = {phase.accepted_per_s:,.1f}/s; "
             f"p50 {t.percentile_ms(0.5):.1f} ms, p99 {t.percentile_ms(0.99):.1f} ms; "
             f"{errors} errors",
             f"    {describe_cpu(phase.used)}",
             f"    {describe_cpu_per_request(phase)}"]
    lines += [f"    error {kind} x{count}: {t.samples[kind]}" for kind, count in t.errors.items()]
    if disturbed(phase):
        lines.append(f"    (!) other processes used {phase.used['other']:.2f} cores meanwhile: "
                     "this phase's figures are disturbed")
    return "\n".join(lines)


def disturbed(phase: Phase) -> bool:
    return phase.used.get("other", 0.0) > QUIET_CORES


def say(text: str) -> None:
    print(text, flush=True)


def exercise(system: System, args: argparse.Namespace, outcome: Outcome) -> None:
    target = Target(system.url, system.key, args.client, args.timeout)
    at_rest = idle_cores(system)
    idle = server_cores(at_rest)
    say(f"  idle: servers use {idle:.2f} cores ({describe_cpu(at_rest).split(': ', 1)[1]})")
    warm = run_phase(target, lambda: closed_loop(target, args.clients, args.warmup))
    outcome.warmup_errors = sum(warm.errors.values())
    say(f"  warm-up {args.warmup:.0f} s: {warm.ok:,} accepted, {outcome.warmup_errors} errors")
    quiet(system, idle, args.drain_max, "warm-up")
    with profiled(system, args, "max"):
        outcome.peak = measured(system, target,
                                lambda: closed_loop(target, args.clients, args.seconds))
    outcome.peak.idle = at_rest
    say(describe_phase(f"max (closed loop, {args.clients} clients, {args.seconds:.0f} s)",
                       outcome.peak))
    quiet(system, idle, args.drain_max, "max phase")
    rate = outcome.peak.accepted_per_s * args.fraction
    if rate <= 0:
        return
    outcome.steady = measured(system, target,
                              lambda: open_loop(target, rate, args.seconds, args.connections))
    outcome.steady.rate = rate
    outcome.steady.idle = at_rest
    say(describe_phase(f"@{args.fraction:.0%} (open loop, {rate:,.1f}/s due, "
                       f"{args.connections} connections)", outcome.steady))
    quiet(system, idle, args.drain_max, f"@{args.fraction:.0%} phase")


def quiet(system: System, idle: float, limit: float, after: str) -> None:
    took = wait_quiet(system, idle, limit)
    if took is None:
        say(f"    servers still busy {limit:.0f} s after the {after} (backlog not drained)")
    elif took > 1.0:
        say(f"    servers back to idle {took:.1f} s after the {after} (backlog drained)")


LOG_PATTERNS = {
    "ERROR": re.compile(r"\bERROR\b|\bCRITICAL\b"),
    "WARNING": re.compile(r"\bWARNING\b"),
    "Traceback": re.compile(r"Traceback"),
    "database is locked": re.compile(r"database is locked"),
    "timed out": re.compile(r"TimeoutError|timed out"),
}


def scan_logs(system: System) -> tuple[Counter[str], list[str]]:
    """How often each pattern occurs in the servers' logs, and the first lines that match."""
    found: Counter[str] = Counter()
    lines: list[str] = []
    for name, path in system.logs.items():
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                hits = [k for k, rx in LOG_PATTERNS.items() if rx.search(line)]
                found.update(hits)
                if hits and len(lines) < LOG_MATCHES:
                    lines.append(f"    | {name}: {line[:400]}")
    return found, lines


def report_logs(system: System, outcome: Outcome) -> None:
    found, lines = scan_logs(system)
    outcome.log_findings = dict(found)
    if found:
        say("  server logs: " + ", ".join(f"{k} x{v}" for k, v in found.items())
            + f"; first {len(lines)} such lines:\n" + "\n".join(lines))
    if outcome.errors:
        for name, path in system.logs.items():
            say(f"  end of {name} log ({path}):\n{log_tail(path, LOG_TAIL)}")


def run_system(name: str, args: argparse.Namespace, work: Path) -> Outcome:
    outcome = Outcome(name)
    say(f"\n== {LABELS[name]} ==")
    busy = wait_machine_quiet(args.quiet_wait)
    say(f"  before start the machine is busy with {busy:.2f} cores of other work"
        + (" (!) - not quiet" if busy >= QUIET_CORES else ""))
    started = time.monotonic()
    try:
        with STARTERS[name](work, args) as system:
            say(f"  up in {time.monotonic() - started:.1f} s at {system.url}: {system.note}")
            try:
                exercise(system, args, outcome)
            finally:
                report_logs(system, outcome)
    except Exception as exc:
        outcome.failure = f"{type(exc).__name__}: {exc}"
        say(f"  FAILED: {outcome.failure}")
    return outcome


# ---------------------------------------------------------------- summary


def code_version() -> str:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
               if line.strip()]
    return (f"code: {git('rev-parse', '--short', 'HEAD') or 'unknown'}"
            + (f" plus uncommitted changes to {len(changed)} tracked files" if changed else ""))


def settings_line(args: argparse.Namespace) -> str:
    return (f"settings: {args.seconds:.0f} s per phase (+{args.warmup:.0f} s warm-up), "
            f"{args.clients} closed-loop clients, open loop at {args.fraction:.0%} over "
            f"{args.connections} connections, request timeout {args.timeout:.0f} s, "
            f"client {args.client} on uvloop; servers run with "
            + " ".join(f"{k}={v}" for k, v in NO_RATE_LIMIT.items())
            + f", LOG_LEVEL={os.environ.get('LOG_LEVEL', 'INFO (default)')}")


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None or value != value else format(value, spec)


def table_row(outcome: Outcome) -> str:
    label = f"{LABELS[outcome.name]:<32}"
    if outcome.peak is None:
        first = (outcome.failure or "no result").splitlines()[0]
        return f"{label} | failed: {first[:150]}"
    p, s = outcome.peak, outcome.steady
    steady = (f"{fmt(s.tally.percentile_ms(0.5)):>8} | {fmt(s.tally.percentile_ms(0.99)):>8} | "
              f"{sum(s.tally.errors.values()):>6}") if s else f"{'-':>8} | {'-':>8} | {'-':>6}"
    mark = "*" if disturbed(p) or (s is not None and disturbed(s)) else " "
    return (f"{label} | {p.accepted_per_s:>11,.1f}{mark} | {fmt(p.tally.percentile_ms(0.5)):>8} | "
            f"{fmt(p.tally.percentile_ms(0.99)):>8} | {sum(p.tally.errors.values()):>6} | "
            + steady)


def print_table(outcomes: list[Outcome]) -> None:
    say("\n" + f"{'system':<32} | {'max accept/s':>12} | {'p50 ms':>8} | {'p99 ms':>8} | "
        f"{'errors':>6} | {'@70% p50':>8} | {'@70% p99':>8} | {'errors':>6}")
    say("-" * 113)
    for outcome in outcomes:
        say(table_row(outcome))
    if any(disturbed(p) for o in outcomes for p in (o.peak, o.steady) if p is not None):
        say(f"* other processes on the machine used more than {QUIET_CORES} cores during a "
            "phase of this system: its figures are disturbed")


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def print_aims(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    by_name = {o.name: o for o in outcomes}
    bare = by_name.get("bare")
    bare_rate = bare.peak.accepted_per_s if bare and bare.peak else None
    say("")
    for name in ("proxy", "embedded", "distributed"):
        outcome = by_name.get(name)
        if outcome is None:
            continue
        rate = outcome.peak.accepted_per_s if outcome.peak else 0.0
        if bare_rate:
            ratio = rate / bare_rate
            say(f"ratio gateway({name})/bare = {rate:,.1f}/{bare_rate:,.1f} = {ratio:.1%}  "
                f"(aim >= {AIM_RATIO:.0%}: {verdict(ratio >= AIM_RATIO)})")
        p99 = outcome.steady.tally.percentile_ms(0.99) if outcome.steady else float("nan")
        logged = outcome.log_findings.get("ERROR", 0) + outcome.log_findings.get("Traceback", 0)
        clean = outcome.errors == 0 and logged == 0 and outcome.failure is None
        say(f"  {name}: p99 at {args.fraction:.0%} of max = {fmt(p99)} ms "
            f"(aim < {AIM_P99_MS:.0f} ms: {verdict(p99 < AIM_P99_MS)}); "
            f"{outcome.errors} HTTP errors, {logged} ERROR/Traceback lines in server logs "
            f"(aim zero errors: {verdict(clean)})")


def print_caveats(outcomes: list[Outcome]) -> None:
    say("\ncaveat: the load generator shares this machine's cores with the servers (and, in "
        "distributed mode, with Tansu and PostgreSQL); nothing is pinned.")
    for outcome in outcomes:
        if outcome.peak is not None:
            used = outcome.peak.used
            say(f"  {outcome.name} max phase: load generator {used['loadgen']:.2f} cores, servers "
                f"{server_cores(used):.2f}, other processes {used['other']:.2f}")


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--warmup", type=float, default=None,
                        help="closed-loop warm-up before measuring (default: min(2, seconds/3))")
    parser.add_argument("--clients", type=int, default=32, help="closed-loop connections")
    parser.add_argument("--connections", type=int, default=None,
                        help="open-loop connections (default: as many as --clients)")
    parser.add_argument("--fraction", type=float, default=0.7, help="open-loop share of max")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument("--drain-max", type=float, default=45.0,
                        help="longest wait for the servers to go idle between phases")
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="longest wait for other work on the machine to stop before each "
                             "system starts")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"comma-separated subset of {','.join(SYSTEMS)}")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument("--bare-loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="event loop of the bare endpoint (Beacon's launcher runs on asyncio)")
    parser.add_argument("--profile", metavar="DIR",
                        help="record the gateway and intake with py-spy during the max phase "
                             "(py-spy: the dev extra, or on PATH; root or ptrace rights); "
                             "collapsed stacks go to DIR")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(2.0, args.seconds / 3)
    if args.connections is None:
        args.connections = args.clients
    unknown = set(args.systems.split(",")) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    return args


def raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare, args.bare_loop)
        return 0
    signal.signal(signal.SIGTERM, raise_interrupt)
    say(machine_line())
    say(code_version())
    say(settings_line(args))
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="beacon-bench-intake-") as tmp:
        for name in (s for s in SYSTEMS if s in args.systems.split(",")):
            outcomes.append(run_system(name, args, Path(tmp)))
    print_table(outcomes)
    print_aims(outcomes, args)
    print_caveats(outcomes)
    return 0 if all(o.failure is None and o.errors == 0 for o in outcomes) else 1  # HTTP only


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted; the systems under test were stopped", file=sys.stderr)
        sys.exit(130)
