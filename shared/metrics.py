"""Prometheus metrics shared by every service; the `service` label tells them apart when
several services share one process (embedded mode).

Label values are bounded: HTTP requests are labelled by route template (never the raw
path) and a known method; topics, groups and partitions are the configured ones.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

EVENTS_PUBLISHED = Counter(
    "beacon_events_published_total", "Events the outbox relay handed to the bus",
    ["service", "topic"],
)
EVENTS_HANDLED = Counter(
    "beacon_events_handled_total", "Events consumed, by outcome (applied, duplicate, skipped)",
    ["service", "topic", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "beacon_event_handle_seconds", "Time to apply one event, database commit included",
    ["service", "topic"],
)
OUTBOX_BACKLOG = Gauge(
    "beacon_outbox_backlog", "Events written but not yet published", ["service"],
)
DEAD_LETTERS = Counter(
    "beacon_dead_letters_total",
    "Events sent to <topic>.dlq (undecodable, or failing every retry), by original topic",
    ["service", "topic"],
)
HTTP_REQUESTS = Counter(
    "beacon_http_requests_total", "HTTP requests served, by route template",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "beacon_http_request_seconds", "HTTP request latency, by route template",
    ["service", "method", "route"],
)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"


def http_method(method: str) -> str:
    """The method as a label: anything unusual is `other` (clients choose the method)."""
    return method if method in HTTP_METHODS else "other"


class LagSource(Protocol):
    """A bus client that knows how far its consumers are behind."""

    service: str

    def consumer_lag(self) -> Mapping[tuple[str, str, int], int]:
        """{(group, topic, partition): records not yet processed} for what it owns now."""
        ...


class _ConsumerLag(Collector):
    """`beacon_consumer_lag`, read from every live bus client at scrape time: end offset
    minus committed offset per partition this process consumes."""

    NAME = "beacon_consumer_lag"
    HELP = ("Records on a partition this process consumes that are not yet processed "
            "(end offset minus committed offset)")
    LABELS = ("service", "group", "topic", "partition")

    def __init__(self) -> None:
        self._sources: weakref.WeakSet[LagSource] = weakref.WeakSet()

    def track(self, source: LagSource) -> None:
        self._sources.add(source)

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.NAME, self.HELP, labels=self.LABELS)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=self.LABELS)
        samples: dict[tuple[str, str, str, str], int] = {}
        for source in list(self._sources):
            for (group, topic, partition), lag in list(source.consumer_lag().items()):
                labels = (source.service, group, topic, str(partition))
                # Two clients of one group in a process may both hold a partition for the
                # moment of a rebalance: one sample per label set, the larger.
                samples[labels] = max(lag, samples.get(labels, 0))
        for labels, lag in sorted(samples.items()):
            family.add_metric(labels, lag)
        yield family


CONSUMER_LAG = _ConsumerLag()
REGISTRY.register(CONSUMER_LAG)
