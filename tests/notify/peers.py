"""Real local peers for the channel tests: an HTTP server (uvicorn serving a Starlette app on
a socket of its own) and SMTP servers (aiosmtpd), each with a queue of what they received,
and a harness that runs the notify app on the in-memory bus."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deploy.support import free_port
from notify_svc.dispatcher import Outcome
from notify_svc.main import create_app
from notify_svc.settings import NotifySettings
from shared.bus import BusMessage, MemoryBroker, MemoryBus
from shared.events import Envelope as Event
from shared.events import EventPayload, make_event
from shared.events.schemas import (
    ComplaintTriaged,
    Deadlines,
    NotificationAcknowledged,
    NotificationFailed,
    NotificationSent,
    StatementApproved,
    StatementDistributed,
)
from tests.support import Conditions, as_gateway

# ---------------------------------------------------------------------------- HTTP peer


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_port: int = 0  # which connection it came on

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    """How the peer answers one path: fail the first `fail_times` requests with `status`
    (forever when None), wait `delay` seconds first, answer `body`."""

    status: int = 500
    fail_times: int | None = 0
    delay: float = 0.0
    body: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    seen: int = 0


class HttpPeer:
    """`tls`: (certificate, key) PEM files to serve HTTPS with."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.received: list[Received] = []
        self.attempts: list[Received] = []  # every request, the refused ones too
        self.queue: asyncio.Queue[Received] = asyncio.Queue()
        self.behaviour: dict[str, Behaviour] = {}
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)  # connections queue here even before uvicorn accepts
        self.port = int(self.sock.getsockname()[1])
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        self.scheme = "http" if tls is None else "https"
        self.server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1,
            ssl_certfile=tls[0] if tls else None, ssl_keyfile=tls[1] if tls else None))
        self.task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    async def _handle(self, request: Request) -> Response:
        path = request.url.path
        behaviour = self.behaviour.get(path, Behaviour(fail_times=0))
        behaviour.seen += 1
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)  # the slow endpoint under test
        got = Received(path, dict(request.query_params), dict(request.headers),
                       await request.body(), request.client.port if request.client else 0)
        self.attempts.append(got)
        failing = behaviour.fail_times is None or behaviour.seen <= behaviour.fail_times
        if failing:
            return JSONResponse({"error": "failing on purpose"}, status_code=behaviour.status)
        self.received.append(got)
        self.queue.put_nowait(got)
        return JSONResponse(behaviour.body)

    async def __aenter__(self) -> HttpPeer:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task

    async def next(self, within: float = 10.0) -> Received:
        return await asyncio.wait_for(self.queue.get(), within)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


# ---------------------------------------------------------------------------- SMTP peer


class _Mailbox:
    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Message]) -> None:
        self.loop, self.queue = loop, queue
        self.tls_used: list[bool] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.tls_used.append(session.ssl is not None)
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        self.loop.call_soon_threadsafe(self.queue.put_nowait, message)
        return "250 OK"


class SmtpPeer:
    """aiosmtpd in its own thread; `tls` = None (plain) or a server context for STARTTLS."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.mailbox = _Mailbox(asyncio.get_running_loop(), self.queue)
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs = {"tls_context": tls, "require_starttls": True}
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     **kwargs)

    def __enter__(self) -> SmtpPeer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()

    async def next(self, within: float = 10.0) -> Message:
        return await asyncio.wait_for(self.queue.get(), within)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP SAN) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


# ---------------------------------------------------------------------------- harness


class Waiter(Conditions):
    """Collects observations and wakes whoever waits for a condition on them."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def observe(self, *item: Any) -> None:
        self.seen.append(item[0] if len(item) == 1 else item)
        self._changed()

    async def until(self, condition: Callable[[], bool], within: float = 15.0) -> None:
        await self.wait_for(condition, within)


OUTPUT_EVENTS = (NotificationSent, NotificationFailed, NotificationAcknowledged,
                 StatementApproved, StatementDistributed)
ADMIN = {"x-beacon-scopes": "admin", "x-beacon-owner": "root", "x-beacon-key-id": "k0"}


