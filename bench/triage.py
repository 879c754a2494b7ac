"""Triage throughput and escalation-timer cost.

    python bench/triage.py                       # everything, 5,000 complaints, 100,000 cases
    python bench/triage.py --complaints 1000 --open-cases 20000   # a quick look

1. Complaints triaged per second: `complaint.received` events are published up front and
   the triage service (its real consumer, level engine, history queries, group detection,
   escalation timers, outbox) applies them; rate = complaints / (first publish .. last
   applied). Scenarios: memory bus + SQLite (embedded mode) and Tansu + PostgreSQL
   (distributed mode). Ceiling measured in the same run: the level engine alone (assess
   plus deadlines, no I/O) on the same texts.
2. Escalation timers with `--open-cases` open cases in PostgreSQL (three timers each, as
   level 1 and 2 cases have): the periodic check that finds nothing due (what every replica
   runs every TRIAGE_TIMER_INTERVAL_S), its p50/p99 and checks per second; then `--due`
   timers made due at once and fired (case.escalated through the outbox), fired per second.
   Baseline in the same run: one indexed `count(*)` of the due timers, the floor for any
   scan.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import CONTENTS, drop_database, machine_line, percentile, pg_admin
from fastapi import FastAPI
from sqlalchemy import func, insert, select, text, update

from deploy.tansu import Tansu
from shared.bus import BusMessage, MemoryBroker, MemoryBus
from shared.bus.kafka import KafkaBus
from shared.events import Envelope, make_event
from shared.events.schemas import ComplaintReceived, ComplaintTarget
from shared.settings import BusSettings
from triage_svc import escalation
from triage_svc.main import create_app
from triage_svc.models import Case, Escalation
from triage_svc.rules import Rules, load_rules
from triage_svc.service import assess, deadlines
from triage_svc.settings import TriageSettings

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
DEPARTMENTS = [f"门店{i:03d}" for i in range(200)]


def _complaints(n: int) -> list[ComplaintReceived]:
    now = datetime.now(UTC)
    return [ComplaintReceived(
        complaint_id=uuid.uuid4().hex, channel="hotline",
        content=f"{CONTENTS[i % len(CONTENTS)]}（编号{i}）", received_at=now,
        target=ComplaintTarget(department=DEPARTMENTS[i % len(DEPARTMENTS)]),
        complainant_key=f"person-{i}") for i in range(n)]


def engine_ceiling(complaints: list[ComplaintReceived], rules: Rules) -> float:
    started = time.process_time()
    for complaint in complaints:
        level = assess(complaint, rules).response_level
        deadlines(level, complaint.received_at, rules)
    return len(complaints) / (time.process_time() - started)


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[str]:
    name = f"bench_triage_{uuid.uuid4().hex[:8]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG + name
    finally:
        await asyncio.to_thread(drop_database, name)


Publish = Callable[[Sequence[tuple[str, Envelope]]], Awaitable[None]]


async def _triage_rate(app: FastAPI, publish: Publish, complaints: list[ComplaintReceived]
                       ) -> float:
    done, applied = asyncio.Event(), [0]

    def observe(outcome: str, _delivery: BusMessage) -> None:
        applied[0] += outcome == "applied"
        if applied[0] >= len(complaints):
            done.set()

    app.state.runtime.listeners.append(observe)
    async with app.router.lifespan_context(app):
        events = [(ComplaintReceived.topic,
                   make_event(c, source="/bench", subject=c.complaint_id))
                  for c in complaints]
        started = time.perf_counter()
        for i in range(0, len(events), 500):
            await publish(events[i:i + 500])
        await asyncio.wait_for(done.wait(), 600)
        return len(events) / (time.perf_counter() - started)


async def memory_sqlite(complaints: list[ComplaintReceived], data_dir: Path) -> float:
    broker = MemoryBroker(4)
    app = create_app(TriageSettings(data_dir=data_dir), broker=broker)
    bus = MemoryBus(broker)
    await bus.start()
    try:
        return await _triage_rate(app, bus.publish_batch, complaints)
    finally:
        await bus.stop()


async def kafka_postgres(complaints: list[ComplaintReceived], tansu: Tansu,
                         data_dir: Path) -> float:
    bus_settings = BusSettings(kind="kafka", kafka_bootstrap_servers=tansu.bootstrap,
                               kafka_partitions=4)
    async with _database() as url:
        # With BUS=kafka a service needs the secret the gateway signs with; nothing signs here.
        app = create_app(TriageSettings(data_dir=data_dir, database_url=url, bus=bus_settings,
                                        internal_secret=secrets.token_hex(16)))
        producer = KafkaBus(bus_settings, client_id="bench-producer")
        await producer.start()
        try:
            return await _triage_rate(app, producer.publish_batch, complaints)
        finally:
            await producer.stop()


async def timers(open_cases: int, due: int, rounds: int, data_dir: Path) -> dict[str, float]:
    rules = load_rules()
    async with _database() as url:
        app = create_app(TriageSettings(data_dir=data_dir, database_url=url,
                                        timer_interval_s=3600))
        runtime = app.state.runtime
        async with app.router.lifespan_context(app):
            now = datetime.now(UTC)
            await _seed(runtime, open_cases, now)
            idle: list[float] = []
            for _ in range(rounds):
                started = time.perf_counter()
                assert await escalation.check(runtime, rules, now=now) == 0
                idle.append(time.perf_counter() - started)
            floor: list[float] = []
            async with runtime.db.session() as session:
                for _ in range(rounds):
                    started = time.perf_counter()
                    await session.scalar(select(func.count()).select_from(Escalation).where(
                        Escalation.status == "pending", Escalation.due_at <= now))
                    floor.append(time.perf_counter() - started)
            async with runtime.db.transaction() as session:  # `due` cases run out at once
                ids = select(Case.id).order_by(Case.id).limit(due).scalar_subquery()
                await session.execute(update(Escalation).where(
                    Escalation.case_id.in_(ids), Escalation.step == 1,
                ).values(due_at=now - timedelta(seconds=1)))
            started = time.perf_counter()
            fired = await escalation.check(runtime, rules, now=now)
            fire_s = time.perf_counter() - started
    idle.sort()
    floor.sort()
    return {"idle_p50_ms": percentile(idle, 0.5) * 1e3, "idle_p99_ms": percentile(idle, 0.99) * 1e3,
            "checks_per_s": 1 / statistics.mean(idle),
            "floor_p50_ms": percentile(floor, 0.5) * 1e3,
            "fired": fired, "fired_per_s": fired / fire_s}


async def _seed(runtime: object, open_cases: int, now: datetime) -> None:
    """`open_cases` level-2 cases, each with its three pending timers, in bulk."""
    later = now + timedelta(hours=12)
    db = runtime.db  # type: ignore[attr-defined]
    for start in range(0, open_cases, 5000):
        cases: list[dict[str, Any]] = []
        timers_: list[dict[str, Any]] = []
        for i in range(start, min(open_cases, start + 5000)):
            case_id = f"{i:032x}"
            cases.append(dict(
                id=case_id, complaint_id=case_id, response_level=2, category="other",
                level_reasons=["bench"], state="triaged", department=DEPARTMENTS[i % 200],
                drill=False, opened_at=now, acknowledge_by=later, first_contact_by=later,
                report_by=later, resolve_by=later, rules_version=2, escalation_step=0,
                media=False, people_count=1, fingerprint=[]))
            timers_.extend(dict(id=uuid.uuid4().hex, case_id=case_id, step=step, role=role,
                                clock=clock, due_at=later + timedelta(minutes=step),
                                status="pending")
                           for step, role, clock in ((1, "general_affairs", "report"),
                                                     (2, "leadership_group", "first_contact"),
                                                     (3, "superior_authority", "resolve")))
        async with db.transaction() as session:
            await session.execute(insert(Case), cases)
            await session.execute(insert(Escalation), timers_)
    # What autovacuum does soon after a bulk load; without statistics the planner scans.
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE triage_cases, triage_escalations"))


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    print(machine_line())
    complaints = _complaints(args.complaints)
    rules = load_rules()
    print(f"\nlevel engine alone (ceiling): {engine_ceiling(complaints, rules):,.0f} "
          "complaints/s of CPU")
    with tempfile.TemporaryDirectory() as tmp:
        rate = await memory_sqlite(_complaints(args.complaints), Path(tmp) / "m")
        print(f"triaged, memory bus + SQLite:  {rate:,.0f} complaints/s "
              f"({args.complaints:,} complaints)")
        tansu = Tansu().start()
        try:
            rate = await kafka_postgres(_complaints(args.complaints), tansu, Path(tmp) / "k")
        finally:
            tansu.stop()
        print(f"triaged, Tansu + PostgreSQL:   {rate:,.0f} complaints/s "
              f"({args.complaints:,} complaints)")
        t = await timers(args.open_cases, args.due, args.rounds, Path(tmp) / "t")
    print(f"\nescalation check with {args.open_cases:,} open cases "
          f"({3 * args.open_cases:,} pending timers), PostgreSQL:")
    print(f"  nothing due: p50 {t['idle_p50_ms']:.2f} ms, p99 {t['idle_p99_ms']:.2f} ms -> "
          f"{t['checks_per_s']:,.0f} checks/s of all {3 * args.open_cases:,} timers "
          "(two index range scans, not a pass over every row)")
    print(f"  floor (one indexed count of due timers): p50 {t['floor_p50_ms']:.2f} ms")
    print(f"  {int(t['fired']):,} due at once: {t['fired_per_s']:,.0f} escalations fired/s "
          "(case.escalated written to the outbox)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=int, default=5000)
    parser.add_argument("--open-cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=50)
    sys.exit(asyncio.run(main(parser.parse_args())))
