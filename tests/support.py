"""A probe service for backbone tests: one table of effects, an outbox, an inbox, and a
handler that records each event it applies (or fails on purpose for poison events)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, overload
from urllib.parse import unquote

import asyncpg
import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    make_url,
    select,
    text,
)

from deploy.support import until, wait_until
from notify_svc.roster import load_roster
from sentiment_svc.state import MentionIntakeState
from services.console.users import Role, UserStore
from services.launcher import Embedded, build_embedded
from services.settings import GatewaySettings
from shared.bus import Bus, BusMessage, MemoryBroker
from shared.bus.kafka import KafkaBus
from shared.caller import CALLER_KEY_ID, CALLER_OWNER, CALLER_SCOPES, Caller, signed_headers
from shared.db import Database
from shared.events import Envelope, EventPayload
from shared.events.registry import dataschema_uri, register, schema_for
from shared.inbox import inbox_table
from shared.logctx import ACCESS_LOGGER, configure_logging
from shared.outbox import outbox_table
from shared.runtime import ServiceRuntime, Unit
from shared.settings import BusSettings, ServiceSettings

# Services believe only callers the gateway signed: a test that calls a service directly signs
# its x-beacon-* headers as the gateway would (with the secret the service checks).
TEST_INTERNAL_SECRET = "test-internal-secret-0123456789"
T = TypeVar("T")


class AsGateway(httpx.Auth):
    """Signs each request for the caller its x-beacon-* headers name (anonymous if none)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        caller = Caller(request.headers.get(CALLER_KEY_ID) or None,
                        request.headers.get(CALLER_OWNER) or None,
                        frozenset(request.headers.get(CALLER_SCOPES, "").split()))
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.headers.update(signed_headers(self.secret, caller, request.method,
                                              unquote(request.url.path), request_id))
        yield request


def as_gateway(app: FastAPI) -> AsGateway:
    """The signer for requests sent straight to one service's app."""
    return AsGateway(app.state.internal_secret)


metadata = MetaData()
effects = Table(
    "probe_effects", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("event_key", String(100), nullable=False),
    Column("n", Integer, nullable=False),
    Column("applied_by", String(50), nullable=False),
)
outbox_table(metadata, "probe")
inbox_table(metadata, "probe")


class Happened(EventPayload):
    key: str
    n: int
    poison: bool = False


def register_topic(topic: str) -> None:
    """Register a subclass of Happened of its own for `topic` (one class, one topic)."""
    register(topic, 1)(type(f"Happened_{topic.replace('.', '_')}", (Happened,), {}))


def new_topic() -> str:
    """A topic (and event type) of the test's own, so tests sharing a broker never mix."""
    topic = f"probe.{uuid.uuid4().hex[:10]}"
    register_topic(topic)
    return topic


def happened_class(topic: str) -> type[Happened]:
    """The Happened class `topic` was registered with."""
    model = schema_for(topic, dataschema_uri(topic, 1))
    assert issubclass(model, Happened)
    return model


def on_topic(topic: str, event: Happened) -> Happened:
    """`event` as an event of `topic` (its class's): what a probe emits."""
    return happened_class(topic).model_validate(event.model_dump())


class Conditions:
    """Wakes whoever waits for a condition each time something new is observed."""

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], bool], asyncio.Event]] = []

    def _changed(self) -> None:
        for condition, event in self._waiters:
            if condition():
                event.set()

    async def wait_for(self, condition: Callable[[], bool], within: float = 30.0) -> None:
        """Wait until `condition` holds after some observation."""
        if condition():
            return
        event = asyncio.Event()
        self._waiters.append((condition, event))
        try:
            await asyncio.wait_for(event.wait(), within)
        finally:
            self._waiters.remove((condition, event))


