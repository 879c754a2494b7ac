"""The drill app: `uvicorn --factory drill_svc.main:create_app`."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from drill_svc import api, consumers
from drill_svc.models import metadata
from drill_svc.runner import Injector, PublicApi
from drill_svc.scenarios import ScenarioError, load_scenarios
from drill_svc.settings import DrillSettings
from shared.app import create_service_app
from shared.bus import MemoryBroker
from shared.runtime import ServiceRuntime
from shared.settings import ConfigError


def create_app(
    settings: DrillSettings | None = None, broker: MemoryBroker | None = None
) -> FastAPI:
    settings = settings or DrillSettings()
    runtime = ServiceRuntime("drill", settings, metadata, migrations="drill_svc.migrations",
                             broker=broker)
    consumers.register(runtime)
    try:
        scenarios = load_scenarios(settings.scenarios_dir)
    except ScenarioError as exc:
        raise ConfigError("DRILL_SCENARIOS_DIR", str(exc)) from exc
    injector = Injector(runtime, settings.tick_s, settings.idle_tick_s)
    if settings.api_key:  # run alone: the gateway over HTTP (embedded: see connect_gateway)
        client = httpx.AsyncClient(base_url=settings.gateway_url, timeout=30.0)
        injector.api = PublicApi(client, settings.api_key)

        async def close() -> None:
            await client.aclose()

        runtime.on_stop(close)
    runtime.background(injector.run)
    app = create_service_app(runtime, [api.router], title="Beacon drills")
    app.state.scenarios, app.state.injector = scenarios, injector
    return app


def connect_gateway(app: FastAPI, gateway: FastAPI, key: str) -> None:
    """Embedded mode: the runner reaches the gateway in this process, with its own key."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway),
                               base_url="http://beacon", timeout=30.0)
    injector: Injector = app.state.injector
    injector.api = PublicApi(client, key)
