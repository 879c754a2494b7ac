"""The notify app: `uvicorn --factory notify_svc.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from notify_svc import api, consumers
from notify_svc.models import metadata
from notify_svc.roster import RosterError, load_roster
from notify_svc.settings import NotifySettings
from shared.app import create_service_app
from shared.bus import MemoryBroker
from shared.runtime import ServiceRuntime
from shared.settings import ConfigError


def create_app(
    settings: NotifySettings | None = None, broker: MemoryBroker | None = None
) -> FastAPI:
    settings = settings or NotifySettings()
    try:
        roster = load_roster(settings.roster_file)
    except RosterError as exc:
        raise ConfigError("NOTIFY_ROSTER_FILE", str(exc)) from exc
    runtime = ServiceRuntime("notify", settings, metadata, migrations="notify_svc.migrations",
                             broker=broker)
    consumers.register(runtime, roster)
    return create_service_app(runtime, [api.router], title="Beacon notify")
