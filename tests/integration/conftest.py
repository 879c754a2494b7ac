"""Backbone fixtures: every guarantee runs on {SQLite, PostgreSQL} x {memory bus, Tansu}."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from shared.bus import Bus, MemoryBroker, MemoryBus, RetryPolicy
from shared.bus.kafka import KafkaBus
from shared.settings import BusSettings

PARTITIONS = 4
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Db:
    url: str
    schema: str | None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Db:
    if request.param == "sqlite":
        return Db(request.getfixturevalue("sqlite_url"), None)
    return Db(request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema"))


def kafka_bus(bootstrap: str) -> KafkaBus:
    settings = BusSettings(
        kind="kafka", kafka_bootstrap_servers=bootstrap, kafka_partitions=PARTITIONS,
        max_attempts=MAX_ATTEMPTS, retry_backoff_ms=10, retry_backoff_max_ms=50,
        kafka_connect_timeout_s=5, kafka_session_timeout_ms=2000,
        kafka_heartbeat_interval_ms=300,
    )
    return KafkaBus(settings, client_id=f"test-{uuid.uuid4().hex[:6]}")


BusFactory = Callable[[], Bus]


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
def bus_factory(request: pytest.FixtureRequest) -> BusFactory:
    """Makes clients of one broker: a shared in-memory broker, or the session's Tansu."""
    if request.param == "memory":
        broker = MemoryBroker(PARTITIONS)
        policy = RetryPolicy(max_attempts=MAX_ATTEMPTS, backoff_s=0.01, backoff_max_s=0.05)
        return lambda: MemoryBus(broker, policy)
    bootstrap = request.getfixturevalue("tansu").bootstrap
    return lambda: kafka_bus(bootstrap)
