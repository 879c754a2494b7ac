"""Intake's own POST /api/v1/complaints path, in this process: CPU ms per complaint.

    python bench/intake_path.py                       # SQLite and PostgreSQL, 2,000 each
    python bench/intake_path.py --databases postgres --requests 5000 --keyed

Intake's app (its middleware, the route, validation, masking and sealing, the unit's
inserts and commit, the outbox row, the relay onto the in-memory bus) is called as an ASGI
app, with no HTTP server, no gateway and no other service: `--clients` concurrent callers,
each request signed as the gateway signs it, a distinct body each (`--keyed`: with an
Idempotency-Key each). The figure is this process's CPU time over the measured requests,
divided by the requests: the relay's work is in it, the load generator's is small (one
dict per request). PostgreSQL runs on a throwaway database `beacon_bench_<hex>` (dropped
after); SQLite in a temporary DATA_DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import uvloop
from _common import CONTENTS, PATH, drop_database, machine_line, pg_admin, pg_durability
from fastapi import FastAPI
from starlette.types import Message

from intake_svc.main import create_app
from intake_svc.settings import IntakeSettings
from shared.caller import Caller, signed_headers

CALLER = Caller("bench-key", "bench", frozenset({"complaints:write"}))
Scope = dict[str, object]


def body(run: str, n: int) -> bytes:
    return json.dumps({
        "channel": "hotline",
        "content": f"{CONTENTS[n % len(CONTENTS)]}（bench {run} #{n}）",
        "complainant": {"name": "张三", "phone": f"138{n % 100_000_000:08d}"},
        "target": {"department": "售后"},
    }, ensure_ascii=False).encode()


class Driver:
    """Sends requests straight into the app and counts the answers by status."""

    def __init__(self, app: FastAPI, keyed: bool) -> None:
        self.app, self.keyed = app, keyed
        self.secret: str = app.state.internal_secret
        self.run = uuid.uuid4().hex[:8]
        self.numbers = itertools.count()
        self.statuses: Counter[int] = Counter()

    async def one(self) -> None:
        n = next(self.numbers)
        payload = body(self.run, n)
        request_id = uuid.uuid4().hex
        signed = signed_headers(self.secret, CALLER, "POST", PATH, request_id)
        headers = [(b"host", b"intake"), (b"content-type", b"application/json"),
                   (b"content-length", str(len(payload)).encode()),
                   *((k.encode(), v.encode()) for k, v in signed.items())]
        if self.keyed:
            headers.append((b"idempotency-key", f"{self.run}-{n}".encode()))
        scope: Scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": PATH, "raw_path": PATH.encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await asyncio.Event().wait()  # no disconnect while the answer is pending
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.statuses[int(message["status"])] += 1

        await self.app(scope, receive, send)

    async def load(self, requests: int, clients: int) -> None:
        async def client(count: int) -> None:
            for _ in range(count):
                await self.one()

        await asyncio.gather(*(client(requests // clients) for _ in range(clients)))


async def measure(app: FastAPI, args: argparse.Namespace) -> tuple[Counter[int], float, float]:
    """(answers by status, seconds, CPU seconds) of the measured requests, after a warm-up."""
    caller = Driver(app, args.keyed)
    async with app.router.lifespan_context(app):
        await caller.load(args.clients * 5, args.clients)
        await asyncio.sleep(1.0)  # the warm-up's relay work done
        caller.statuses.clear()
        started, cpu = time.perf_counter(), time.process_time()
        await caller.load(args.requests, args.clients)
        return (caller.statuses, time.perf_counter() - started, time.process_time() - cpu)


def run_one(database: str, args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="beacon-bench-intake-path-") as tmp:
        name = f"beacon_bench_{uuid.uuid4().hex[:12]}"
        url = None
        if database == "postgres":
            asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        try:
            app = create_app(IntakeSettings(database_url=url, data_dir=Path(tmp)))
            statuses, seconds, cpu = uvloop.run(measure(app, args))
        finally:
            if url is not None:
                drop_database(name)
    done = sum(statuses.values())
    accepted = statuses.get(202, 0)
    note = f" ({pg_durability()})" if database == "postgres" else " (WAL, synchronous=NORMAL)"
    return (f"{database}{note}: {done:,} requests in {seconds:.1f} s = {done / seconds:,.0f}/s, "
            f"answers {dict(statuses)}; CPU {cpu / max(accepted, 1) * 1000:.2f} ms per "
            f"accepted complaint; load average "
            + " ".join(f"{x:.2f}" for x in os.getloadavg()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--keyed", action="store_true", help="an Idempotency-Key per request")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    print(machine_line(), flush=True)
    print(f"settings: {args.requests} requests, {args.clients} concurrent callers, "
          f"{'keyed' if args.keyed else 'no Idempotency-Key'}", flush=True)
    for database in args.databases.split(","):
        print(run_one(database, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
