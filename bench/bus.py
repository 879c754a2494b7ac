"""Throughput and latency of the event backbone: outbox -> bus -> inbox, against raw aiokafka.

    python bench/bus.py                    # every scenario, 20,000 events each
    python bench/bus.py --events 2000      # a quick check
    python bench/bus.py --scenario kafka-postgres --events 5000   # one scenario, own broker

The parent starts one Tansu broker (partitions=6) and runs each scenario in a child process
of its own (so peak RSS is per scenario), then prints a table. A producer coroutine emits
`--events` events in transactions of `--batch`, spread over `--keys` keys; each event
carries the wall time at which it was emitted. An event counts as handled once the
consumer's transaction (inbox row and handler) committed; latency is that moment minus the
emit time. Throughput is events / (first emit .. last handled).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
from _common import percentile
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import MetaData

from deploy.tansu import Tansu
from shared.bus import Bus, BusMessage, MemoryBroker, MemoryBus
from shared.bus.base import record_for
from shared.events import Envelope, EventPayload, make_event
from shared.events.registry import dataschema_uri, register, schema_for
from shared.inbox import inbox_table
from shared.outbox import outbox_table
from shared.runtime import ServiceRuntime, Unit
from shared.settings import BusSettings, ServiceSettings

SCENARIOS = ("memory-sqlite", "kafka-sqlite", "kafka-postgres", "raw-aiokafka")
LABELS = {
    "memory-sqlite": "memory + sqlite",
    "kafka-sqlite": "kafka(tansu) + sqlite",
    "kafka-postgres": "kafka(tansu) + postgres",
    "raw-aiokafka": "raw aiokafka",
}
PARTITIONS = 6
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULT_PREFIX = "RESULT "


class Ping(EventPayload):
    """The bench payload: which event, its key, when it was emitted, and padding."""

    n: int
    key: str
    sent_at: float
    pad: str = ""


@dataclass(frozen=True)
class Config:
    events: int
    batch: int
    keys: int
    pad: int
    timeout: float
    rate: float = 0.0  # events/s the producer keeps to; 0 = as fast as it can


async def pace(cfg: Config, started: float, sent: int) -> None:
    """With --rate, sleep until `sent` events are due; otherwise just yield."""
    due = started + sent / cfg.rate if cfg.rate > 0 else 0.0
    await asyncio.sleep(max(0.0, due - time.time()))


@dataclass
class Result:
    scenario: str
    events: int
    seconds: float
    p50_ms: float
    p99_ms: float
    rss_mib: float
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Tally:
    """Receive side: one latency per distinct event, and a flag once all arrived."""

    expected: int
    started: float = 0.0
    last: float = 0.0
    latencies: list[float] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event_id: str, sent_at: float) -> None:
        if event_id in self.seen:
            return
        now = time.time()
        self.seen.add(event_id)
        self.latencies.append(now - sent_at)
        self.last = now
        if len(self.seen) >= self.expected:
            self.done.set()

    async def wait(self, within: float) -> None:
        try:
            async with asyncio.timeout(within):
                await self.done.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{len(self.seen)} of {self.expected} events handled after {within:.0f}s"
            ) from None

    def result(self, scenario: str) -> Result:
        ordered = sorted(self.latencies)
        return Result(
            scenario=scenario, events=len(ordered), seconds=self.last - self.started,
            p50_ms=percentile(ordered, 0.50) * 1000, p99_ms=percentile(ordered, 0.99) * 1000,
            rss_mib=peak_rss_mib(),
        )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def new_topic() -> str:
    """A topic (and event type) of this run's own, so runs sharing a broker never mix: a
    subclass of Ping of its own (one class, one topic)."""
    topic = f"bench.ping.{uuid.uuid4().hex[:10]}"
    register(topic, 1)(type(f"Ping_{topic.replace('.', '_')}", (Ping,), {}))
    return topic


def ping_class(topic: str) -> type[Ping]:
    model = schema_for(topic, dataschema_uri(topic, 1))
    assert issubclass(model, Ping)
    return model


def ping(n: int, cfg: Config, model: type[Ping]) -> Ping:
    return model(n=n, key=f"k{n % cfg.keys}", sent_at=time.time(), pad="x" * cfg.pad)


# ---------------------------------------------------------------- databases


@contextlib.asynccontextmanager
async def databases(kind: str) -> AsyncIterator[tuple[str, str]]:
    """Database URLs for the sending and the receiving service; removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="beacon-bench-") as tmp:
            yield (f"sqlite+aiosqlite:///{tmp}/send.db", f"sqlite+aiosqlite:///{tmp}/recv.db")
        return
    name = f"beacon_bench_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        yield url, url  # two services sharing one database, each with its own tables
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def pg_admin(statement: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


# ---------------------------------------------------------------- full path


def service(name: str, url: str, bus: Bus | None, bootstrap: str | None) -> ServiceRuntime:
    metadata = MetaData()
    outbox_table(metadata, name)
    inbox_table(metadata, name)
    bus_settings = BusSettings.model_validate({
        "kind": "kafka" if bootstrap else "memory",
        "kafka_bootstrap_servers": bootstrap or "127.0.0.1:9092",
        "kafka_partitions": PARTITIONS,
    })
    settings = ServiceSettings.model_validate(
        {"service_name": name, "database_url": url, "bus": bus_settings})
    return ServiceRuntime(name, settings, metadata, migrations=None, bus=bus)


def buses(bootstrap: str | None) -> tuple[Bus | None, Bus | None]:
    """Clients of one in-memory broker, or None for each (the runtime then builds KafkaBus)."""
    if bootstrap:
        return None, None
    broker = MemoryBroker(PARTITIONS)
    return MemoryBus(broker), MemoryBus(broker)


async def wait_assigned(consumer: Bus | AIOKafkaConsumer, topic: str,
                        within: float = 60.0) -> None:
    """Until the consumer group owns every partition of the topic (Tansu joins are slow)."""
    deadline = time.monotonic() + within
    while len({p for t, p in consumer.assignment() if t == topic}) < PARTITIONS:
        if time.monotonic() > deadline:
            raise TimeoutError(f"consumer group never owned all partitions of {topic}")
        await asyncio.sleep(0.05)


async def emit_all(sender: ServiceRuntime, topic: str, cfg: Config) -> None:
    started, model = time.time(), ping_class(topic)
    for start in range(0, cfg.events, cfg.batch):
        await pace(cfg, started, start)
        async with sender.unit() as unit:
            for n in range(start, min(cfg.events, start + cfg.batch)):
                data = ping(n, cfg, model)
                await unit.emit(data, subject=data.key)


async def full_path(scenario: str, cfg: Config, bootstrap: str | None, db_kind: str) -> Result:
    topic, tally = new_topic(), Tally(cfg.events)

    async def handler(_unit: Unit, _event: Envelope) -> None:
        return None

    def handled(outcome: str, delivery: BusMessage) -> None:
        if outcome == "applied":  # called after the receiver's transaction committed
            tally.record(delivery.envelope.id, float(delivery.envelope.data["sent_at"]))

    async with databases(db_kind) as (send_url, recv_url):
        send_bus, recv_bus = buses(bootstrap)
        receiver = service("benchrecv", recv_url, recv_bus, bootstrap)
        sender = service("benchsend", send_url, send_bus, bootstrap)
        receiver.on([ping_class(topic)], handler, group=f"bench-{topic}")
        receiver.listeners.append(handled)
        try:
            await receiver.start()
            await sender.start()
            await wait_assigned(receiver.bus, topic)
            tally.started = time.time()
            await emit_all(sender, topic, cfg)
            await tally.wait(cfg.timeout)
        finally:
            await sender.stop()
            await receiver.stop()
    return tally.result(scenario)


# ---------------------------------------------------------------- raw aiokafka


async def create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


def raw_consumer(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """Configured like KafkaBus's consumers: manual commit, same fetch and group timing."""
    s = BusSettings.model_validate({"kafka_bootstrap_servers": bootstrap})
    return AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"bench-{topic}", client_id="bench-raw",
        enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500,
        session_timeout_ms=s.kafka_session_timeout_ms,
        heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
        fetch_max_wait_ms=s.kafka_fetch_max_wait_ms,
    )


def raw_producer(bootstrap: str) -> AIOKafkaProducer:
    """Configured like KafkaBus's producer (acks, linger, no idempotence)."""
    s = BusSettings.model_validate({"kafka_bootstrap_servers": bootstrap})
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="bench-raw",
        acks=int(s.kafka_acks) if s.kafka_acks != "all" else "all",
        linger_ms=s.kafka_linger_ms, enable_idempotence=False,
    )


