"""HTTP clients for the services behind the gateway: in-process (ASGI transport) in embedded
mode, over the network in distributed mode; the gateway's code is the same for both."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI


class Upstream:
    """One service; round-robins over its replicas."""

    def __init__(self, name: str, clients: list[httpx.AsyncClient]) -> None:
        if not clients:
            raise ValueError(f"no replicas for {name}")
        self.name = name
        self.clients = clients
        self._next: Iterator[httpx.AsyncClient] = itertools.cycle(clients)

    def client(self) -> httpx.AsyncClient:
        return next(self._next)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send to the next replica; one that refuses the connection (stopped, restarting)
        never saw the request, so the next one is tried, each replica once at most."""
        for tried in range(len(self.clients)):
            try:
                return await self.client().request(method, url, **kwargs)
            except httpx.ConnectError:
                if tried == len(self.clients) - 1:
                    raise
        raise AssertionError("unreachable")  # the loop returns or raises

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

    @classmethod
    def in_process(cls, name: str, app: FastAPI, timeout: float) -> Upstream:
        transport = httpx.ASGITransport(app=app)
        return cls(name, [httpx.AsyncClient(transport=transport, base_url=f"http://{name}",
                                            timeout=timeout)])

    @classmethod
    def over_http(cls, name: str, urls: list[str], timeout: float) -> Upstream:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        return cls(name, [httpx.AsyncClient(base_url=u, timeout=timeout, limits=limits)
                          for u in urls])
