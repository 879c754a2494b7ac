"""Backbone fixtures: every guarantee runs on {SQLite, PostgreSQL} x {memory bus, Tansu}."""

from __future__ import annotations

import pytest

from shared.bus import MemoryBroker, MemoryBus, RetryPolicy
from tests.support import MAX_ATTEMPTS, PARTITIONS, BusFactory, Db, kafka_bus


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Db:
    if request.param == "sqlite":
        return Db(request.getfixturevalue("sqlite_url"), None)
    return Db(request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema"))


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
def bus_factory(request: pytest.FixtureRequest) -> BusFactory:
    """Makes clients of one broker: a shared in-memory broker, or the session's Tansu."""
    if request.param == "memory":
        broker = MemoryBroker(PARTITIONS)
        policy = RetryPolicy(max_attempts=MAX_ATTEMPTS, backoff_s=0.01, backoff_max_s=0.05)
        return lambda: MemoryBus(broker, policy)
    bootstrap = request.getfixturevalue("tansu").bootstrap
    return lambda: kafka_bus(bootstrap)
