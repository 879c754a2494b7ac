"""The notify app: `uvicorn --factory notify_svc.main:create_app`."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from notify_svc import api, consumers, rosterdb
from notify_svc.channels import Senders
from notify_svc.dispatcher import Dispatcher
from notify_svc.models import metadata
from notify_svc.roster import Roster, RosterError, load_roster
from notify_svc.service import AckTokens, Notifier
from notify_svc.settings import NotifySettings
from notify_svc.templating import Templates
from shared.app import create_service_app
from shared.bus import MemoryBroker
from shared.migrations import prepare_schema
from shared.runtime import ServiceRuntime
from shared.settings import ConfigError

log = logging.getLogger("beacon.notify")


class NotifyRuntime(ServiceRuntime):
    """The service runtime, plus: the roster seeded before any event is handled, and the
    HTTP client closed at the end."""

    def __init__(self, settings: NotifySettings, roster: Roster, senders: Senders,
                 **kwargs: Any) -> None:
        super().__init__("notify", settings, metadata, migrations="notify_svc.migrations",
                         **kwargs)
        self.roster, self.senders, self.roster_source = roster, senders, str(settings.roster_file)

    async def start(self) -> None:
        # A database that fails here fails again in super().start(), which names the setting.
        with contextlib.suppress(OSError, SQLAlchemyError, TimeoutError):
            await prepare_schema(self.db, self.metadata, self.migrations, self.name)
            async with self.db.transaction() as session:
                if await rosterdb.seed_once(session, self.roster, self.roster_source):
                    log.info("roster seeded from %s", self.roster_source)
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        await self.senders.close()


def ack_secret(settings: NotifySettings) -> str:
    """NOTIFY_ACK_SECRET, else a key generated once into DATA_DIR/notify_ack.key."""
    if settings.ack_secret:
        return settings.ack_secret
    path = Path(settings.data_dir) / "notify_ack.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def create_app(
    settings: NotifySettings | None = None, broker: MemoryBroker | None = None,
    *, schema: str | None = None,
) -> FastAPI:
    settings = settings or NotifySettings()
    try:
        roster = load_roster(settings.roster_file)
    except RosterError as exc:
        raise ConfigError("NOTIFY_ROSTER_FILE", str(exc)) from exc
    try:
        templates = Templates(settings.timezone)
    except (KeyError, ValueError) as exc:
        raise ConfigError("NOTIFY_TIMEZONE", f"unknown time zone {settings.timezone!r}") from exc
    senders = Senders(settings)
    runtime = NotifyRuntime(settings, roster, senders, broker=broker, schema=schema)
    notifier = Notifier(settings, roster.rules, templates, AckTokens(ack_secret(settings)))
    dispatcher = Dispatcher(runtime, settings, notifier, senders)
    consumers.register(runtime, notifier)
    # Deliveries recorded by a handler are sent as soon as its transaction committed.
    runtime.listeners.append(lambda _outcome, _delivery: dispatcher.wake())
    runtime.every(settings.dispatch_poll_s, dispatcher.run)

    first = True

    async def digests() -> None:
        # The runtime runs a job once at start; a digest covers a whole interval, so the
        # first one goes out one interval after the start.
        nonlocal first
        if first:
            first = False
            return
        async with runtime.unit() as unit:
            made = await notifier.make_digests(unit)
        if made:
            dispatcher.wake()

    runtime.every(settings.digest_interval_s, digests)
    app = create_service_app(runtime, api.ROUTERS, title="Beacon notify")
    app.state.notifier, app.state.dispatcher = notifier, dispatcher
    app.state.guard = senders.guard
    return app