async def consume_raw(consumer: AIOKafkaConsumer, tally: Tally) -> None:
    while not tally.done.is_set():
        batches = await consumer.getmany(timeout_ms=200)
        for messages in batches.values():
            for message in messages:
                body = json.loads(message.value or b"{}")
                tally.record(body["id"], float(body["data"]["sent_at"]))
        if batches:
            await consumer.commit()


async def produce_raw(producer: AIOKafkaProducer, topic: str, cfg: Config) -> None:
    """The same envelope bytes, key and headers the relay sends, in the same batches."""
    started, model = time.time(), ping_class(topic)
    for start in range(0, cfg.events, cfg.batch):
        await pace(cfg, started, start)
        futures = []
        for n in range(start, min(cfg.events, start + cfg.batch)):
            data = ping(n, cfg, model)
            record = record_for(make_event(data, source="/benchsend", subject=data.key))
            futures.append(await producer.send(
                topic, record.value, key=record.key, headers=record.headers))
        await asyncio.gather(*futures)


async def raw_aiokafka(cfg: Config, bootstrap: str) -> Result:
    topic, tally = new_topic(), Tally(cfg.events)
    await create_topic(bootstrap, topic)
    consumer, producer = raw_consumer(bootstrap, topic), raw_producer(bootstrap)
    await consumer.start()
    await producer.start()
    consuming = asyncio.create_task(consume_raw(consumer, tally))
    try:
        await wait_assigned(consumer, topic)
        tally.started = time.time()
        await produce_raw(producer, topic, cfg)
        await tally.wait(cfg.timeout)
    finally:
        consuming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
        await producer.stop()
        await consumer.stop()
    return tally.result("raw-aiokafka")


