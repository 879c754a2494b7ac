"""The gateway's own proxy client (services/replicas.py) against a real uvicorn server: the
request arrives as sent (method, raw path and query, headers, body), answers of every
framing come back whole, connections are reused and re-opened after the server drops them,
a refused connection is httpx's ConnectError (so the next replica is tried), and a header
that would split the request is refused before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from deploy.support import free_port
from services.launcher import server_config
from services.replicas import AsgiReplica, HttpReplica
from tests.support import eventually, serving

peers: set[tuple[str, int]] = set()


def _app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo/{rest:path}", methods=["GET", "POST", "DELETE", "HEAD"])
    async def echo(request: Request) -> dict[str, Any]:
        assert request.client is not None
        peers.add((request.client.host, request.client.port))
        body = await request.body()
        return {"method": request.method, "raw_path": request.scope["raw_path"].decode(),
                "query": request.scope["query_string"].decode(), "size": len(body),
                "tag": request.headers.get("x-tag")}

    @app.get("/streamed")
    async def streamed() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"x" * 70_000

        return StreamingResponse(parts())

    @app.get("/empty", status_code=204)
    async def empty() -> None:
        return None

    return app


@pytest.fixture
async def replica() -> AsyncIterator[HttpReplica]:
    async with serving(_app()) as port:
        client = HttpReplica(f"http://127.0.0.1:{port}", timeout=10)
        try:
            yield client
        finally:
            await client.aclose()


async def test_the_request_arrives_as_sent(replica: HttpReplica) -> None:
    answer = await replica.send("POST", "/echo/a%20b?x=1&y=%2F", [("x-tag", "t1")],
                                b"z" * 200_000)
    assert answer.status_code == 200
    assert answer.json() == {"method": "POST", "raw_path": "/echo/a%20b", "query": "x=1&y=%2F",
                             "size": 200_000, "tag": "t1"}
    assert answer.headers["content-type"] == "application/json"


async def test_answers_of_every_framing_come_back_whole(replica: HttpReplica) -> None:
    assert len((await replica.send("GET", "/streamed", [], b"")).content) == 210_000  # chunked
    empty = await replica.send("GET", "/empty", [], b"")
    assert (empty.status_code, empty.content) == (204, b"")
    head = await replica.send("HEAD", "/echo/x", [], b"")
    assert (head.status_code, head.content) == (200, b"")
    assert (await replica.send("GET", "/echo/after-head", [], b"")).json()["method"] == "GET"


async def test_connections_are_reused_and_bounded(replica: HttpReplica) -> None:
    peers.clear()
    for _ in range(5):
        await replica.send("GET", "/echo/one", [], b"")
    assert len(peers) == 1  # one keep-alive connection for requests one after the other
    answers = await asyncio.gather(*(replica.send("POST", f"/echo/{n}", [], b"{}")
                                     for n in range(300)))
    assert [a.json()["raw_path"] for a in answers] == [f"/echo/{n}" for n in range(300)]
    assert len(peers) <= 1 + 200  # MAX_CONNECTIONS at once, the rest waited for one


async def _serve_once(app: FastAPI, port: int, client: HttpReplica, path: str) -> int:
    """One request to `app` served on `port`; the server then stops (closing the idle
    connection the client keeps)."""
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, "warning"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), "the server started", within=20)
    try:
        return (await client.send("GET", path, [], b"")).status_code
    finally:
        server.should_exit = True
        await task


async def test_a_dropped_connection_is_replaced() -> None:
    app, port = _app(), free_port()
    client = HttpReplica(f"http://127.0.0.1:{port}", timeout=10)
    try:
        assert await _serve_once(app, port, client, "/echo/1") == 200
        # Stopped: refused, as a stopped replica is (Upstream then tries the next one).
        with pytest.raises(httpx.ConnectError):
            await client.send("GET", "/echo/2", [], b"")
        # Restarted: the connection the first server closed is not reused.
        assert await _serve_once(app, port, client, "/echo/3") == 200
    finally:
        await client.aclose()


async def test_a_header_that_would_split_the_request_is_refused(replica: HttpReplica) -> None:
    with pytest.raises(httpx.LocalProtocolError):
        await replica.send("GET", "/echo/x", [("x-tag", "a\r\nx-admin: yes")], b"")
    assert (await replica.send("GET", "/echo/x", [], b"")).json()["tag"] is None


async def test_the_in_process_replica_builds_the_same_request() -> None:
    replica = AsgiReplica("intake", _app())
    answer = await replica.send("POST", "/echo/a%20b?x=1", [("X-Tag", "t2")], b"abc")
    assert answer.json() == {"method": "POST", "raw_path": "/echo/a%20b", "query": "x=1",
                             "size": 3, "tag": "t2"}
