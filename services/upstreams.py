"""The services behind the gateway: called in-process (their ASGI app) in embedded mode,
over the network in distributed mode (services/replicas.py); the gateway's code is the same
for both.

In distributed mode the replica list may change while the gateway runs: with
GATEWAY_UPSTREAMS_FILE (which `make up` and `python -m deploy.local scale` keep), the gateway
re-reads the file every second and routes to the replicas it names from then on."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.replicas import (
    Answer,
    AsgiReplica,
    HttpReplica,
    HttpxReplica,
    Replica,
    encode_json,
    target_of,
)
from shared.settings import ConfigError

log = logging.getLogger("beacon.gateway")
UPSTREAMS_POLL_S = 1.0


class Upstream:
    """One service; round-robins over its replicas (none while the service is scaled to 0:
    a request then fails as a refused connection would). A replica is a `Replica` of
    services/replicas.py or an httpx client."""

    def __init__(self, name: str, replicas: Sequence[Replica | httpx.AsyncClient],
                 make_replica: Callable[[str], Replica | httpx.AsyncClient] | None = None
                 ) -> None:
        self.name = name
        self.replicas = [as_replica(r) for r in replicas]
        self._next: Iterator[Replica] = itertools.cycle(self.replicas)
        self._make_replica = make_replica
        # Every replica this upstream made, by URL: one that leaves the list may still have
        # requests in flight, so replicas are closed only with the gateway.
        self._known: dict[str, Replica] = {r.url: r for r in self.replicas}

    def replica(self) -> Replica:
        if not self.replicas:
            raise httpx.ConnectError(f"no replica of {self.name} is running")
        return next(self._next)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.replicas]

    def follow(self, urls: list[str]) -> bool:
        """Route to these replicas from now on; False when they are the ones already."""
        urls = [u.rstrip("/") for u in urls]
        if urls == self.urls:
            return False
        if self._make_replica is None:
            raise ValueError(f"{self.name} is in-process; it has no replicas to follow")
        for url in urls:
            if url not in self._known:
                self._known[url] = as_replica(self._make_replica(url))
        self.replicas = [self._known[u] for u in urls]
        self._next = itertools.cycle(self.replicas)
        return True

    async def request(self, method: str, url: str, *,
                      params: Mapping[str, Any] | httpx.QueryParams | str | None = None,
                      content: bytes = b"", json: Any = None,
                      headers: Mapping[str, str] | None = None) -> Answer:
        """Send to the next replica; one that refuses the connection (stopped, restarting)
        never saw the request, so the next one is tried, each replica once at most.
        `params` as a string is the query as the client wrote it, forwarded unchanged."""
        sent = list((headers or {}).items())
        if json is not None:
            content = encode_json(json)
            if not any(name.lower() == "content-type" for name, _ in sent):
                sent.append(("content-type", "application/json"))
        target = target_of(url, params)
        for tried in range(max(len(self.replicas), 1)):
            try:
                return await self.replica().send(method, target, sent, content)
            except httpx.ConnectError:
                if tried >= len(self.replicas) - 1:
                    raise
        raise AssertionError("unreachable")  # the loop returns or raises

    async def aclose(self) -> None:
        for replica in self._known.values():
            await replica.aclose()

    @classmethod
    def in_process(cls, name: str, app: FastAPI, timeout: float) -> Upstream:
        """Embedded mode: the gateway calls the service's app directly (no HTTP)."""
        return cls(name, [AsgiReplica(name, app)])

    @classmethod
    def over_http(cls, name: str, urls: list[str], timeout: float) -> Upstream:
        def make(url: str) -> Replica:
            return HttpReplica(url, timeout)

        return cls(name, [make(u) for u in urls], make)


def as_replica(replica: Replica | httpx.AsyncClient) -> Replica:
    return HttpxReplica(replica) if isinstance(replica, httpx.AsyncClient) else replica


def read_upstreams_file(path: Path, services: tuple[str, ...]) -> dict[str, list[str]]:
    """`{"<service>": ["http://host:port", …], …}`; ConfigError naming the setting when the
    file is missing or malformed. A service the file leaves out has no replicas."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError("GATEWAY_UPSTREAMS_FILE", f"{path}: {exc}") from exc
    if not isinstance(raw, Mapping) or not all(
            isinstance(v, list) and all(isinstance(u, str) for u in v) for v in raw.values()):
        raise ConfigError("GATEWAY_UPSTREAMS_FILE",
                          f"{path}: expected an object of service name to list of URLs")
    return {name: list(raw.get(name, [])) for name in services}


class UpstreamsWatcher:
    """Keeps the gateway's upstreams on the replicas the file names, checked every `every`
    seconds while the gateway runs. A file that cannot be read changes nothing."""

    def __init__(self, path: Path, upstreams: Mapping[str, Upstream],
                 every: float = UPSTREAMS_POLL_S) -> None:
        self.path, self.upstreams, self.every = path, upstreams, every

    def check(self) -> list[str]:
        """Apply the file once; the services whose replicas changed."""
        try:
            wanted = read_upstreams_file(self.path, tuple(self.upstreams))
        except ConfigError as exc:
            log.warning("upstreams unchanged: %s", exc.problem)
            return []
        changed = [name for name, urls in wanted.items() if self.upstreams[name].follow(urls)]
        for name in changed:
            log.info("routing %s to %s", name, ", ".join(wanted[name]) or "no replica")
        return changed

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.check()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._run(), name="upstreams-watcher")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