# ---------------------------------------------------------------- one scenario (child)


async def run_scenario(scenario: str, cfg: Config, bootstrap: str | None) -> Result:
    if scenario == "memory-sqlite":
        return await full_path(scenario, cfg, None, "sqlite")
    assert bootstrap is not None
    if scenario == "raw-aiokafka":
        return await raw_aiokafka(cfg, bootstrap)
    return await full_path(scenario, cfg, bootstrap, scenario.split("-")[1])


@contextlib.contextmanager
def broker(bootstrap: str | None, needed: bool) -> Iterator[str | None]:
    """The given broker, or a Tansu of our own when one is needed and none was given."""
    if bootstrap or not needed:
        yield bootstrap
        return
    tansu = Tansu().start()
    try:
        yield tansu.bootstrap
    finally:
        tansu.stop()


def child(args: argparse.Namespace, cfg: Config) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with broker(args.bootstrap, args.scenario != "memory-sqlite") as bootstrap:
        try:
            with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
                result = runner.run(run_scenario(args.scenario, cfg, bootstrap))
        except Exception as exc:
            logging.exception("scenario %s failed", args.scenario)
            result = Result(args.scenario, 0, 0.0, float("nan"), float("nan"), peak_rss_mib(),
                            error=f"{type(exc).__name__}: {exc}")
    print(RESULT_PREFIX + json.dumps(asdict(result)), flush=True)
    return 0 if result.error is None else 1


def loop_factory(name: str) -> type[asyncio.AbstractEventLoop] | None:
    if name == "uvloop":
        import uvloop

        return uvloop.Loop
    return None


# ---------------------------------------------------------------- all scenarios (parent)


