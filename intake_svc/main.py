"""The intake app: `uvicorn --factory intake_svc.main:create_app`."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from intake_svc import api, consumers
from intake_svc.models import metadata
from intake_svc.service import purge_idempotency_keys
from intake_svc.settings import IntakeSettings
from shared import dates
from shared.app import create_service_app
from shared.bus import MemoryBroker
from shared.privacy import (
    FieldCipher,
    PiiKeyError,
    load_or_create_key_ring,
    load_or_pin_fingerprint_key,
)
from shared.runtime import ServiceRuntime
from shared.settings import ConfigError

log = logging.getLogger("beacon.intake")


def create_app(
    settings: IntakeSettings | None = None, broker: MemoryBroker | None = None
) -> FastAPI:
    settings = settings or IntakeSettings()
    dates.configure(settings.input_timezone)
    runtime = ServiceRuntime("intake", settings, metadata, migrations="intake_svc.migrations",
                             broker=broker)
    ttl = timedelta(seconds=settings.idempotency_ttl_s)

    async def purge() -> int:
        async with runtime.unit() as unit:
            return await purge_idempotency_keys(unit, ttl)

    runtime.every(3600.0, purge)
    consumers.register(runtime, timedelta(days=settings.pii_retention_days),
                       settings.pii_retention_check_s)
    app = create_service_app(runtime, [api.router, api.complainants], title="Beacon intake")
    if not (settings.pii_keys or "").strip() and settings.bus.kind == "kafka":
        # Replicas must share one key ring, so distributed mode never generates its own.
        raise ConfigError("PII_KEYS", "required when BUS=kafka (see README: keys and rotation)")
    try:
        ring = load_or_create_key_ring(settings.pii_keys, settings.data_dir)
    except PiiKeyError as exc:
        raise ConfigError("PII_KEYS", str(exc)) from exc
    try:
        pinned = load_or_pin_fingerprint_key(settings.pii_fingerprint_key, ring,
                                             settings.data_dir)
    except PiiKeyError as exc:
        raise ConfigError("PII_FINGERPRINT_KEY", str(exc)) from exc
    if settings.bus.kind == "kafka" and not settings.pii_fingerprint_key:
        log.warning("PII_FINGERPRINT_KEY is not set: fingerprints use a key pinned under "
                    "DATA_DIR, which replicas without a shared DATA_DIR may not agree on")
    app.state.cipher = FieldCipher(ring, pinned)
    return app