class Tally(Conditions):
    """Counts outcomes across one or more probes (or a service's runtime listeners)."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: Counter[str] = Counter()

    def observe(self, outcome: str, _delivery: BusMessage) -> None:
        self.outcomes[outcome] += 1
        self._changed()

    async def applied(self, count: int, within: float = 30.0) -> None:
        await self.wait_for(lambda: self.outcomes["applied"] >= count, within)


@contextlib.asynccontextmanager
async def own_database(pg_url: str) -> AsyncIterator[str]:
    """A database of its own on the test's PostgreSQL server, dropped afterwards; its
    SQLAlchemy URL (the `pg_database` fixture's, for a test that needs several)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    admin = await asyncpg.connect(dsn + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@overload
async def eventually(check: Callable[[], Awaitable[T | None]], what: str, *,
                     within: float = 30.0, every: float = 0.1) -> T: ...
@overload
async def eventually(check: Callable[[], T | None], what: str, *, within: float = 30.0,
                     every: float = 0.1) -> T: ...
async def eventually(check: Callable[[], object], what: str, *, within: float = 30.0,
                     every: float = 0.1) -> object:
    """Poll `check` (a function, or a coroutine function) every `every` seconds until it
    gives a truthy value, and return that value; TimeoutError naming `what` after `within`
    seconds. The suite's one poll (deploy.support's, which deploy and bench use too), for
    what no event announces (rows another process or replica writes, a consumer group's
    rebalance, a port opening); where an event can be awaited, await it (Conditions).
    Synchronous tests use `eventually_blocking`."""
    return await until(check, within=within, what=what, every=every)


def eventually_blocking(check: Callable[[], T | None], what: str, *, within: float = 30.0,
                        every: float = 0.1) -> T:
    """`eventually` for synchronous tests, which have no event loop to poll on (real
    processes reached through blocking clients, as tests/e2e does)."""
    return wait_until(check, within=within, what=what, every=every)


async def waits_on_a_lock(db: Database) -> bool:
    """Whether a session of this database waits on a lock (PostgreSQL): the second writer of
    an event-level race has reached the first's row."""
    async with db.session() as session:
        return bool(await session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")))


class Probe:
    """One replica of the probe service."""

    def __init__(self, url: str, bus: Bus, topic: str, *, schema: str | None = None,
                 label: str = "probe", group: str = "probe", tally: Tally | None = None,
                 many: bool = False, wants: Callable[[Envelope], bool] | None = None) -> None:
        settings = ServiceSettings(service_name="probe", database_url=url,
                                   outbox_idle_poll_s=0.05)
        self.runtime = ServiceRuntime("probe", settings, metadata, migrations=None, bus=bus,
                                      schema=schema)
        self.topic, self.label = topic, label
        self.tally = tally or Tally()
        self.batches: list[list[int]] = []  # what the many-handler was given (`many=True`)
        self.runtime.on([happened_class(topic)], self._apply, group=group,
                        many=self._apply_many if many else None, wants=wants)
        self.runtime.listeners.append(self.tally.observe)

    async def _apply_many(self, unit: Unit, events: list[Envelope]) -> None:
        """The set-based handler: every effect in one statement; a poison fails them all."""
        data = [(event, event.payload()) for event in events]
        self.batches.append([d.n for _, d in data if isinstance(d, Happened)])
        if any(isinstance(d, Happened) and d.poison for _, d in data):
            raise RuntimeError("a poison event in the batch")
        await unit.session.execute(insert(effects), [
            {"event_id": event.id, "event_key": d.key, "n": d.n, "applied_by": self.label}
            for event, d in data if isinstance(d, Happened)])

    async def _apply(self, unit: Unit, event: Envelope) -> None:
        data = event.payload()
        assert isinstance(data, Happened)
        if data.poison:
            raise RuntimeError(f"poison event n={data.n}")
        await unit.session.execute(insert(effects).values(
            event_id=event.id, event_key=data.key, n=data.n, applied_by=self.label))

    async def emit(self, events: list[Happened]) -> None:
        async with self.runtime.unit() as unit:
            for data in events:
                await unit.emit(on_topic(self.topic, data), subject=data.key)

    async def effects(self) -> list[tuple[str, int, str, str]]:
        async with self.runtime.db.session() as session:
            rows = await session.execute(
                select(effects.c.event_key, effects.c.n, effects.c.event_id,
                       effects.c.applied_by).order_by(effects.c.id))
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def claimed(self) -> int:
        """The inbox rows: events claimed (applied once) by this service's groups."""
        async with self.runtime.db.session() as session:
            return int(await session.scalar(
                select(func.count()).select_from(self.runtime.inbox)) or 0)

    async def effect_count(self) -> int:
        async with self.runtime.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(effects)) or 0)


