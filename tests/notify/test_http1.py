"""The senders' HTTP/1.1 client against real servers: uvicorn over plain HTTP and TLS, and a
raw asyncio server for answers uvicorn never gives (a body that runs to the close, a close
before any answer, no answer at all)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from notify_svc.channels.http1 import MAX_ANSWER_BYTES, Http1Client, HttpFailure, InvalidUrl
from tests.notify.peers import Behaviour, HttpPeer, notify_settings, running, self_signed, triaged
from tests.notify.test_channels import ROUTING, member


async def test_posts_reuse_one_keep_alive_connection() -> None:
    async with HttpPeer() as peer:
        client = Http1Client(max_connections=2)
        try:
            for n in range(3):
                reply = await client.post(peer.url(f"/hook?n={n}"), b'{"n": 1}',
                                          {"content-type": "application/json"}, seconds=5,
                                          pool="p")
                assert reply.status_code == 200 and reply.json() == {"errcode": 0,
                                                                      "errmsg": "ok"}
        finally:
            await client.aclose()
    assert [r.query for r in peer.received] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
    assert {r.body for r in peer.received} == {b'{"n": 1}'}
    assert len({r.client_port for r in peer.received}) == 1  # one connection, kept alive
    assert peer.received[0].headers["host"] == f"127.0.0.1:{peer.port}"


async def test_an_error_status_is_an_answer_with_its_standard_phrase() -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/down"] = Behaviour(status=503, fail_times=None)
        client = Http1Client(max_connections=1)
        try:
            reply = await client.post(peer.url("/down"), b"{}", {}, seconds=5, pool="p")
        finally:
            await client.aclose()
    assert (reply.status_code, reply.reason_phrase) == (503, "Service Unavailable")


async def test_https_verifies_the_certificate_for_the_pinned_name(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)  # a certificate for 127.0.0.1
    trusting = ssl.create_default_context(cafile=str(cert))
    async with HttpPeer(tls=(cert, key)) as peer:
        client = Http1Client(max_connections=1, tls=trusting)
        try:
            reply = await client.post(peer.url("/secure"), b"{}", {"host": "hooks.test"},
                                      seconds=5, pool="p", server_hostname="127.0.0.1")
            with pytest.raises(HttpFailure, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
                await client.post(peer.url("/secure"), b"{}", {}, seconds=5, pool="q",
                                  server_hostname="hooks.test")  # not the certificate's name
        finally:
            await client.aclose()
        untrusting = Http1Client(max_connections=1)  # certifi's roots, as httpx has them
        try:
            with pytest.raises(HttpFailure, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
                await untrusting.post(peer.url("/secure"), b"{}", {}, seconds=5, pool="p")
        finally:
            await untrusting.aclose()
    assert reply.status_code == 200
    [got] = peer.received
    assert got.headers["host"] == "hooks.test"  # the Host the guard gives, not the address


async def test_a_webhook_with_an_untrusted_certificate_is_not_sent(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    async with HttpPeer(tls=(cert, key)) as peer:
        roster = member(f'webhook = {{ address = "{peer.url("/hook")}" }}') + ROUTING
        settings = notify_settings(tmp_path, roster, max_attempts=1)
        async with running(settings) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(notify.sent("dead"))
            [item] = await notify.deliveries(complaint_id="c" * 32)
    assert "certificate" in item["last_error"].lower() or (
        "CERTIFICATE_VERIFY_FAILED" in item["last_error"])
    assert peer.received == []


@contextlib.asynccontextmanager
async def raw_server(answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                      Awaitable[None] | None]
                     ) -> AsyncIterator[str]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        result = answer(reader, writer)
        if result is not None:
            await result
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/x"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_body_that_runs_to_the_close_is_read_whole() -> None:
    def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{\"errcode\": 0}")

    async with raw_server(answer) as url:
        client = Http1Client(max_connections=1)
        try:
            reply = await client.post(url, b"{}", {}, seconds=5, pool="p")
        finally:
            await client.aclose()
    assert reply.status_code == 200 and reply.json() == {"errcode": 0}


async def test_a_close_before_any_answer_and_a_silent_peer_fail() -> None:
    def hang_up(_r: asyncio.StreamReader, _w: asyncio.StreamWriter) -> None:
        return None

    never = asyncio.Event()

    async def silent(_r: asyncio.StreamReader, _w: asyncio.StreamWriter) -> None:
        await never.wait()

    client = Http1Client(max_connections=1)
    try:
        async with raw_server(hang_up) as url:
            with pytest.raises(HttpFailure, match="closed"):
                await client.post(url, b"{}", {}, seconds=5, pool="p")
        async with raw_server(silent) as url:
            with pytest.raises(HttpFailure, match="timed out"):
                await client.post(url, b"{}", {}, seconds=0.2, pool="p")
            never.set()
        with pytest.raises(InvalidUrl):
            await client.post("ftp://127.0.0.1/x", b"", {}, seconds=1, pool="p")
        with pytest.raises(InvalidUrl):
            await client.post("http://127.0.0.1/x", b"", {"x-a": "1\r\nx-b: 2"}, seconds=1,
                              pool="p")
    finally:
        await client.aclose()


async def test_an_answer_without_end_is_refused_past_its_bound() -> None:
    async def stream(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        with contextlib.suppress(ConnectionError):
            for _ in range(MAX_ANSWER_BYTES // len(chunk) + 2):
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()

    async with raw_server(stream) as url:
        client = Http1Client(max_connections=1)
        try:
            with pytest.raises(HttpFailure, match="larger than"):
                await client.post(url, b"{}", {}, seconds=5, pool="p")
        finally:
            await client.aclose()
