"""`python -m services` runs everything in one process (embedded mode);
`python -m services <name>` runs one service (or the gateway) alone."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import uvicorn
import uvloop
from fastapi import FastAPI
from pydantic import ValidationError

from drill_svc.main import connect_gateway
from services.auth import ApiKey, KeyStore, admin_key, dev_key, drill_runner_key, new_secret
from services.gateway import create_gateway
from services.settings import LISTEN_SETTINGS, SERVICES, GatewaySettings, LauncherSettings
from services.upstreams import Upstream, UpstreamsWatcher, read_upstreams_file
from shared.bus import Bus, MemoryBroker, MemoryBus
from shared.bus.kafka import KafkaBus
from shared.db import Database, DatabaseConfigError
from shared.logctx import configure_logging
from shared.privacy import PiiKeyError
from shared.runtime import ServiceRuntime
from shared.settings import BusSettings, ConfigError

log = logging.getLogger("beacon.launcher")

# Past the bound by this much, something hangs: the watchdog ends the process (exit 1).
WATCHDOG_GRACE_S = 3.0


def service_factory(name: str) -> Callable[..., FastAPI]:
    from drill_svc.main import create_app as drill
    from intake_svc.main import create_app as intake
    from notify_svc.main import create_app as notify
    from sentiment_svc.main import create_app as sentiment
    from triage_svc.main import create_app as triage

    factories: dict[str, Callable[..., FastAPI]] = {
        "intake": intake, "triage": triage, "notify": notify, "sentiment": sentiment,
        "drill": drill,
    }
    return factories[name]


def lifespan_of(app: FastAPI) -> Callable[[], contextlib.AbstractAsyncContextManager[object]]:
    return lambda: app.router.lifespan_context(app)


@dataclass
class Embedded:
    gateway: FastAPI
    services: dict[str, FastAPI]
    admin_key: str
    key_is_new: bool


def build_embedded(settings: GatewaySettings, extra_keys: Sequence[ApiKey] = ()) -> Embedded:
    """Every service on one in-memory broker, behind the gateway."""
    broker = MemoryBroker(BusSettings().kafka_partitions)
    apps = {name: service_factory(name)(broker=broker) for name in SERVICES}
    key, made = dev_key(settings.dev_api_key, settings.data_dir)
    upstreams = {name: Upstream.in_process(name, app, settings.upstream_timeout_s)
                 for name, app in apps.items()}
    # The services read BEACON_INTERNAL_SECRET as the gateway does, or share this process's.
    (secret,) = {app.state.internal_secret for app in apps.values()}
    runner_key = settings.drill_api_key or new_secret()
    gateway = create_gateway(upstreams, key_store(settings, admin_key(key),
                                                  [*extra_keys, drill_runner_key(runner_key)]),
                             settings, lifespans=[lifespan_of(app) for app in apps.values()],
                             console_bus=MemoryBus(broker), admin_secret=key,
                             internal_secret=secret)
    connect_gateway(apps["drill"], gateway, runner_key)
    return Embedded(gateway, apps, key, made)


def key_store(settings: GatewaySettings, builtin: ApiKey,
              static: Sequence[ApiKey] = ()) -> KeyStore:
    return KeyStore(Database(settings.effective_database_url()), static, builtin)


def build_distributed_gateway(settings: GatewaySettings) -> FastAPI:
    if not settings.internal_secret:
        raise ConfigError("BEACON_INTERNAL_SECRET", "required by a gateway run alone (the "
                                                    "services must share it)")
    key, _ = dev_key(settings.dev_api_key, settings.data_dir)
    upstreams = {name: Upstream.over_http(name, urls, settings.upstream_timeout_s)
                 for name, urls in upstream_urls(settings).items()}
    lifespans: list[Callable[[], contextlib.AbstractAsyncContextManager[object]]] = []
    if settings.upstreams_file is not None:  # replicas come and go: follow the file
        lifespans.append(UpstreamsWatcher(settings.upstreams_file, upstreams).running)
    runner = [drill_runner_key(settings.drill_api_key)] if settings.drill_api_key else []
    return create_gateway(upstreams, key_store(settings, admin_key(key), runner), settings,
                          lifespans=lifespans, console_bus=console_bus(), admin_secret=key,
                          internal_secret=settings.internal_secret)


def upstream_urls(settings: GatewaySettings) -> dict[str, list[str]]:
    """Each service's replicas at start: from GATEWAY_UPSTREAMS_FILE (none is allowed: a
    service scaled to 0), else from `<SERVICE>_URL` (at least one each)."""
    if settings.upstreams_file is not None:
        return read_upstreams_file(settings.upstreams_file, SERVICES)
    urls = settings.upstream_urls()
    for name, found in urls.items():
        if not found:
            raise ConfigError(f"{name.upper()}_URL", "names no replica URL")
    return urls


def console_bus() -> Bus | None:
    """The console's own consumer in distributed mode (none without Kafka settings)."""
    bus_settings = BusSettings()
    if bus_settings.kind != "kafka":
        return None
    return KafkaBus(bus_settings, client_id="beacon-console")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: after stopping, it re-raises the signal it
    caught, which would end the process before our lifespan drained (see `serve`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Shutdown:
    """The first SIGTERM or SIGINT starts a drain bounded by `timeout`; a second one, or a
    drain that hangs past the bound, ends the process at once (exit 1)."""

    def __init__(self, server: uvicorn.Server, runtimes: Sequence[ServiceRuntime],
                 timeout: float) -> None:
        self.server, self.runtimes, self.timeout = server, runtimes, timeout
        self.deadline: float | None = None

    def begin(self, sig: signal.Signals) -> None:
        if self.deadline is not None:
            log.warning("%s again: exiting without draining", sig.name)
            os._exit(1)
        self.deadline = time.monotonic() + self.timeout
        log.info("%s: stopping within %.0fs (HTTP requests in flight, then event handlers "
                 "in hand, then the outbox)", sig.name, self.timeout)
        self.server.should_exit = True  # stop accepting; answer what is in flight
        for runtime in self.runtimes:
            runtime.stop_deadline = self.deadline
        # Never cancelled: it also covers the interpreter's own teardown after `serve`.
        watchdog = threading.Timer(self.timeout + WATCHDOG_GRACE_S, self._expired)
        watchdog.daemon = True
        watchdog.start()

    def _expired(self) -> None:
        log.error("still stopping %.0fs after the signal (SHUTDOWN_TIMEOUT_S=%.0f): exiting",
                  self.timeout + WATCHDOG_GRACE_S, self.timeout)
        os._exit(1)


def server_config(app: FastAPI, host: str, port: int, log_level: str, *,
                  trusted_proxies: Sequence[str] = (), timeout: float = 10.0) -> uvicorn.Config:
    """How every Beacon process listens. X-Forwarded-For is believed only from
    `trusted_proxies` (never from loopback by default, as uvicorn would); h11 buffers at
    most 64 KiB of a request head (the gateway refuses more than MAX_HEADER_BYTES itself)."""
    return uvicorn.Config(app, host=host, port=port, lifespan="off",
                          log_level=log_level.lower(), access_log=False, log_config=None,
                          timeout_graceful_shutdown=max(int(timeout / 2), 1),
                          proxy_headers=bool(trusted_proxies),
                          forwarded_allow_ips=list(trusted_proxies) or "",
                          server_header=False, h11_max_incomplete_event_size=64 * 1024)


async def serve(app: FastAPI, host: str, port: int, log_level: str,
                runtimes: Sequence[ServiceRuntime] = (), *,
                trusted_proxies: Sequence[str] = ()) -> None:
    """Start the app's lifespan ourselves so a bad setting ends in one line, then serve.

    On SIGTERM/SIGINT, within SHUTDOWN_TIMEOUT_S: uvicorn stops accepting and finishes the
    requests in flight (for at most half the bound); then the lifespan stops each runtime
    (consumers finish their batches and commit, the outbox is flushed, the producer stops)
    by the deadline; the process exits 0."""
    timeout = LauncherSettings().shutdown_timeout_s
    config = server_config(app, host, port, log_level, trusted_proxies=trusted_proxies,
                           timeout=timeout)
    server = _Server(config)
    shutdown = Shutdown(server, runtimes, timeout)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, shutdown.begin, sig)
    try:
        async with app.router.lifespan_context(app):
            # What start-up made (modules, models, rules) lives as long as the process:
            # out of the collector's reach, full collections stop walking it (bench/console.py
            # found them to be the board's p99: 120-145 ms each, every ~40 renders).
            gc.freeze()
            if shutdown.deadline is None:  # no signal while starting
                await server.serve()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def describe(exc: BaseException) -> str | None:
    """One line for a configuration problem, or None for a real bug."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'setting'}: {err['msg']}"
            for err in exc.errors()
        )
    if isinstance(exc, DatabaseConfigError):
        return f"DATABASE_URL: {exc}"
    if isinstance(exc, PiiKeyError):
        return f"PII_KEYS: {exc}"
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = describe(inner)
            if found:
                return found
    cause = exc.__cause__ or exc.__context__
    return describe(cause) if cause is not None else None


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "all"
    if name not in ("all", "gateway", *SERVICES):
        print(f"beacon: unknown service {name!r}; one of: gateway, {', '.join(SERVICES)}",
              file=sys.stderr)
        return 2
    try:
        # Lines outside any service's work name the process: the service it runs, or
        # `beacon` for the embedded process that holds them all.
        configure_logging(LauncherSettings().log_level,
                          service="beacon" if name == "all" else name)
    except (ConfigError, ValidationError) as exc:
        print(f"beacon: configuration error: {describe(exc)}", file=sys.stderr)
        return 2
    try:
        # uvloop: the event loop's own cost per request is a fraction of asyncio's.
        uvloop.run(_run(name))
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        line = describe(exc)
        if line is None:
            raise
        print(f"beacon: configuration error: {line}", file=sys.stderr)
        return 2
    return 0


async def _run(name: str) -> None:
    if name == "all":
        settings = GatewaySettings()
        embedded = build_embedded(settings)
        if embedded.key_is_new:
            print(f"beacon: generated admin API key (stored in {settings.data_dir}/dev_api_key):"
                  f"\n  {embedded.admin_key}", file=sys.stderr)
        print(f"beacon: embedded mode on http://{settings.host}:{settings.port}: the console at /"
              f" (sign in as admin with the admin key), the API docs at /api/v1/docs",
              file=sys.stderr)
        await serve(embedded.gateway, settings.host, settings.port, settings.log_level,
                    [app.state.runtime for app in embedded.services.values()],
                    trusted_proxies=settings.proxies())
        return
    if name == "gateway":
        settings = GatewaySettings()
        await serve(build_distributed_gateway(settings), settings.host, settings.port,
                    settings.log_level, trusted_proxies=settings.proxies())
        return
    if BusSettings().kind != "kafka":
        raise ConfigError("BUS", "a service run alone needs BUS=kafka (memory is embedded-only)")
    host, port = listen_address(name)
    app = service_factory(name)()
    await serve(app, host, port, LauncherSettings().log_level, [app.state.runtime])


def listen_address(name: str) -> tuple[str, int]:
    """(`<NAME>_HOST`, `<NAME>_PORT`) of a service run alone."""
    listen = LISTEN_SETTINGS[name]()
    return listen.host, listen.port
