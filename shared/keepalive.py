"""A bounded pool of keep-alive connections: the part the gateway's client to replicas
(`services.replicas.HttpReplica`) and notify's webhook client (`notify_svc.channels.http1`)
share. Idle connections are reused last-in first-out and dropped after `keepalive_s` (before
the keep-alive timeouts servers use, so a request is rarely written into a closing socket);
at the bound, a caller waits for a connection handed back, or for a slot a closed one left.
How a connection is opened, and what its failures are called, is the caller's `open`."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar


class Connection(Protocol):
    open: bool
    idle_since: float

    def close(self) -> None: ...


C = TypeVar("C", bound=Connection)


class KeepAlivePool(Generic[C]):
    def __init__(self, open_connection: Callable[[], Awaitable[C]], *, max_connections: int,
                 max_idle: int, keepalive_s: float) -> None:
        self._open = open_connection
        self._max, self._max_idle, self._keepalive_s = max(1, max_connections), max_idle, \
            keepalive_s
        self._idle: list[C] = []
        self._waiting: collections.deque[asyncio.Future[C | None]] = collections.deque()
        self._count = 0
        self.closed = False

    async def acquire(self) -> C:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.open and now - connection.idle_since < self._keepalive_s:
                return connection
            connection.close()
            self._count -= 1
        if self._count >= self._max:
            waiter: asyncio.Future[C | None] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed one, then cancelled
                    if (given := waiter.result()) is not None:
                        self.release(given)
                    else:
                        self._wake(None)
                raise
            if handed is not None:
                return handed
        self._count += 1
        try:
            return await self._open()
        except BaseException:
            self._count -= 1
            self._wake(None)  # a waiter may try in its place
            raise

    def release(self, connection: C) -> None:
        if not connection.open or self.closed:
            connection.close()
            self._count -= 1
            self._wake(None)  # a waiter may open a new connection in its place
            return
        if self._wake(connection):
            return
        if len(self._idle) >= self._max_idle:
            connection.close()
            self._count -= 1
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def _wake(self, connection: C | None) -> bool:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # with None, the waiter connects itself, within the bound
                waiter.set_result(connection)
                return True
        return False

    def close(self) -> None:
        """Close the idle connections; those in use close when they are handed back."""
        self.closed = True
        for connection in self._idle:
            connection.close()
        self._count -= len(self._idle)
        self._idle.clear()
