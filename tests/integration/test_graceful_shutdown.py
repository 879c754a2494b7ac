"""Graceful shutdown of a real service process (`python -m services <name>`) on Tansu and
PostgreSQL: on SIGTERM it stops fetching, finishes the event batches in hand and commits
their offsets, answers the HTTP requests in flight, flushes its outbox, and exits 0 within
SHUTDOWN_TIMEOUT_S. Nothing accepted is lost, and after a restart every event is applied
exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import make_url

from deploy.tansu import Tansu, free_port
from shared.bus.base import record_for
from shared.events import Envelope, make_event
from shared.events.schemas import ComplaintReceived
from shared.privacy import new_key_ring_spec
from shared.runtime import Unit
from tests.support import (
    TEST_INTERNAL_SECRET,
    AsGateway,
    Probe,
    events_for,
    eventually,
    kafka_bus,
    new_topic,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SHUTDOWN_TIMEOUT_S = 10.0
EXIT_MARGIN_S = 1.5  # the interpreter's own exit after the drain
PARTITIONS = 6
TOPIC = ComplaintReceived.topic
TRIAGE_GROUP = "triage"  # the triage service's consumer group (its name)
TEXTS = ["热水器爆炸，有人受伤住院", "快递送晚了两天，包装也破了", "客服态度不好，电话一直没人接",
         "插座漏电，存在安全隐患", "发票开错了，需要重新开具"]


# --- a database and a service process of the test's own ---------------------------------

async def _connect(url: str, database: str | None = None) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(host=parsed.host, port=parsed.port or 5432,
                                 user=parsed.username, password=parsed.password,
                                 database=database or parsed.database, timeout=5)


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[str]:
    """A fresh database (the services create their tables in it), dropped afterwards."""
    name = f"beacon_stop_{uuid.uuid4().hex[:12]}"
    admin = await _connect(pg_url, "postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Service:
    """One `python -m services <name>` process, started and stopped the way `make up` does."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.env, self.log = name, env, log
        self.port = int(env[f"{name.upper()}_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services", self.name], cwd=ROOT, env=self.env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        return self

    async def ready(self, within: float = 60.0) -> None:
        process = self.process
        assert process is not None
        async with httpx.AsyncClient(timeout=2) as client:

            async def answers() -> bool:
                assert process.poll() is None, f"{self.name} exited:\n{self.tail()}"
                try:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            try:
                await eventually(answers, f"{self.name} ready", within=within, every=0.1)
            except TimeoutError as exc:
                raise AssertionError(f"{self.name} not ready:\n{self.tail()}") from exc

    def terminate(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)

    async def exited(self, within: float) -> int:
        """The exit code, waiting at most `within` seconds (then SIGKILL and fail)."""
        assert self.process is not None
        try:
            return await asyncio.to_thread(self.process.wait, within)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.name} still running {within:.1f}s after SIGTERM:\n"
                        f"{self.tail()}")

    async def stop_and_measure(self) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds until the process ended)."""
        began = time.monotonic()
        self.terminate()
        code = await self.exited(SHUTDOWN_TIMEOUT_S + 5)
        return code, time.monotonic() - began

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _env(name: str, tansu: Tansu, database_url: str, data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("BUS", "KAFKA_", "DATABASE_URL", "INTAKE_", "TRIAGE_",
                                 "NOTIFY_", "SENTIMENT_", "SHUTDOWN_", "PII_", "DATA_DIR"))}
    return keep | {
        "BUS": "kafka", "KAFKA_BOOTSTRAP_SERVERS": tansu.bootstrap,
        "KAFKA_PARTITIONS": str(PARTITIONS), "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir), f"{name.upper()}_PORT": str(free_port()),
        "SHUTDOWN_TIMEOUT_S": str(SHUTDOWN_TIMEOUT_S), "PII_KEYS": new_key_ring_spec(),
        "PYTHONPATH": str(ROOT), "BEACON_INTERNAL_SECRET": TEST_INTERNAL_SECRET,
    }


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Every Service a test makes; whatever still runs at the end is killed."""
    made: list[Service] = []
    yield made
    for service in made:
        service.kill()


# --- the log and the database, as they are after the fact ---------------------------------

async def topic_events(bootstrap: str) -> dict[str, tuple[int, int, str]]:
    """{event id: (partition, offset, subject)} of everything on the topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: dict[str, tuple[int, int, str]] = {}
        deadline = time.monotonic() + 30
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            assert time.monotonic() < deadline, "could not read the topic to its end"
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for r in records:
                    envelope = json.loads(r.value or b"{}")
                    found[envelope["id"]] = (tp.partition, r.offset, envelope["subject"])
        return found
    finally:
        await consumer.stop()


async def committed_offsets(bootstrap: str, group: str) -> dict[int, int]:
    """{partition: the group's committed offset} (0 where nothing was committed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: (await consumer.committed(TopicPartition(TOPIC, p))) or 0
                for p in range(PARTITIONS)}
    finally:
        await consumer.stop()


