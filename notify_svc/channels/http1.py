"""The senders' HTTP client: keep-alive HTTP/1.1 over asyncio protocols, answers parsed by
httptools, TLS through the event loop with httpx's own trust (certifi) and verification.

Notify's profile under load (bench/e2e.py, py-spy --gil on notify) put 20% of its samples
in httpx (28% of those under the event loop's tasks): its connection pool, h11 and the anyio
layers below it cost more per webhook than building the message and recording its outcome
(encode/httpx#3215). A webhook is one
POST of a body we built, answered by a status and a small body, so this client does that
and no more: no redirects (a webhook that moved is a configuration to fix), no cookies,
no auth flows, no HTTP/2. The gateway's `services.replicas.HttpReplica` does the same for
the hop to a replica; this one also speaks TLS with a pinned address (`server_hostname`:
the name the certificate must carry) and parses the URLs it is given.

Pools are per key (the senders key them by endpoint, so a slow endpoint waits on its own
connections only), each a `shared.keepalive.KeepAlivePool` bounded by `max_connections`.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import httpx

from shared.keepalive import KeepAlivePool

# An idle connection is dropped after this long: before the keep-alive timeouts common
# servers use (uvicorn's 5 s), so a request is rarely written into a closing socket.
KEEPALIVE_S = 4.0
MAX_IDLE = 16
# A webhook's answer is a status and a small body: a bigger one is refused, so an endpoint
# that streams without end cannot fill the process's memory.
MAX_ANSWER_BYTES = 1 << 20


class HttpFailure(Exception):
    """No answer: the connection failed, was closed, timed out or the answer was not HTTP."""


class InvalidUrl(ValueError):
    """A URL this client cannot send to (not http(s), no host, a bad port)."""


@dataclass
class Reply:
    """The answer, read whole; `headers` with lowercase names."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def reason_phrase(self) -> str:
        try:
            return HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True)
class Target:
    """Where a URL sends: the address to connect to, and the request's target path."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as the request line carries them

    @classmethod
    def of(cls, url: str) -> Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise InvalidUrl(str(exc)) from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidUrl(f"expected http(s)://host/path, got {url[:200]!r}")
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        if any(c in path for c in " \r\n"):
            raise InvalidUrl("the path has a space or a line break")
        return cls(parts.scheme, parts.hostname,
                   port or (443 if parts.scheme == "https" else 80), path)


def _header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise InvalidUrl(f"illegal header {name!r}")
    return f"{name}: {value}\r\n"


class _Connection(asyncio.Protocol):
    """One connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.idle_since = 0.0
        self._answer: asyncio.Future[Reply] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._headed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport, self.open = cast(asyncio.Transport, transport), True

    def data_received(self, data: bytes) -> None:
        if self._parser is None:  # nothing asked: an answer out of turn ends the connection
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(HttpFailure("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(HttpFailure(f"malformed answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if (self._headed and self._parser is not None
                and "content-length" not in self._headers
                and "transfer-encoding" not in self._headers):
            self._finish(keep=False)  # an answer whose body runs to the end of the stream
            return
        self._fail(HttpFailure("the peer closed the connection"
                               + (f": {exc}" if exc is not None else "")))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        self._status, self._headed = self._parser.get_status_code(), True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_ANSWER_BYTES:
            self._fail(HttpFailure(f"answer larger than {MAX_ANSWER_BYTES} bytes"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser is not None:
            self._finish(keep=self._parser.should_keep_alive())

    def request(self, data: bytes) -> asyncio.Future[Reply]:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._status, self._headers, self._body, self._headed = 0, {}, [], False
        self._size = 0
        self.transport.write(data)
        return self._answer

    def _finish(self, *, keep: bool) -> None:
        answer, self._answer, self._parser = self._answer, None, None
        if not keep:
            self.close()
        if answer is not None and not answer.done():
            answer.set_result(Reply(self._status, self._headers, b"".join(self._body)))

    def _fail(self, exc: Exception) -> None:
        answer, self._answer, self._parser = self._answer, None, None
        self.close()
        if answer is not None and not answer.done():
            answer.set_exception(exc)

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()


def _opener(target: Target, server_hostname: str | None, tls: ssl.SSLContext | None
            ) -> Callable[[], Awaitable[_Connection]]:
    """How the pool of one address (one TLS server name) opens a connection."""
    async def open_connection() -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            if tls is None:
                _, connection = await loop.create_connection(_Connection, target.host,
                                                             target.port)
            else:
                _, connection = await loop.create_connection(
                    _Connection, target.host, target.port, ssl=tls,
                    server_hostname=server_hostname or target.host)
        except (OSError, ssl.SSLError) as exc:
            raise HttpFailure(f"connecting to {target.host}:{target.port}: {exc}") from exc
        return connection

    return open_connection


class Http1Client:
    def __init__(self, max_connections: int, tls: ssl.SSLContext | None = None) -> None:
        self.max_connections = max_connections
        self._tls = tls
        # (pool, scheme, host, port, TLS server name) -> its connections
        self._pools: dict[tuple[str, str, str, int, str | None],
                          KeepAlivePool[_Connection]] = {}

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:  # what httpx verifies with: certifi's roots, hostname checked
            self._tls = httpx.create_ssl_context()
        return self._tls

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, seconds: float,
                   pool: str, server_hostname: str | None = None) -> Reply:
        """POST `body` to `url` and read the whole answer within `seconds`. A `host`
        in `headers` replaces the URL's (a pinned address); `server_hostname` is the name
        TLS verifies (else the URL's host). `pool`: which connections it may share."""
        target = Target.of(url)
        key = (pool, target.scheme, target.host, target.port, server_hostname)
        found = self._pools.get(key)
        if found is None:
            found = self._pools[key] = KeepAlivePool(
                _opener(target, server_hostname,
                        self._tls_context() if target.scheme == "https" else None),
                max_connections=self.max_connections, max_idle=MAX_IDLE, keepalive_s=KEEPALIVE_S)
        sending = dict(headers)
        default_port = 443 if target.scheme == "https" else 80
        host = sending.pop("host", None) or (
            target.host if target.port == default_port else f"{target.host}:{target.port}")
        head = "".join((f"POST {target.path} HTTP/1.1\r\n", _header("host", host),
                        *(_header(n, v) for n, v in sending.items()),
                        f"content-length: {len(body)}\r\n\r\n")).encode("latin-1")
        try:
            async with asyncio.timeout(seconds):
                connection = await found.acquire()
                try:
                    return await connection.request(head + body)
                except BaseException:
                    connection.close()
                    raise
                finally:
                    found.release(connection)
        except TimeoutError as exc:
            raise HttpFailure(f"no answer from {target.host}:{target.port}: timed out"
                              ) from exc

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
