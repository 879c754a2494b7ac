"""Helpers shared by the bench scripts (they import it as `_common`: a script's own folder
is first on sys.path). Nothing here starts Beacon; it measures and loads.

- `percentile`: nearest-rank percentile of a sorted list (what every script reports);
- `RawConnection`: a minimal keep-alive HTTP/1.1 client over raw sockets, because httpx's
  connection pool costs more CPU per request than the servers do (encode/httpx#3215);
- CPU and memory of processes from /proc, so no psutil is needed: `proc_cpu`,
  `proc_rss_mib`, `postgres_cpu`, `busy_cpu`, and `sample`/`cores` for the cores each
  process used between two samples (the rest of the machine is `other`);
- `no_interrupts`, `stop_child`: stopping the servers a script started, Ctrl-C or not;
- `pg_admin`, `pg_durability`, `drop_database`: the maintenance database on 127.0.0.1:5432;
- `bare_app` / `serve_bare`: the bare FastAPI endpoint that is the HTTP ceiling;
- `CONTENTS`: complaint texts of several response levels;
- `machine_line`: what the figures were measured on;
- from deploy/support.py, shared with deploy/local and the tests: `free_port`, `log_tail`,
  `wait_until`/`until` (the one poll-until-ready), `wait_child_ready` (a child's readiness
  endpoint, failing with its log's end as `ChildFailed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import resource
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from deploy.support import ChildFailed as ChildFailed
from deploy.support import free_port as free_port
from deploy.support import log_tail as log_tail
from deploy.support import until as until
from deploy.support import wait_child_ready as wait_child_ready
from deploy.support import wait_until as wait_until
from intake_svc.schemas import ComplaintAccepted, ComplaintIn

PATH = "/api/v1/complaints"
TICKS = os.sysconf("SC_CLK_TCK")
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
CONTENTS = (
    "热水器爆炸，有人受伤住院",
    "快递延误一周，客服电话一直打不通",
    "买到的手机屏幕有坏点，门店拒绝退换",
    "餐厅食物不干净，吃完后腹泻",
    "充电宝充电时冒烟起火，烧坏了桌子",
    "售后维修收费不透明，要求说明",
)


# ---------------------------------------------------------------- statistics


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list; NaN when it is empty."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ---------------------------------------------------------------- HTTP client


class RawConnection:
    """One keep-alive HTTP/1.1 connection; reopened after an error or `Connection: close`."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes, body: bytes) -> tuple[int, bytes]:
        """Send a complete request (head and body in `request`); (status, response body)."""
        if self.reader is not None and self.reader.at_eof():
            await self.close()  # the server closed it while idle (keep-alive timeout), as a
            # pooled client would notice before reusing it
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status, length, chunked, close = parse_head(head)
            answer = (await read_chunked(self.reader) if chunked
                      else await self.reader.readexactly(length))
        except BaseException:
            await self.close()
            raise
        if close:
            await self.close()
        return status, answer

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def parse_head(head: bytes) -> tuple[int, int, bool, bool]:
    """(status, content length, chunked, connection close) of a response head."""
    lines = head.split(b"\r\n")
    status, length, chunked, close = int(lines[0][9:12]), 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = value == b"close"
    return status, length, chunked, close


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


# ---------------------------------------------------------------- processes


def proc_cpu(pid: int) -> float:
    """utime + stime of one process in seconds; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of one process (VmRSS now, or VmHWM: its peak) in MiB; NaN if gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    line = next((x for x in status.splitlines() if x.startswith(f"{field}:")), f"{field}: 0 kB")
    return int(line.split()[1]) / 1024


def postgres_cpu() -> float:
    """Every process named postgres on this machine (all databases, all users)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    total += proc_cpu(int(entry.name))
    return total


def busy_cpu() -> float:
    """Busy CPU seconds of the whole machine (every core), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / TICKS  # minus idle and iowait


@dataclass
class CpuSample:
    at: float
    procs: dict[str, float]
    postgres: float
    loadgen: float
    busy: float


def sample(pids: Mapping[str, int]) -> CpuSample:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSample(time.monotonic(), {n: proc_cpu(p) for n, p in pids.items()},
                     postgres_cpu(), usage.ru_utime + usage.ru_stime, busy_cpu())


def cores(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """Cores used between two samples: load generator, each server process, postgres, rest."""
    wall = max(after.at - before.at, 1e-9)
    used = {"loadgen": (after.loadgen - before.loadgen) / wall}
    used.update({n: max(0.0, after.procs[n] - before.procs.get(n, 0.0)) / wall
                 for n in after.procs})
    # A process (or a PostgreSQL backend) that exited in between takes its CPU time out of
    # the sum: never below zero.
    used["postgres"] = max(0.0, after.postgres - before.postgres) / wall
    used["other"] = max(0.0, (after.busy - before.busy) / wall - sum(used.values()))
    return used


def server_cores(used: Mapping[str, float]) -> float:
    return sum(v for k, v in used.items() if k not in ("loadgen", "other"))


def machine_line() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (f"machine: nproc {len(os.sched_getaffinity(0))}, {model}, "
            f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB; "
            f"python {platform.python_version()}; load average before start {load}")


# ---------------------------------------------------------------- children and databases


@contextlib.contextmanager
def no_interrupts() -> Iterator[None]:
    """Cleanup runs to the end even if Ctrl-C is pressed again."""
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, SIGKILL after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)


async def pg_admin(statement: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        return str(await conn.fetchval(statement) if statement.startswith(("SHOW", "SELECT"))
                   else await conn.execute(statement))
    finally:
        await conn.close()


def pg_durability() -> str:
    fsync = asyncio.run(pg_admin("SHOW fsync"))
    sync = asyncio.run(pg_admin("SHOW synchronous_commit"))
    return f"fsync={fsync}, synchronous_commit={sync}"


def drop_database(name: str) -> None:
    try:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception as exc:
        print(f"  WARNING: could not drop database {name}: {exc}", flush=True)


# ---------------------------------------------------------------- the bare endpoint


def bare_app() -> FastAPI:
    """The same body model and answer as intake, nothing else."""
    app = FastAPI()

    @app.post(PATH, status_code=202, response_model=ComplaintAccepted)
    async def post_complaint(complaint: ComplaintIn) -> ComplaintAccepted:
        complaint_id = uuid.uuid4().hex
        return ComplaintAccepted(id=complaint_id, status_url=f"{PATH}/{complaint_id}")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app


def serve_bare(port: int, loop: str) -> None:
    """Run in a child process: uvicorn with httptools, no access log, on `loop`."""
    import uvicorn

    # uvicorn.run's "auto" picks uvloop. services/launcher.py runs uvicorn inside
    # asyncio.run(), i.e. on the standard asyncio loop: `--bare-loop asyncio` compares that.
    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False,
                loop="uvloop" if loop == "uvloop" else "asyncio", http="httptools")
