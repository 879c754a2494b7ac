"""The notify app: `uvicorn --factory notify_svc.main:create_app`."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from fastapi import FastAPI

from notify_svc import api, consumers, rosterdb
from notify_svc.ack_tokens import AckTokens
from notify_svc.channels import Senders
from notify_svc.dispatcher import Dispatcher
from notify_svc.models import metadata
from notify_svc.roster import RosterError, load_roster
from notify_svc.service import Notifier
from notify_svc.settings import NotifySettings
from notify_svc.templating import Templates
from shared.app import create_service_app
from shared.bus import MemoryBroker
from shared.runtime import ServiceRuntime
from shared.settings import ConfigError

log = logging.getLogger("beacon.notify")


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
    runtime = ServiceRuntime("notify", settings, metadata, migrations="notify_svc.migrations",
                             broker=broker, schema=schema)
    notifier = Notifier(settings, roster.rules, templates, AckTokens(ack_secret(settings)))
    dispatcher = Dispatcher(runtime, settings, notifier, senders)
    consumers.register(runtime, notifier)

    async def seed_roster() -> None:
        # Before any event is handled, so the first ones already reach the file's members.
        async with runtime.unit() as unit:
            if await rosterdb.seed_once(unit.session, roster, str(settings.roster_file)):
                log.info("roster seeded from %s", settings.roster_file)

    async def digests() -> None:
        async with runtime.unit() as unit:
            made = await notifier.make_digests(unit)
        if made:
            dispatcher.wake()

    async def scheduled_briefs() -> None:
        if await notifier.check_briefs(runtime):
            dispatcher.wake()

    runtime.on_start(seed_roster)
    # Deliveries recorded by a handler are claimed as they are written and sent as soon as
    # its transaction committed, with no claim transaction (Dispatcher.lease).
    notifier.recorder.hand_over = dispatcher.lease
    runtime.background(dispatcher.run)
    # A digest covers a whole interval: the first goes out one interval after the start.
    runtime.every(settings.digest_interval_s, digests,
                  initial_delay=settings.digest_interval_s)
    # Briefs due while the service was down go out at its first check after the start.
    runtime.every(settings.brief_poll_s, scheduled_briefs, initial_delay=settings.brief_poll_s)
    runtime.on_stop(senders.close)
    app = create_service_app(runtime, api.ROUTERS, title="Beacon notify")
    app.state.notifier, app.state.dispatcher = notifier, dispatcher
    app.state.guard = senders.guard
    return app
