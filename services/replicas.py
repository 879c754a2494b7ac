"""How the gateway reaches one replica of a service, at the least cost per request.

The profile of the gateway under load (bench/intake.py --profile) put about a third of its
CPU in httpx's connection pool, which walks every pooled connection and asks each socket
for its peer on every request (encode/httpx#3215). Here instead:
- `HttpReplica`: keep-alive HTTP/1.1 connections over asyncio protocols, a LIFO stack of
  idle ones, requests written in one piece and answers parsed by httptools (uvicorn's
  parser); errors are httpx's exceptions, so callers handle them as before;
- `AsgiReplica` (embedded mode): a direct call into the service's ASGI app, no HTTP at all;
- `HttpxReplica`: any httpx client (the tests' ASGI-transport replicas).
Each answers an `Answer`: the status, the headers and the whole body."""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlsplit

import httptools
import httpx
from starlette.types import ASGIApp, Message, Scope

from shared.keepalive import KeepAlivePool

# An idle connection is dropped after this long, before uvicorn's keep-alive timeout (5 s)
# closes it from the other end, so a request is never written into a closing socket.
KEEPALIVE_S = 4.0
MAX_IDLE = 100
MAX_CONNECTIONS = 200
Headers = Iterable[tuple[str, str]]


@dataclass
class Answer:
    """A replica's answer, read whole. `headers` has lowercase names (the last of a repeated
    header wins); the subset of httpx.Response the gateway and the console use."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class Replica(Protocol):
    url: str

    async def send(self, method: str, target: str, headers: Headers, body: bytes
                   ) -> Answer:
        """`target`: the path as it goes on the request line, with its query if any."""
        ...

    async def aclose(self) -> None: ...


def encode_json(value: Any) -> bytes:
    """As httpx encodes a `json=` body."""
    return jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":"),
                         allow_nan=False).encode()


def _checked(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise httpx.LocalProtocolError(f"illegal header {name!r}")
    return f"{name}: {value}\r\n"


class _Connection(asyncio.Protocol):
    """One connection to the replica; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.idle_since = 0.0
        self._answer: asyncio.Future[Answer] | None = None
        self._head_only = False
        self._parser: httptools.HttpResponseParser | None = None
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not an asyncio.Transport subclass).
        self.transport, self.open = cast(asyncio.Transport, transport), True

    def data_received(self, data: bytes) -> None:
        if self._parser is None:  # nothing asked: an answer out of turn breaks the exchange
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(httpx.RemoteProtocolError("the replica closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        self._status = self._parser.get_status_code()
        if self._head_only:  # the answer to HEAD has no body, whatever its length says
            self._finish(keep=False)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser is not None:
            self._finish(keep=self._parser.should_keep_alive())

    # the exchange
    def request(self, head: bytes, body: bytes, head_only: bool) -> asyncio.Future[Answer]:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._parser, self._head_only = httptools.HttpResponseParser(self), head_only
        self._status, self._headers, self._body = 0, {}, []
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)
        return self._answer

    def _finish(self, *, keep: bool) -> None:
        answer, self._answer, self._parser = self._answer, None, None
        if not keep:
            self.close()
        if answer is not None and not answer.done():
            answer.set_result(Answer(self._status, self._headers, b"".join(self._body)))

    def _fail(self, exc: Exception) -> None:
        answer, self._answer, self._parser = self._answer, None, None
        self.close()
        if answer is not None and not answer.done():
            answer.set_exception(exc)

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()


class HttpReplica:
    """A replica over the network: a pool of keep-alive connections to `url`."""

    def __init__(self, url: str, timeout: float, *, max_connections: int = MAX_CONNECTIONS,
                 max_idle: int = MAX_IDLE) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected http://host:port, got {url!r}")
        self.url = url.rstrip("/")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self._host_line = f"host: {parts.netloc}\r\n"
        self._pool = KeepAlivePool(self._connect, max_connections=max_connections,
                                   max_idle=max_idle, keepalive_s=KEEPALIVE_S)

    async def send(self, method: str, target: str, headers: Headers, body: bytes
                   ) -> Answer:
        head = "".join((f"{method} {target} HTTP/1.1\r\n", self._host_line,
                        *(_checked(n, v) for n, v in headers),
                        f"content-length: {len(body)}\r\n\r\n" if body or method not in (
                            "GET", "HEAD", "DELETE") else "\r\n")).encode("latin-1")
        try:
            async with asyncio.timeout(self.timeout):
                connection = await self._pool.acquire()
                try:
                    answer = await connection.request(head, body, method == "HEAD")
                except BaseException:
                    connection.close()
                    raise
                finally:
                    self._pool.release(connection)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no answer from {self.url} in time") from exc
        return answer

    async def _connect(self) -> _Connection:
        if self._pool.closed:
            raise httpx.ConnectError(f"{self.url}: the gateway is stopping")
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                _Connection, self.host, self.port)
        except OSError as exc:
            raise httpx.ConnectError(f"{self.url}: {exc}") from exc
        return connection

    async def aclose(self) -> None:
        self._pool.close()


class AsgiReplica:
    """Embedded mode: the service's app called in this process, as an HTTP server would
    call it (the same scope httpx's ASGI transport builds), with no bytes on a socket."""

    def __init__(self, name: str, app: ASGIApp) -> None:
        self.url, self.app = f"http://{name}", app
        self._server = (name, 80)

    async def send(self, method: str, target: str, headers: Headers, body: bytes
                   ) -> Answer:
        path, _, query = target.partition("?")
        raw_headers = [(b"host", self._server[0].encode()),
                       *((n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers)]
        if body:
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope: Scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": unquote(path),
            "raw_path": path.encode("latin-1"), "query_string": query.encode("latin-1"),
            "root_path": "", "server": self._server, "client": ("127.0.0.1", 123),
            "headers": raw_headers,
        }
        status, answer_headers, chunks = 0, dict[str, str](), list[bytes]()
        sent_body, done = False, False
        disconnected: asyncio.Future[None] | None = None

        async def receive() -> Message:
            nonlocal sent_body, disconnected
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            if not done:  # a handler watching for the client to leave: not until answered
                disconnected = asyncio.get_running_loop().create_future()
                await disconnected
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, done
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_headers.update((n.decode("latin-1").lower(), v.decode("latin-1"))
                                      for n, v in message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done = True
                    if disconnected is not None and not disconnected.done():
                        disconnected.set_result(None)

        await self.app(scope, receive, send)
        if not status:
            raise httpx.RemoteProtocolError(f"{self.url} gave no answer")
        return Answer(status, answer_headers, b"".join(chunks))

    async def aclose(self) -> None:
        return None


class HttpxReplica:
    """Any httpx client as a replica."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client, self.url = client, str(client.base_url).rstrip("/")

    async def send(self, method: str, target: str, headers: Headers, body: bytes
                   ) -> Answer:
        answer = await self.client.request(method, target, headers=list(headers),
                                           content=body)
        return Answer(answer.status_code, dict(answer.headers.items()), answer.content)

    async def aclose(self) -> None:
        await self.client.aclose()


def target_of(path: str, params: Mapping[str, Any] | httpx.QueryParams | str | None) -> str:
    """The request line's target: `path` as given plus the query (a raw query string is
    kept as the client sent it; a mapping is encoded as httpx would)."""
    if not params:
        return path
    if isinstance(params, str):
        return f"{path}?{params}"
    query = str(httpx.QueryParams(params))
    return f"{path}?{query}" if query else path