def events_for(keys: int, per_key: int, *, start: int = 0) -> list[Happened]:
    """`per_key` events on each of `keys` keys, interleaved, numbered in order per key."""
    return [Happened(key=f"k{k}", n=start + i) for i in range(per_key) for k in range(keys)]


def assert_once_in_order(rows: list[tuple[str, int, str, str]], expected: list[Happened]) -> None:
    """Every expected event applied exactly once, and each key's events in emit order."""
    applied = [(key, n) for key, n, _, _ in rows]
    assert sorted(applied) == sorted((e.key, e.n) for e in expected)
    assert len({event_id for _, _, event_id, _ in rows}) == len(rows)
    by_key: dict[str, list[int]] = {}
    for key, n in applied:
        by_key.setdefault(key, []).append(n)
    for key, numbers in by_key.items():
        assert numbers == sorted(numbers), f"key {key} out of order: {numbers}"


# As root in a closed network: no sandbox, and none of Chromium's own calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CSRF_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_in(page: str) -> str:
    """The CSRF token a console page carries in its forms."""
    found = CSRF_IN_PAGE.search(page)
    if found is None:
        raise AssertionError("no csrf_token on the page")
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> str:
    """Sign a console user in through the login form; returns the session's CSRF token.
    The client keeps the session cookie."""
    form = await client.get("/login")
    answer = await client.post("/login", data={
        "username": username, "password": password, "csrf_token": csrf_token_in(form.text),
        "next": "/board"})
    if answer.status_code != 303:
        raise AssertionError(f"sign-in refused: {answer.status_code}")
    board = await client.get("/board")
    return csrf_token_in(board.text)


# The whole system in embedded mode, in this test's process, reached through the gateway.
ADMIN = "test-admin-key-0123456789"
KEYS = {
    "hotline-a": ("hotline-a", {"complaints:write", "complaints:read"}),
    "hotline-b": ("hotline-b", {"complaints:write", "complaints:read"}),
    "operator": ("ops", {"cases:read", "cases:write"}),
    "operator-pii": ("ops", {"cases:read", "pii:read"}),
    # The leadership (追责问责): what the console's leader role holds.
    "leader": ("lead", {"cases:read", "cases:write", "accountability"}),
}


@dataclass
class System:
    embedded: Embedded
    client: httpx.AsyncClient
    notified: Tally

    def as_key(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer key-{name}"}

    async def complaints_stored(self) -> int:
        runtime = self.embedded.services["intake"].state.runtime
        table = runtime.metadata.tables["intake_complaints"]
        async with runtime.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)


class SseParser:
    """Lines of a text/event-stream answer in, events ({"id", "event", "data"}) out."""

    def __init__(self) -> None:
        self.event: dict[str, str] = {}

    def feed(self, line: str) -> dict[str, str] | None:
        if not line:
            done, self.event = self.event, {}
            return done or None
        field, _, value = line.partition(":")
        if field:
            self.event[field] = value.removeprefix(" ")
        return None


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    parser = SseParser()
    async for line in response.aiter_lines():
        if (event := parser.feed(line)) is not None:
            yield event


def sse_events_sync(response: httpx.Response) -> Iterator[dict[str, str]]:
    parser = SseParser()
    for line in response.iter_lines():
        if (event := parser.feed(line)) is not None:
            yield event


# Console users for tests: one per role, all with this password.
PASSWORD = "correct horse battery staple"
PEOPLE: dict[str, tuple[Role, bool]] = {
    "duty": ("duty_officer", False),
    "duty-pii": ("duty_officer", True),
    "leader": ("leader", False),
    "opinion": ("opinion_officer", False),
}


