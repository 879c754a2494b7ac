"""JSON logs that carry the request id, event id and trace id of the work in hand."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from shared.tracing import current_span

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)
service_var: ContextVar[str | None] = ContextVar("service", default=None)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.event_id = event_id_var.get()
        record.service = service_var.get()
        span = current_span.get()
        record.trace_id = span.trace_id if span is not None else None
        record.span_id = span.span_id if span is not None else None
        return True


@contextlib.contextmanager
def bind(service: str | None = None, *, event_id: str | None = None,
         request_id: str | None = None) -> Iterator[None]:
    """Within the block, log lines name the service, event and request in hand."""
    tokens = [(var, var.set(value)) for var, value in (
        (service_var, service), (event_id_var, event_id), (request_id_var, request_id),
    ) if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def configure_logging(level: str = "INFO") -> None:
    """One JSON object per line on stderr; idempotent."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in root.handlers:
        if getattr(handler, "_beacon", False):
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{service}{request_id}{event_id}"
            "{trace_id}{span_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(ContextFilter())
    handler._beacon = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    for noisy in ("aiokafka", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
