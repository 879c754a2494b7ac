"""The triage app: `uvicorn --factory triage_svc.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app
from shared.bus import MemoryBroker
from shared.runtime import ServiceRuntime
from shared.settings import ConfigError
from triage_svc import consumers
from triage_svc.api import ROUTERS
from triage_svc.gauges import register_gauges
from triage_svc.models import metadata
from triage_svc.rules import RulesError, load_rules
from triage_svc.settings import TriageSettings


def create_app(
    settings: TriageSettings | None = None, broker: MemoryBroker | None = None
) -> FastAPI:
    settings = settings or TriageSettings()
    try:
        rules = load_rules(settings.rules_file)
    except RulesError as exc:
        raise ConfigError("TRIAGE_RULES_FILE", str(exc)) from exc
    runtime = ServiceRuntime("triage", settings, metadata, migrations="triage_svc.migrations",
                             broker=broker)
    consumers.register(runtime, rules, settings.timer_interval_s)
    register_gauges(runtime)
    app = create_service_app(runtime, ROUTERS, title="Beacon triage")
    app.state.rules = rules
    return app