async def rows(database_url: str, sql: str) -> list[asyncpg.Record]:
    conn = await _connect(database_url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def scalar(database_url: str, sql: str) -> int:
    found = await rows(database_url, sql)
    return int(found[0][0])


# --- consumers: the batch in hand finishes and is committed --------------------------------

def complaint_event(i: int) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    complaint_id = uuid.uuid4().hex
    event = make_event(ComplaintReceived(
        complaint_id=complaint_id, channel="hotline", content=f"{TEXTS[i % len(TEXTS)]}（{i}）",
        received_at=datetime.now(UTC)), source="/test", subject=complaint_id)
    record = record_for(event)
    assert record.key is not None
    return event.id, record.key, record.value, record.headers


async def produce(bootstrap: str, sent: list[str], stop: asyncio.Event, *, chunk: int = 50,
                  pause_s: float = 0.05, limit: int = 20000) -> None:
    """Feed complaint.received events in chunks, as a steady stream, until `stop`."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    try:
        while not stop.is_set() and len(sent) < limit:
            futures = []
            for _ in range(chunk):
                event_id, key, value, headers = complaint_event(len(sent))
                futures.append(await producer.send(TOPIC, value, key=key, headers=headers))
                sent.append(event_id)
            await asyncio.gather(*futures)
            await asyncio.sleep(pause_s)  # pacing the stream, not waiting for anything
    finally:
        await producer.stop()


@pytest.mark.timeout(300)
async def test_sigterm_drains_the_batch_in_hand_and_commits_what_it_applied(
    own_tansu: Tansu, database: str, tmp_path: Path, services: list[Service]
) -> None:
    env = _env("triage", own_tansu, database, tmp_path)
    triage = Service("triage", env, tmp_path / "triage-0.log").start()
    services.append(triage)
    await triage.ready()

    sent: list[str] = []
    stop_feeding = asyncio.Event()
    feeding = asyncio.create_task(produce(own_tansu.bootstrap, sent, stop_feeding))
    cases = "SELECT count(*) FROM triage_cases"
    try:
        # Mid-stream: the service has applied some, more keep coming in through the drain.
        await eventually(lambda: _at_least(database, cases, 200), "200 cases", within=60)
        assert not feeding.done(), feeding
        code, seconds = await triage.stop_and_measure()
        at_exit = len(sent)
    finally:
        stop_feeding.set()
        await feeding
    total = len(sent)
    print(f"triage: exit {code} {seconds:.2f}s after SIGTERM; {at_exit} events sent by then, "
          f"{total} in all")
    assert code == 0, triage.tail()
    assert seconds < SHUTDOWN_TIMEOUT_S + EXIT_MARGIN_S

    # The committed offsets are exactly the events applied: everything below a partition's
    # committed offset is in the inbox (none lost) and nothing at or past it is (none
    # applied and left uncommitted).
    events = await topic_events(own_tansu.bootstrap)
    assert set(events) == set(sent)
    committed = await committed_offsets(own_tansu.bootstrap, TRIAGE_GROUP)
    applied = {r["event_id"] for r in await rows(
        database, f"SELECT event_id FROM triage_inbox WHERE consumer = '{TRIAGE_GROUP}'")}
    below = {event_id for event_id, (partition, offset, _) in events.items()
             if offset < committed[partition]}
    assert applied == below, (
        f"{len(applied - below)} applied but uncommitted, {len(below - applied)} committed "
        f"but not applied; committed offsets {committed}")
    assert 0 < len(applied) < total
    assert await scalar(database, cases) == len(applied)
    # The outbox was flushed before the exit: every complaint.triaged event is out.
    assert await scalar(database, "SELECT count(*) FROM triage_outbox "
                                  "WHERE published_at IS NULL") == 0

    # A new replica takes up where the first one committed: every event once.
    again = Service("triage", env, tmp_path / "triage-1.log").start()
    services.append(again)
    await again.ready()
    await eventually(lambda: _at_least(database, cases, total), f"{total} cases", within=120)
    code, seconds = await again.stop_and_measure()
    print(f"triage (restarted): exit {code} {seconds:.2f}s after SIGTERM")
    assert code == 0, again.tail()
    assert seconds < SHUTDOWN_TIMEOUT_S + EXIT_MARGIN_S

    subjects = {subject for _, _, subject in events.values()}
    per_complaint = await rows(database, "SELECT complaint_id, count(*) AS n FROM triage_cases "
                                         "GROUP BY complaint_id")
    assert {r["complaint_id"] for r in per_complaint} == subjects
    assert {r["n"] for r in per_complaint} == {1}
    assert await scalar(database, "SELECT count(*) FROM triage_inbox") == total
    committed = await committed_offsets(own_tansu.bootstrap, TRIAGE_GROUP)
    ends: dict[int, int] = {}
    for partition, offset, _ in events.values():
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    assert {p: committed[p] for p in ends} == ends


async def _at_least(database: str, sql: str, count: int) -> bool:
    return await scalar(database, sql) >= count


# --- HTTP: the requests in flight are answered, stored and published ----------------------

CALLER = {"x-beacon-key-id": "k-test", "x-beacon-owner": "hotline-test",
          "x-beacon-scopes": "complaints:write complaints:read"}


@pytest.mark.timeout(180)
async def test_sigterm_answers_the_requests_in_flight_and_publishes_them(
    own_tansu: Tansu, database: str, tmp_path: Path, services: list[Service]
) -> None:
    env = _env("intake", own_tansu, database, tmp_path)
    intake = Service("intake", env, tmp_path / "intake-0.log").start()
    services.append(intake)
    await intake.ready()

    accepted: list[str] = []
    spans: list[tuple[float, float]] = []  # (sent, answered) of each accepted request
    refused: list[str] = []
    signalled = asyncio.Event()

    async def client_loop(worker: int) -> None:
        """Posts until the server is gone; each client keeps its connection alive."""
        async with httpx.AsyncClient(base_url=intake.url, headers=CALLER, timeout=30,
                                     auth=AsGateway(TEST_INTERNAL_SECRET)) as client:
            i = 0
            while True:
                began = time.monotonic()
                try:
                    answer = await client.post("/api/v1/complaints", json={
                        "channel": "hotline", "content": f"{TEXTS[i % len(TEXTS)]}（{worker}-{i}）",
                        "complainant": {"name": "张三", "phone": "13800000000"}})
                except httpx.HTTPError as exc:
                    # Refused or closed before a request was taken: nothing was accepted.
                    assert signalled.is_set(), f"failed before SIGTERM: {exc!r}"
                    refused.append(type(exc).__name__)
                    return
                assert answer.status_code == 202, answer.text
                accepted.append(answer.json()["id"])
                spans.append((began, time.monotonic()))
                i += 1

    async def enough() -> bool:
        return len(accepted) >= 100

    clients = [asyncio.create_task(client_loop(w)) for w in range(16)]
    try:
        await eventually(enough, "100 complaints accepted", within=60)
        signal_at = time.monotonic()
        signalled.set()
        code, seconds = await intake.stop_and_measure()
    finally:
        await asyncio.gather(*clients)
    answered_during_drain = sum(1 for began, done in spans if began < signal_at < done)
    print(f"intake: exit {code} {seconds:.2f}s after SIGTERM; {len(accepted)} accepted, "
          f"{answered_during_drain} of them in flight at the signal; refused {len(refused)}")
    assert code == 0, intake.tail()
    assert seconds < SHUTDOWN_TIMEOUT_S + EXIT_MARGIN_S
    assert answered_during_drain > 0, "no request was in flight at the signal"

    # Every answered complaint is stored, and nothing was stored without an answer.
    stored = {r["id"] for r in await rows(database, "SELECT id FROM intake_complaints")}
    assert stored == set(accepted)
    # ...and published before the exit: the outbox is empty and the topic holds them all.
    assert await scalar(database, "SELECT count(*) FROM intake_outbox "
                                  "WHERE published_at IS NULL") == 0
    on_topic = {subject for _, _, subject in (await topic_events(own_tansu.bootstrap)).values()}
    assert on_topic == set(accepted)



# --- the bound: a handler that never returns does not hold the shutdown --------------------

class HangingProbe(Probe):
    """A replica whose handler never returns (a stuck downstream call)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.entered = asyncio.Event()
        super().__init__(*args, **kwargs)

    async def _apply(self, unit: Unit, event: Envelope) -> None:
        self.entered.set()
        await asyncio.Event().wait()


@pytest.mark.timeout(120)
async def test_a_hanging_handler_is_cut_off_at_the_bound_and_its_event_comes_again(
    tansu: Tansu, pg_url: str, pg_schema: str
) -> None:
    topic, group = new_topic(), f"probe-{uuid.uuid4().hex[:8]}"
    stuck = HangingProbe(pg_url, kafka_bus(tansu.bootstrap), topic, schema=pg_schema,
                         group=group, label="stuck")
    stuck.runtime.stop_timeout_s = 2.0
    await stuck.runtime.start()
    await stuck.emit(events_for(keys=1, per_key=1))
    await asyncio.wait_for(stuck.entered.wait(), 30)

    began = time.monotonic()
    await stuck.runtime.stop()
    seconds = time.monotonic() - began
    print(f"stop with a hanging handler: {seconds:.2f}s (bound 2s)")
    assert seconds < 2.0 + EXIT_MARGIN_S

    # Its transaction was rolled back and its offset not committed: the next member of the
    # group applies the event, once.
    probe = Probe(pg_url, kafka_bus(tansu.bootstrap), topic, schema=pg_schema, group=group,
                  label="next")
    await probe.runtime.start()
    try:
        await probe.tally.applied(1)
        assert [(key, n, by) for key, n, _, by in await probe.effects()] == [("k0", 0, "next")]
    finally:
        await probe.runtime.stop()