def machine(args: argparse.Namespace) -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    return (f"machine: {os.cpu_count()} cpus (nproc {len(os.sched_getaffinity(0))}), {model}; "
            f"python {platform.python_version()}, loop {args.loop}\n"
            f"events {args.events}, batch {args.batch}, keys {args.keys}, "
            f"payload pad {args.pad} B, partitions {PARTITIONS}, "
            f"rate {args.rate or 'unpaced'}")


def spawn(scenario: str, args: argparse.Namespace, bootstrap: str) -> Result:
    command = [sys.executable, __file__, "--scenario", scenario, "--bootstrap", bootstrap,
               "--events", str(args.events), "--batch", str(args.batch),
               "--keys", str(args.keys), "--pad", str(args.pad),
               "--timeout", str(args.timeout), "--rate", str(args.rate), "--loop", args.loop]
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True,
                              timeout=args.timeout + 90, check=False)
    except subprocess.TimeoutExpired:
        return Result(scenario, 0, 0.0, float("nan"), float("nan"), 0.0, error="timed out")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return Result(**json.loads(line[len(RESULT_PREFIX):]))
    return Result(scenario, 0, 0.0, float("nan"), float("nan"), 0.0,
                  error=f"exit {done.returncode}, no result")


def tansu_peak_rss_mib(tansu: Tansu) -> float:
    if tansu.process is None:
        return float("nan")
    status = Path(f"/proc/{tansu.process.pid}/status").read_text()
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) / 1024


def table(results: list[Result]) -> str:
    rows = ["| scenario | events | events/s | p50 ms | p99 ms | peak RSS MiB |",
            "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.error:
            rows.append(f"| {LABELS[r.scenario]} | FAILED: {r.error} | | | | |")
            continue
        rows.append(f"| {LABELS[r.scenario]} | {r.events} | {r.rate:,.0f} | "
                    f"{r.p50_ms:,.1f} | {r.p99_ms:,.1f} | {r.rss_mib:,.0f} |")
    return "\n".join(rows)


def ratio(results: list[Result], paced: bool) -> str:
    by_name = {r.scenario: r for r in results if not r.error}
    full, raw = by_name.get("kafka-postgres"), by_name.get("raw-aiokafka")
    if full is None or raw is None or raw.rate == 0:
        return "full path (kafka+postgres) / raw aiokafka = n/a"
    share = full.rate / raw.rate
    verdict = "meets" if share >= 0.25 else "MISSES"
    verdict = "paced by --rate, not a capacity figure" if paced else f"{verdict} the >= 25% aim"
    return f"full path (kafka+postgres) / raw aiokafka = {share:.0%} ({verdict})"


def parent(args: argparse.Namespace) -> int:
    print(machine(args), flush=True)
    tansu = Tansu().start()
    results: list[Result] = []
    try:
        for scenario in SCENARIOS:
            started = time.monotonic()
            results.append(spawn(scenario, args, tansu.bootstrap))
            print(f"  {LABELS[scenario]}: done in {time.monotonic() - started:.1f}s",
                  flush=True)
        tansu_rss = tansu_peak_rss_mib(tansu)
    finally:
        tansu.stop()
    print()
    print(table(results))
    print(f"\nTansu broker peak RSS: {tansu_rss:,.0f} MiB (shared by the kafka scenarios)")
    print(ratio(results, args.rate > 0))
    return 0 if all(r.error is None for r in results) else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="events per emitting transaction")
    parser.add_argument("--keys", type=int, default=1_000)
    parser.add_argument("--pad", type=int, default=200, help="payload padding in bytes")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds a scenario may take to handle every event")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="events/s the producer keeps to (0: as fast as it can); "
                             "set it below the capacity for latency that is not queueing")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="event loop (uvicorn picks uvloop when it is installed)")
    parser.add_argument("--scenario", choices=SCENARIOS,
                        help="run one scenario in this process (default: all, one child each)")
    parser.add_argument("--bootstrap", help="a running broker; default: start a Tansu")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    cfg = Config(args.events, args.batch, args.keys, args.pad, args.timeout, args.rate)
    return child(args, cfg) if args.scenario else parent(args)


if __name__ == "__main__":
    sys.exit(main())
