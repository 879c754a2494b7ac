"""Logs that carry the service, request id, event id and trace id of the work in hand: JSON
lines for machines, or readable text on a terminal (`LOG_FORMAT`), plus one access line per
HTTP request (`LOG_ACCESS`). Personal data never goes into a line: access lines hold the path
without its query string, never a body."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Literal, TextIO

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pythonjsonlogger.json import JsonFormatter

from shared.settings import settings_from_env
from shared.tracing import current_span

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)
service_var: ContextVar[str | None] = ContextVar("service", default=None)

ACCESS_LOGGER = "beacon.access"
LogFormat = Literal["text", "json"]
# Context fields after the message, in this order, in both formats.
CONTEXT_FIELDS = ("request_id", "event_id", "trace_id", "span_id")
# What an access line adds; the text format shows them in its message already.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
_process_service: str = "beacon"


class ContextFilter(logging.Filter):
    """Stamps every record with the context in hand; `service` falls back to the process's
    own name, so no line goes without one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.event_id = event_id_var.get()
        record.service = service_var.get() or _process_service
        span = current_span.get()
        record.trace_id = span.trace_id if span is not None else None
        record.span_id = span.span_id if span is not None else None
        return True


class TextFormatter(logging.Formatter):
    """`2025-06-01 12:00:00,123 INFO  intake   beacon.access  GET /api/v1/… 202 3.1ms
    request_id=…`: what a person reads on a terminal. Control characters are escaped, so a
    crafted path cannot forge a line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(service)-9s %(name)s  %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = _printable(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        context = " ".join(f"{name}={_printable(str(getattr(record, name)))}"
                           for name in CONTEXT_FIELDS if getattr(record, name, None))
        if context:
            line = f"{line}  {context}"
        if record.exc_info:  # a traceback keeps its own lines
            line = f"{line}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def json_formatter() -> JsonFormatter:
    fields = "".join(f"{{{name}}}" for name in (
        "asctime", "levelname", "name", "message", "service", *CONTEXT_FIELDS))
    return JsonFormatter(fields, style="{",
                         rename_fields={"asctime": "time", "levelname": "level",
                                        "name": "logger"})


class LogSettings(BaseSettings):
    """LOG_FORMAT: `text`, `json`, or `auto` (the default): text on a terminal, else JSON.
    LOG_ACCESS: one line per HTTP request, on unless false."""

    model_config = SettingsConfigDict(extra="ignore")

    log_format: Literal["auto", "text", "json"] = Field("auto", validation_alias="LOG_FORMAT")
    log_access: bool = Field(True, validation_alias="LOG_ACCESS")

    @field_validator("log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def log_format(env: Mapping[str, str], stream: TextIO) -> LogFormat:
    chosen = settings_from_env(LogSettings, env).log_format
    if chosen == "auto":
        return "text" if stream.isatty() else "json"
    return chosen


def access_logging(env: Mapping[str, str]) -> bool:
    return settings_from_env(LogSettings, env).log_access


@contextlib.contextmanager
def bind(service: str | None = None, *, event_id: str | None = None,
         request_id: str | None = None) -> Iterator[None]:
    """Within the block (and in tasks it starts), log lines name the service, event and
    request in hand."""
    tokens = [(var, var.set(value)) for var, value in (
        (service_var, service), (event_id_var, event_id), (request_id_var, request_id),
    ) if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def configure_logging(level: str = "INFO", *, service: str = "beacon",
                      env: Mapping[str, str] | None = None,
                      stream: TextIO | None = None) -> logging.Handler:
    """One line per record on `stream` (stderr), text or JSON as LOG_FORMAT says, each
    naming its service (`service` for lines outside any service's work: the process's
    own). Raises ConfigError for a bad LOG_FORMAT or LOG_ACCESS (LogSettings). Called
    again, it replaces its handler."""
    global _process_service
    env = os.environ if env is None else env
    stream = sys.stderr if stream is None else stream
    chosen = log_format(env, stream)
    access = access_logging(env)
    _process_service = service
    root = logging.getLogger()
    root.setLevel(level.upper())
    for old in [h for h in root.handlers if getattr(h, "_beacon", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter() if chosen == "text" else json_formatter())
    handler.addFilter(ContextFilter())
    handler._beacon = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    # aiosqlite logs every statement with its parameters at DEBUG: personal data.
    for noisy in ("aiokafka", "httpx", "httpcore", "aiosqlite", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger(ACCESS_LOGGER).disabled = not access
    return handler


_access = logging.getLogger(ACCESS_LOGGER)
# Probes and scrapes come every few seconds: their lines only at DEBUG.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_MAX_PATH = 300


def log_access(method: str, path: str, status: int, seconds: float) -> None:
    """The access line of one request: method, path (never the query string), status and
    duration; the filter adds the service and request id. Never the body."""
    if len(path) > _MAX_PATH:
        path = path[:_MAX_PATH] + "…"
    duration_ms = round(seconds * 1000, 1)
    _access.log(logging.DEBUG if path in _QUIET_PATHS else logging.INFO,
                "%s %s %d %.1fms", method, path, status, duration_ms,
                extra={"method": method, "path": path, "status": status,
                       "duration_ms": duration_ms})