@dataclass
class ConsoleWorld:
    """The embedded system with console users; `browser()` is a cookie-keeping client with
    no API key, as a browser would be."""

    system: System
    users: UserStore

    def browser(self, base_url: str = "http://beacon") -> httpx.AsyncClient:
        app = self.system.embedded.gateway
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@contextlib.contextmanager
def log_lines(log_format: str, level: str = "DEBUG") -> Iterator[io.StringIO]:
    """Beacon's own log handler (`shared.logctx.configure_logging`) writing `log_format`
    lines into the buffer yielded, for the block; the root logger is restored after."""
    root = logging.getLogger()
    before_level, before = root.level, list(root.handlers)
    buffer = io.StringIO()
    handler = configure_logging(level, service="test-process",
                                env={"LOG_FORMAT": log_format}, stream=buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for old in before:
            if old not in root.handlers:
                root.addHandler(old)
        root.setLevel(before_level)
        logging.getLogger(ACCESS_LOGGER).disabled = False


# --- real HTTP on loopback (tests/security) -------------------------------------------------

@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


async def raw_request(port: int, head: bytes, body: bytes = b"") -> RawAnswer:
    """Send bytes as they are (no client normalises the path) and read the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    start, _, rest = data.partition(b"\r\n")
    header_block, _, payload = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in header_block.split(b"\r\n"):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(start.split()[1]), headers, payload)


def request_head(method: str, target: str, headers: dict[str, str] | None = None,
                 body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: beacon", "Connection: close",
             f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@contextlib.asynccontextmanager
async def serving(app: FastAPI, *, trusted_proxies: list[str] | None = None
                  ) -> AsyncIterator[int]:
    """`app` behind uvicorn on a loopback port, configured as the launcher configures it
    (its lifespan is the caller's); yields the port."""
    from deploy.support import free_port
    from services.launcher import server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, "warning",
                                          trusted_proxies=trusted_proxies or []))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), "the server started",
                     within=20)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


class TcpGate(Conditions):
    """A loopback TCP relay in front of a real server (PostgreSQL) that a test can shut
    like an outage: `cut()` drops every open connection and turns new ones away (accepted,
    then closed at once, as a restarting server does); `restore()` lets them through."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        super().__init__()
        self.upstream = (upstream_host, upstream_port)
        self.is_open = True
        self.turned_away = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> TcpGate:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.is_open = False
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.is_open = True

    async def turned_away_at_least(self, count: int, within: float = 30.0) -> None:
        await self.wait_for(lambda: self.turned_away >= count, within)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_open:
            self.turned_away += 1
            self._changed()
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


async def file_case(system: System, content: str, **extra: Any) -> str:
    """File a hotline complaint through the gateway and wait for its case; its id."""
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": content, **extra})
    assert posted.status_code == 202, posted.text
    path = f"/api/v1/cases/of-complaint/{posted.json()['id']}"

    async def triaged() -> bool:
        return (await system.client.get(path)).status_code == 200

    await eventually(triaged, "the complaint's case")
    case_id: str = (await system.client.get(path)).json()["id"]
    return case_id


def pdf_text(pdf: bytes, folder: Path) -> str:
    """The text of a PDF as poppler's pdftotext reads it (.ci/run installs poppler-utils)."""
    tool = shutil.which("pdftotext")
    assert tool is not None, "pdftotext (poppler-utils) is needed: .ci/run installs it"
    path = folder / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


async def merged_openapi(tmp_path: Path, admin_key: str) -> dict[str, Any]:
    """The gateway's merged OpenAPI, from an embedded system started in `tmp_path`."""
    app = build_embedded(GatewaySettings(data_dir=tmp_path, dev_api_key=admin_key)).gateway
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://beacon",
            headers={"Authorization": f"Bearer {admin_key}"}) as client:
        spec: dict[str, Any] = (await client.get("/api/v1/openapi.json")).json()
    return spec


# --- the backbone on {SQLite, PostgreSQL} x {memory bus, Tansu} (tests/integration) ---------

PARTITIONS = 4
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Db:
    url: str
    schema: str | None


def kafka_bus(bootstrap: str) -> KafkaBus:
    settings = BusSettings(
        kind="kafka", kafka_bootstrap_servers=bootstrap, kafka_partitions=PARTITIONS,
        max_attempts=MAX_ATTEMPTS, retry_backoff_ms=10, retry_backoff_max_ms=50,
        kafka_connect_timeout_s=5, kafka_session_timeout_ms=2000,
        kafka_heartbeat_interval_ms=300,
    )
    return KafkaBus(settings, client_id=f"test-{uuid.uuid4().hex[:6]}")


BusFactory = Callable[[], Bus]


