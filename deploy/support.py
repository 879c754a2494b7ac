"""What every starter of processes needs, in one place: deploy/local, bench/ and tests/ use
these (bench through `_common`), and none of it needs a development dependency.

- `free_port`, `bindable`: a loopback port to listen on, and whether one is free;
- `wait_until` (threads) and `until` (asyncio): the one poll-until-ready, for a condition
  that has no event to await (a child's port, its /readyz, rows other processes write);
- `http_ok`, `wait_child_ready`: a child's readiness over HTTP, failing with its log's end;
- `log_tail`: the end of a log, indented, for error messages.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar, overload

import httpx

LOG_TAIL_LINES = 20
T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out on `host` (free until someone else takes it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind `port` now; as servers bind (SO_REUSEADDR), so a
    just-stopped run's TIME_WAIT sockets do not count as taken."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_until(check: Callable[[], T | None], *, within: float, what: str,
               every: float = 0.1) -> T:
    """Call `check` every `every` seconds until it gives a truthy value, and return it;
    TimeoutError naming `what` after `within` seconds. Whatever `check` raises (a child
    that exited) ends the wait."""
    deadline = time.monotonic() + within
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not met in {within:g} s: {what}")
        time.sleep(every)
    return value


@overload
async def until(check: Callable[[], Awaitable[T | None]], *, within: float, what: str,
                every: float = 0.05) -> T: ...
@overload
async def until(check: Callable[[], T | None], *, within: float, what: str,
                every: float = 0.05) -> T: ...
async def until(check: Callable[[], object], *, within: float, what: str,
                every: float = 0.05) -> object:
    """`wait_until` in an event loop; `check` may be a coroutine function."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"not met in {within:g} s: {what}")
        await asyncio.sleep(every)


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    """Until something accepts connections on host:port."""
    def listening() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        wait_until(listening, within=timeout, what=f"{host}:{port} listens", every=0.05)
    except TimeoutError:
        raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """GET `url` answers 200 (a connection refused or a timeout is simply not yet)."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log, each indented as `  | …`, for an error message."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"  (no log at {path})"
    return "\n".join(f"  | {line}" for line in text) or f"  (empty log {path})"


class ChildFailed(Exception):
    """A child process exited, or did not get ready in time; the message ends with its log."""


def wait_child_ready(url: str, process: subprocess.Popen[bytes], log: Path, *, name: str,
                     within: float) -> None:
    """Poll `url` (a readiness endpoint) until it answers 200; ChildFailed, with the end of
    `log`, when the process exits first or `within` seconds pass."""
    def ready() -> bool:
        if process.poll() is not None:
            raise ChildFailed(f"{name} exited with code {process.returncode}; the end of "
                              f"{log}:\n{log_tail(log)}")
        return http_ok(url)

    try:
        wait_until(ready, within=within, what=f"{name} ready", every=0.2)
    except TimeoutError:
        raise ChildFailed(f"{name} not ready after {within:.0f}s:\n{log_tail(log)}") from None
