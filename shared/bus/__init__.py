"""The bus: one interface, an in-memory backend and a Kafka backend."""

from shared.bus.base import (
    Bus,
    BusLogLost,
    BusMessage,
    BusUnavailable,
    Handler,
    Record,
    RetryPolicy,
    dlq_topic,
)
from shared.bus.memory import MemoryBroker, MemoryBus

__all__ = [
    "Bus",
    "BusLogLost",
    "BusMessage",
    "BusUnavailable",
    "Handler",
    "MemoryBroker",
    "MemoryBus",
    "Record",
    "RetryPolicy",
    "dlq_topic",
]
