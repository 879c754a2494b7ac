"""Faults under load: `python bench/chaos.py [--seconds 300] [--rate 16]`.

Distributed mode (`deploy.local.up`, as `make up` starts it) on a PostgreSQL cluster of its
own (initdb into a temporary folder, so restarting it disturbs no other database on the
machine) takes complaints at `--rate` per second, each with its own Idempotency-Key, the
way a hotline sends them: an answer other than 202 (a refused connection, a 502 from the
gateway, a 503) is retried with the same key until it is accepted. Meanwhile:
  every `--kill-every` s  one service replica, chosen at random, gets SIGKILL and a new one
                          takes its port (`deploy.local.start_replica`, as a supervisor would);
  at a third of the run   Tansu gets SIGKILL and starts again on its port, empty (its storage
                          is memory only);
  at two thirds           PostgreSQL restarts in immediate mode (a crash; WAL recovery).
Then it waits until every accepted complaint is notified (or `--settle` s pass) and counts,
at every stage, what each stage holds of the accepted complaints:
  accepted   202 answers the load generator got (ids);
  stored     intake's rows for those ids;
  triaged    triage's cases for them;
  notified   complaints whose every expected delivery reached the webhook sink.
lost = accepted ids missing at a stage; doubled = a complaint stored twice for one key, a
second case for one complaint, or one member told twice about one complaint and level
(distinct delivery ids; the same delivery id again is a retry, which the sink drops, and
is counted apart). The ids of anything lost or doubled are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from _common import CONTENTS, PATH, machine_line, percentile
from e2e import Deliveries, bench_roster, child_server, service_env

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy import local  # noqa: E402
from deploy.support import free_port  # noqa: E402
from deploy.tansu import Tansu  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
KILLABLE = ("intake", "triage", "notify", "sentiment")


def say(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------- a PostgreSQL of our own


@dataclass
class Postgres:
    """A throwaway cluster owned by the `postgres` user (initdb refuses to run as root)."""

    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/beacon"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/beacon"

    def _as_postgres(self, *argv: str) -> None:
        command = list(argv)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT, cwd="/tmp")

    def _pg_ctl(self, *argv: str) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-w",
                          "-t", "60", "-l", str(self.folder / "server.log"), *argv)

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.folder / "data"),
                          "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                          "-U", "postgres", "beacon")

    def start(self) -> None:
        self._pg_ctl("-o", f"-p {self.port} -c listen_addresses=127.0.0.1 "
                           f"-k {self.folder} -c max_connections=300", "start")

    def restart(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")
        self.start()

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("-m", "fast", "stop")


@contextlib.contextmanager
def own_postgres(keep: bool) -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="beacon-chaos-pg-"))
    cluster = Postgres(folder, free_port())
    try:
        cluster.create()
        yield cluster
    finally:
        if not keep:
            cluster.stop()
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- the hotline


@dataclass
class Hotline:
    """Open-loop sender: complaint n is due at start + n/rate; each is retried with its own
    Idempotency-Key until accepted (or `give_up` s after it was due)."""

    url: str
    key: str
    give_up: float
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> complaint id
    answers: Counter[str] = field(default_factory=Counter)  # answers that were retried
    unsent: list[str] = field(default_factory=list)  # keys never accepted
    latency: list[float] = field(default_factory=list)  # due -> accepted, retries included

    async def run_for(self, rate: float, seconds: float) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=10) as client:
            began = time.monotonic()
            tasks = []
            for n in range(int(rate * seconds)):
                delay = began + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self._send(client, n, time.monotonic())))
            await asyncio.gather(*tasks)

    async def _send(self, client: httpx.AsyncClient, n: int, due: float) -> None:
        key = f"chaos-{self.run}-{n}"
        body = {"channel": "hotline", "external_ref": key,
                "content": f"{CONTENTS[n % len(CONTENTS)]}（chaos {self.run} #{n}）",
                "complainant": {"name": "张三", "phone": f"139{n % 100_000_000:08d}"}}
        headers = {"Authorization": f"Bearer {self.key}", "Idempotency-Key": key}
        pause = 0.2
        while time.monotonic() - due < self.give_up:
            try:
                answer = await client.post(PATH, json=body, headers=headers)
            except httpx.HTTPError as exc:
                self.answers[type(exc).__name__] += 1
            else:
                if answer.status_code in (200, 201, 202):
                    self.accepted[key] = answer.json()["id"]
                    self.latency.append(time.monotonic() - due)
                    return
                self.answers[f"HTTP {answer.status_code}"] += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)
        self.unsent.append(key)


# ---------------------------------------------------------------- the faults


@dataclass
class Faults:
    data_dir: Path
    env: dict[str, str]
    cluster: Postgres
    log: list[str] = field(default_factory=list)
    broker: Tansu | None = None  # the Tansu this script restarted (not `up`'s any more)
    began: float = field(default_factory=time.monotonic)

    def note(self, text: str) -> None:
        line = f"  t={time.monotonic() - self.began:6.1f}s  {text}"
        self.log.append(line)
        say(line)

    def kill_a_replica(self, chooser: random.Random) -> None:
        state = local.read_state(self.data_dir)
        assert state is not None
        victims = [p for p in state.processes if p.role in KILLABLE and local.alive(p)]
        victim = chooser.choice(victims)
        local.stop_replica(self.data_dir, victim.name, signal.SIGKILL)
        started = time.monotonic()
        fresh = local.start_replica(self.data_dir, victim.role, self.env)
        self.note(f"SIGKILL {victim.name}; {fresh.name} ready on its port "
                  f"in {time.monotonic() - started:.1f}s")

    def restart_tansu(self) -> None:
        state = local.read_state(self.data_dir)
        assert state is not None
        tansu = next(p for p in state.processes if p.role == "tansu")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(tansu.pid, signal.SIGKILL)
        while local.alive(tansu):
            time.sleep(0.05)
        started = time.monotonic()
        self.broker = Tansu(tansu.port, Path(tansu.log)).start()
        self.note(f"SIGKILL Tansu; started again, empty, in {time.monotonic() - started:.1f}s")

    def restart_postgres(self) -> None:
        started = time.monotonic()
        self.cluster.restart()
        self.note(f"PostgreSQL restarted (immediate mode: a crash) in "
                  f"{time.monotonic() - started:.1f}s")

    async def run(self, seconds: float, kill_every: float, seed: int,
                  kinds: set[str]) -> None:
        chooser = random.Random(seed)
        plan: list[tuple[float, Callable[[], None]]] = []
        if "tansu" in kinds:
            plan.append((seconds / 3, self.restart_tansu))
        if "postgres" in kinds:
            plan.append((2 * seconds / 3, self.restart_postgres))
        if "kill" in kinds:
            plan += [(t, lambda: self.kill_a_replica(chooser))
                     for t in range(int(kill_every), int(seconds), int(kill_every))]
        for at, fault in sorted(plan, key=lambda item: item[0]):
            delay = self.began + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await asyncio.to_thread(fault)


# ---------------------------------------------------------------- the count


@dataclass
class Count:
    accepted: int
    lost: dict[str, list[str]]
    doubled: dict[str, list[str]]
    repeats: int
    stuck: dict[str, int]  # deliveries of complaints not notified, by event type and status


async def stage_counts(cluster: Postgres, run: str, ids: set[str], sink: Deliveries) -> Count:
    conn = await asyncpg.connect(cluster.dsn)
    try:
        stored = Counter(r["id"] for r in await conn.fetch(
            "SELECT id FROM intake_complaints WHERE id = ANY($1::text[])", list(ids)))
        # One key is one external_ref: a second row for it is a complaint stored twice.
        twice = await conn.fetch(
            "SELECT external_ref FROM intake_complaints WHERE external_ref LIKE $1 "
            "GROUP BY external_ref HAVING count(*) > 1", f"chaos-{run}-%")
        cases = Counter(r["complaint_id"] for r in await conn.fetch(
            "SELECT complaint_id FROM triage_cases WHERE complaint_id = ANY($1::text[])",
            list(ids)))
        unnotified = [c for c in cases if sink.done_at(c) is None]
        # Where the ones not notified stopped: notify's deliveries for them, by status.
        stuck = {f"{r['event_type']} {r['status']}": r["n"] for r in await conn.fetch(
            "SELECT event_type, status, count(*) AS n FROM notify_deliveries "
            "WHERE complaint_id = ANY($1::text[]) GROUP BY event_type, status", unnotified)}
        backlog = {svc: int(await conn.fetchval(
            f"SELECT count(*) FROM {svc}_outbox WHERE published_at IS NULL"))
            for svc in ("intake", "triage", "notify")}
    finally:
        await conn.close()
    if any(backlog.values()):
        stuck["outbox backlog " + json.dumps(backlog)] = sum(backlog.values())
    notified = {c for c in ids if sink.done_at(c) is not None}
    lost = {"stored": sorted(ids - set(stored)), "triaged": sorted(set(stored) - set(cases)),
            "notified": sorted(set(cases) - notified)}
    doubled = {"stored": sorted(r["external_ref"] for r in twice),
               "triaged": sorted(c for c, n in cases.items() if n > 1),
               "notified": [f"{sink.doubled} member deliveries"] if sink.doubled else []}
    return Count(len(ids), lost, doubled, sink.repeats, stuck)


async def settle(sink: Deliveries, ids: set[str], within: float) -> float:
    began = time.monotonic()
    async with httpx.AsyncClient() as client:
        while time.monotonic() - began < within:
            await sink.poll(client)
            if all(sink.done_at(c) is not None for c in ids):
                break
            await asyncio.sleep(1.0)
    return time.monotonic() - began


# ---------------------------------------------------------------- the run


async def chaos(args: argparse.Namespace, gateway: str, key: str, faults: Faults,
                sink: Deliveries) -> int:
    hotline = Hotline(gateway, key, give_up=args.give_up)
    faults.began = time.monotonic()
    await asyncio.gather(hotline.run_for(args.rate, args.seconds),
                         faults.run(args.seconds, args.kill_every, args.seed,
                                    set(args.faults.split(","))))
    sent = time.monotonic() - faults.began
    ids = set(hotline.accepted.values())
    say(f"sent for {sent:.0f}s: {len(ids)} accepted, {len(hotline.unsent)} never accepted "
        f"within {args.give_up:.0f}s; retried answers: {dict(hotline.answers) or 'none'}")
    lat = sorted(hotline.latency)
    if lat:
        say(f"due -> accepted (retries included): p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(lat, 0.99) * 1000:.0f} ms, max {lat[-1]:.1f} s")
    waited = await settle(sink, ids, args.settle)
    count = await stage_counts(faults.cluster, hotline.run, ids, sink)
    say(f"settled {waited:.0f}s after the last request")
    say("")
    say("| stage | holds | lost | doubled |")
    say("|---|---|---|---|")
    for stage in ("stored", "triaged", "notified"):
        lost, doubled = count.lost[stage], count.doubled[stage]
        say(f"| {stage} | {count.accepted - len(lost) if stage == 'stored' else '-'} "
            f"| {len(lost)} | {len(doubled)} |")
    total_lost = sum(len(v) for v in count.lost.values())
    total_doubled = sum(len(v) for v in count.doubled.values())
    say("")
    say(f"accepted {count.accepted}; lost = {total_lost}; doubled = {total_doubled}; "
        f"deliveries sent again with the same id (dropped by the sink): {count.repeats}")
    if count.stuck:
        say(f"notify's deliveries for the complaints not notified: {count.stuck}")
    for kind, table in (("lost", count.lost), ("doubled", count.doubled)):
        for stage, which in table.items():
            if which:
                say(f"{kind} at {stage}: {', '.join(which[:50])}"
                    + (" ..." if len(which) > 50 else ""))
    return 0 if total_lost == 0 and total_doubled == 0 and not hotline.unsent else 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the load")
    parser.add_argument("--rate", type=float, default=16.0,
                        help="complaints/s (default: half the sustained rate in "
                             "docs/benchmarks.md)")
    parser.add_argument("--kill-every", type=float, default=20.0)
    parser.add_argument("--replicas", type=int, default=2,
                        help="replicas of intake, triage and notify (sentiment runs one)")
    parser.add_argument("--give-up", type=float, default=120.0,
                        help="a complaint not accepted this long after it was due counts as "
                             "never accepted")
    parser.add_argument("--settle", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", default="kill,tansu,postgres",
                        help="which faults to inject (comma-separated)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (logs) and print where it is")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    say(machine_line())
    say(f"chaos: {args.rate:g} complaints/s for {args.seconds:.0f}s; a replica killed every "
        f"{args.kill_every:.0f}s; Tansu restarted at {args.seconds / 3:.0f}s, PostgreSQL at "
        f"{2 * args.seconds / 3:.0f}s; {args.replicas} replicas of intake, triage, notify")
    work = Path(tempfile.mkdtemp(prefix="beacon-chaos-"))
    faults: Faults | None = None
    try:
        with own_postgres(args.keep) as cluster, \
                child_server(work, "--serve-sink", "sink", "/records") as sink_server:
            roster = work / "roster.toml"
            roster.write_text(bench_roster(sink_server.url), encoding="utf-8")
            from notify_svc.roster import load_roster
            loaded = load_roster(roster)
            expected = {level: len(loaded.recipients_for_level(level)) for level in (1, 2, 3, 4)}
            key = f"chaos-{uuid.uuid4().hex}"
            env = service_env({
                "DATABASE_URL": cluster.url, "GATEWAY_PORT": str(free_port()),
                "KAFKA_PORT": str(free_port()), "DEV_API_KEY": key,
                "NOTIFY_ROSTER_FILE": str(roster),
                **{f"{s.upper()}_REPLICAS": str(args.replicas)
                   for s in ("intake", "triage", "notify")},
            })
            data_dir = work / "distributed"
            state = local.up(env, data_dir, timeout=120)
            faults = Faults(data_dir.resolve(), env, cluster)
            try:
                say(f"up: {', '.join(p.name for p in state.processes)}; PostgreSQL "
                    f"{cluster.port} ({cluster.folder})")
                sink = Deliveries(sink_server.url, expected)
                return asyncio.run(chaos(args, state.gateway_url, key, faults, sink))
            finally:
                local.down(data_dir)
                if faults.broker is not None:
                    faults.broker.stop(kill=True)
    finally:
        if args.keep:
            say(f"logs kept in {work}; PostgreSQL left running (pg_ctl -D <folder>/data stop)")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
