"""The sentiment app: `uvicorn --factory sentiment_svc.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from sentiment_svc import api, consumers, reports_api
from sentiment_svc.model import default_model
from sentiment_svc.models import metadata
from sentiment_svc.settings import SentimentSettings
from sentiment_svc.state import MentionIntakeState
from shared import dates
from shared.app import create_service_app
from shared.bus import MemoryBroker
from shared.runtime import ServiceRuntime


def create_app(
    settings: SentimentSettings | None = None, broker: MemoryBroker | None = None
) -> FastAPI:
    settings = settings or SentimentSettings()
    dates.configure(settings.input_timezone)
    runtime = ServiceRuntime("sentiment", settings, metadata,
                             migrations="sentiment_svc.migrations", broker=broker)
    consumers.register(runtime)
    app = create_service_app(runtime, [api.router, reports_api.router], title="Beacon sentiment")
    # The model loads once per process (about half a second), before the first request.
    app.state.intake_state = MentionIntakeState(settings, model=default_model())
    return app