@dataclass
class Notify:
    app: Any
    client: httpx.AsyncClient
    broker: MemoryBroker
    handled: Waiter  # (outcome, bus delivery) after each event's transaction
    outcomes: Waiter  # dispatcher Outcome after each attempt
    emitted: Waiter  # (topic, envelope) of what notify published, as it reaches the bus

    async def publish(self, data: EventPayload, subject: str) -> Event:
        event = make_event(data, source="/test", subject=subject)
        await self.send(event)
        return event

    async def send(self, event: Event) -> None:
        """Put `event` on the bus (on its type's topic) and wait until notify handled it."""
        before = len(self.handled.seen)
        await MemoryBus(self.broker).publish(event.type, event)
        await self.handled.until(lambda: len(self.handled.seen) > before)

    def published(self, event: type[EventPayload]) -> list[Event]:
        return [e for t, e in self.emitted.seen if t == event.topic]

    async def until_published(self, event: type[EventPayload], count: int) -> list[Event]:
        await self.emitted.until(lambda: len(self.published(event)) >= count)
        return self.published(event)

    async def deliveries(self, **params: str) -> list[dict[str, Any]]:
        answer = await self.client.get("/api/v1/notifications", params=params)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def sent(self, status: str = "sent") -> Callable[[], bool]:
        return lambda: any(o.status == status for o in self.outcomes.seen)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes.seen if isinstance(o, Outcome) and o.status == status)


def notify_settings(tmp_path: Path, roster: str, **overrides: Any) -> NotifySettings:
    roster_file = tmp_path / "roster.toml"
    roster_file.write_text(roster, encoding="utf-8")
    values: dict[str, Any] = {
        "data_dir": tmp_path, "database_url": f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}",
        "roster_file": roster_file, "backoff_s": 0.01, "backoff_max_s": 0.05,
        "backoff_jitter_s": 0.0, "max_attempts": 3, "breaker_failures": 100,
        "breaker_reset_s": 60.0, "dispatch_poll_s": 0.05, "public_url": "https://beacon.test",
        "outbox_idle_poll_s": 0.02, "ack_secret": "test-ack-secret-0123456789",
        # The peers listen on loopback: allowed by name, as an operator would.
        "outbound_url_allowlist": "127.0.0.1,localhost",
    }
    values.update(overrides)
    return NotifySettings(**values)


@contextlib.asynccontextmanager
async def running(settings: NotifySettings, schema: str | None = None
                  ) -> AsyncIterator[Notify]:
    broker = MemoryBroker()
    app = create_app(settings, broker=broker, schema=schema)
    handled, outcomes = Waiter(), Waiter()

    def on_handled(outcome: str, delivery: BusMessage) -> None:
        handled.observe(outcome, delivery)

    app.state.runtime.listeners.append(on_handled)
    app.state.dispatcher.listeners.append(outcomes.observe)
    emitted = Waiter()
    observer = MemoryBus(broker)

    async def observe(delivery: BusMessage) -> None:
        emitted.observe(delivery.topic, delivery.envelope)

    observer.subscribe([e.topic for e in OUTPUT_EVENTS], "test-observer", observe)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://notify",
        auth=as_gateway(app),
    ) as client:
        await observer.start()
        try:
            yield Notify(app, client, broker, handled, outcomes, emitted)
        finally:
            await observer.stop()


# ---------------------------------------------------------------------------- events

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def triaged(level: int, complaint_id: str = "c" * 32, department: str | None = None,
            case_id: str = "k" * 32, submitted_by: str | None = None) -> ComplaintTriaged:
    hour = dt.timedelta(hours=1)
    return ComplaintTriaged(
        complaint_id=complaint_id, case_id=case_id, response_level=level, category="safety",
        level_reasons=["有人受伤住院", "要找记者曝光"], department=department,
        submitted_by=submitted_by,
        deadlines=Deadlines(acknowledge_by=NOW + hour, first_contact_by=NOW + 2 * hour,
                            report_by=NOW + 3 * hour, resolve_by=NOW + 24 * hour),
    )


def general_affairs_roster(hook: str, *, log: bool = False) -> str:
    """A roster of one member, general affairs, reached at every level on a webhook (and
    the log channel with `log`), with no digest."""
    channels = f'webhook = "{hook}"' + (', log = "ga"' if log else "")
    levels = "\n".join(f'{level} = ["general_affairs"]' for level in (1, 2, 3, 4))
    return (f'[[member]]\nid = "ga"\nroles = ["general_affairs"]\n'
            f"channels = {{ {channels} }}\n[routing]\n{levels}\n[digest]\nlevels = []\n")
