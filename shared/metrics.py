"""Prometheus metrics shared by every service; the `service` label tells them apart when
several services share one process (embedded mode)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "beacon_events_published_total", "Events the outbox relay handed to the bus",
    ["service", "topic"],
)
EVENTS_HANDLED = Counter(
    "beacon_events_handled_total", "Events consumed, by outcome (applied, duplicate)",
    ["service", "topic", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "beacon_event_handle_seconds", "Time to apply one event, database commit included",
    ["service", "topic"],
)
OUTBOX_BACKLOG = Gauge(
    "beacon_outbox_backlog", "Events written but not yet published", ["service"],
)
HTTP_REQUESTS = Counter(
    "beacon_http_requests_total", "HTTP requests served", ["service", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "beacon_http_request_seconds", "HTTP request latency", ["service", "method"],
)