async def events_on_the_log(bootstrap: str, topic: str) -> list[Envelope]:
    """Every event of `topic` the broker holds, read from the start to the end (how the
    replica tests count what was published, whoever published it)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p)
                      for p in consumer.partitions_for_topic(topic) or set()]
        if not partitions:
            await consumer.force_metadata_update()
            partitions = [TopicPartition(topic, p)
                          for p in consumer.partitions_for_topic(topic) or set()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events: list[Envelope] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            events.extend(Envelope.from_bytes(r.value) for rs in batch.values() for r in rs
                          if r.value is not None)
        return events
    finally:
        await consumer.stop()


# --- a sentiment app with a clock the test sets (tests/sentiment) --------------------------

START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Sentiment:
    app: FastAPI
    client: httpx.AsyncClient
    broker: MemoryBroker
    clock: Clock
    applied: list[BusMessage] = field(default_factory=list)
    _waiters: list[tuple[Callable[[], bool], asyncio.Event]] = field(default_factory=list)

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    @property
    def intake_state(self) -> MentionIntakeState:
        state: MentionIntakeState = self.app.state.intake_state
        return state

    def observe(self, _outcome: str, delivery: BusMessage) -> None:
        self.applied.append(delivery)
        for condition, event in self._waiters:
            if condition():
                event.set()

    async def consumed(self, n: int) -> None:
        """Wait (bounded) until the app's consumers have applied n events."""
        event = asyncio.Event()
        self._waiters.append((lambda: len(self.applied) >= n, event))
        if len(self.applied) < n:
            await asyncio.wait_for(event.wait(), 10)

    async def emitted(self, event: type[EventPayload]) -> list[Envelope]:
        """Events of the `event` class in sentiment's outbox (what it committed to publish)."""
        from sqlalchemy import select

        table = self.runtime.outbox
        async with self.runtime.db.session() as session:
            rows = (await session.execute(select(table).where(table.c.topic == event.topic)
                                          .order_by(table.c.seq))).mappings().all()
        return [Envelope.from_bytes(r["envelope"].encode()) for r in rows]

    async def post(self, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post("/api/v1/mentions", json=body)


# `async with gateway(name, **settings) as client`: an embedded system of a test's own
# (tests/security's `gateway` fixture).
Gateway = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


# --- distributed mode, driven as `make up` runs it (tests/e2e) -------------------------------

DELIVERY_DEADLINE_S = 60.0
LEVEL_1 = ["产品爆炸，有人受伤住院", "门店起火，顾客受伤住院", "热水器爆炸，邻居重伤"]
OTHERS = [
    "记者打电话说要采访我们门店的服务问题",
    "我已经找了律师，准备起诉贵公司",
    "插座漏电，存在安全隐患",
    "快递送晚了两天，包装也破了",
    "客服态度不好，电话一直没人接",
    "发票开错了，需要重新开具",
]
TEXTS = LEVEL_1 + OTHERS
# Some PII: with two intake replicas, one stores and the other may read it back, which only
# works when `up` gave both the same PII key ring.
COMPLAINANT = {"name": "张三", "phone": "13800000000"}
Settled = tuple[dict[str, object], list[dict[str, str]]]  # (complaint view, its deliveries)


async def connect(url: str, database: str | None = None) -> asyncpg.Connection:
    """asyncpg to the database of a SQLAlchemy URL (or to another one on its server)."""
    parsed = make_url(url)
    return await asyncpg.connect(host=parsed.host, port=parsed.port or 5432,
                                 user=parsed.username, password=parsed.password,
                                 database=database or parsed.database, timeout=5)


def clean_env() -> dict[str, str]:
    """The test's environment less anything that would point the deployment elsewhere."""
    prefixes = ("GATEWAY_", "INTAKE_", "TRIAGE_", "NOTIFY_", "SENTIMENT_", "KAFKA_", "BUS")
    exact = {"DATABASE_URL", "PII_KEYS", "DEV_API_KEY", "DATA_DIR", "SHUTDOWN_TIMEOUT_S"}
    return {k: v for k, v in os.environ.items()
            if k not in exact and not k.startswith(prefixes)}


def complaint_body(text: str, i: int) -> dict[str, object]:
    body: dict[str, object] = {"channel": "hotline", "content": f"{text}（第{i}件）"}
    if i % 3 == 0:
        body["complainant"] = COMPLAINANT
    return body


def submit(client: httpx.Client, text: str, i: int) -> str:
    answer = client.post("/api/v1/complaints", json=complaint_body(text, i))
    assert answer.status_code == 202, answer.text
    complaint_id: str = answer.json()["id"]
    return complaint_id


def expected_deliveries(level: int, category: str | None = None) -> set[tuple[str, str]]:
    """(recipient, channel) of every delivery a complaint of this level (and category: the
    roster's [category] roles, 法务部协助处理 …) must cause."""
    roster = load_roster()
    roles = set(roster.routing.get(level, ()))
    roles |= set(roster.rules.categories.get(category or "", ()))
    return {(member.id, channel) for member in roster.members if member.roles & roles
            for channel in member.channels}


def settled(client: httpx.Client, complaint_id: str) -> Settled | None:
    """(complaint, deliveries) once triaged and every delivery of its level is made; None
    until then (or while the gateway answers with an error)."""
    answer = client.get(f"/api/v1/complaints/{complaint_id}")
    if answer.status_code != 200:
        return None
    complaint = answer.json()
    case = complaint.get("case")
    if not case:
        return None
    found = client.get("/api/v1/notifications", params={"complaint_id": complaint_id})
    items: list[dict[str, str]] = found.json()["items"] if found.status_code == 200 else []
    wanted = expected_deliveries(int(case["response_level"]), case.get("category"))
    if len(items) < len(wanted):
        return None
    return complaint, items


def await_all(client: httpx.Client, ids: list[str],
              within: float = DELIVERY_DEADLINE_S) -> dict[str, Settled]:
    """Poll the API until every complaint settled, or fail naming the ones that did not."""
    done: dict[str, Settled] = {}

    def all_settled() -> bool:
        for complaint_id in (i for i in ids if i not in done):
            outcome = settled(client, complaint_id)
            if outcome is not None:
                done[complaint_id] = outcome
        return len(done) == len(ids)

    try:
        eventually_blocking(all_settled, "every complaint settled", within=within, every=0.2)
    except TimeoutError as exc:
        raise AssertionError(
            f"not settled after {within}s: {sorted(set(ids) - set(done))}") from exc
    return done


# --- insert races on PostgreSQL (the IntegrityError fallbacks) ------------------------------

async def race(url: str, table: str, *writers: Awaitable[T]) -> list[T]:
    """Run `writers` (each a transaction that reads `table`, finds nothing, then inserts
    into it) so that they really race: a transaction of the test's own holds `table` in
    EXCLUSIVE mode, which lets them read but makes every insert wait, until all of them
    wait on it; then it commits, they insert together, and the unique key lets one win.
    Their results (or the first exception), in order."""
    holder = await asyncpg.connect(make_url(url).set(drivername="postgresql")
                                   .render_as_string(hide_password=False))
    try:
        lock = holder.transaction()
        await lock.start()
        await holder.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        tasks = [asyncio.ensure_future(writer) for writer in writers]

        async def all_waiting() -> bool:
            if any(task.done() for task in tasks):  # one did not wait: no race happened
                raise AssertionError("a writer finished before the race")
            # In a transaction, pg_stat_activity keeps its first snapshot unless cleared.
            await holder.execute("SELECT pg_stat_clear_snapshot()")
            waiting = await holder.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                holder.get_server_pid())
            return int(waiting) == len(tasks)

        try:
            await eventually(all_waiting, f"{len(tasks)} writers waiting to insert into {table}")
        except BaseException:
            await lock.rollback()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        await lock.commit()
        return list(await asyncio.gather(*tasks))
    finally:
        await holder.close()


def brief_roster(*, wait_s: int, weekly: str | None = None) -> str:
    """A roster of one leadership member, reached at every level, with the daily brief at
    08:30 (and the weekly one when given) and no digest: for the scheduled-brief tests."""
    lines = ['[[member]]', 'id = "leadership"', 'roles = ["leadership_group"]',
             'channels = { log = "leadership" }', '[routing]',
             *(f'{level} = ["leadership_group"]' for level in (1, 2, 3, 4)),
             '[digest]', 'levels = []', '[brief]', 'daily = "08:30"',
             *([f'weekly = "{weekly}"'] if weekly else []), f'wait_s = {wait_s}']
    return "\n".join(lines) + "\n"
