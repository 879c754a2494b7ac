"""W3C Trace Context: one complaint is one trace, from the gateway through every Kafka hop.

Beacon propagates trace context; it records no spans and exports nothing (no SDK, no
exporter, no cost per request beyond a few microseconds). What a hop does:

- **HTTP in** (`shared.app.RequestContext`, gateway and services): a valid `traceparent`
  header is continued (same trace id, a new span id whose parent is the caller's span); a
  missing, repeated or malformed one starts a new trace. Never an error.
- **HTTP out** (gateway to a service, notify's webhooks): `headers()` sends the current span.
- **Event out** (`Unit.emit`): the envelope's `traceparent` extension gets the current trace
  id and a new span id (parent: the current span). With no current span (a periodic job),
  the events a unit emits for one subject share a new trace.
- **Event in** (the runtime, before a handler runs): `continued(event.traceparent)`, so
  whatever the handler emits stays in the event's trace.
- **Logs** (`shared.logctx`) carry `trace_id` and `span_id`.

Parsing uses opentelemetry-api's `TraceContextTextMapPropagator` (already installed with
FastAPI; the API alone, no SDK): it checks the header as the W3C spec asks (two-hex version,
not `ff`; version `00` with exactly four fields; lowercase hex; 32-hex trace id and 16-hex
parent id, neither all zeros; two-hex flags; at most 512 characters). Formatting is the
propagator's own one-line f-string. The current span is a plain contextvar holding hex
strings, cheap to copy into every log line and envelope; `tracestate` is not carried.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from opentelemetry.trace import format_span_id, format_trace_id, get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

HEADER = "traceparent"
SAMPLED = 0x01
_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass(frozen=True, slots=True)
class Span:
    """Where the work in hand sits in its trace (lowercase hex, as on the wire)."""

    trace_id: str
    span_id: str
    flags: int = SAMPLED
    parent_id: str | None = None

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def child(self) -> Span:
        """A new span in the same trace, this one its parent."""
        return Span(self.trace_id, _new_span_id(), self.flags, self.span_id)


current_span: ContextVar[Span | None] = ContextVar("trace_span", default=None)


def _new_span_id() -> str:
    while not (bits := secrets.randbits(64)):
        pass
    return format_span_id(bits)


def new_trace() -> Span:
    """The root span of a new trace. Beacon's logs record it, hence the sampled flag."""
    while not (bits := secrets.randbits(128)):
        pass
    return Span(format_trace_id(bits), _new_span_id())


def parse(traceparent: str | None) -> Span | None:
    """The remote span a `traceparent` value names, or None when it is absent or invalid."""
    if not traceparent or len(traceparent) > 512:  # (the propagator would log a warning)
        return None
    context = _PROPAGATOR.extract({HEADER: traceparent})
    remote = get_current_span(context).get_span_context()
    if not remote.is_valid:
        return None
    return Span(format_trace_id(remote.trace_id), format_span_id(remote.span_id),
                int(remote.trace_flags))


def current() -> Span | None:
    return current_span.get()


def headers() -> dict[str, str]:
    """The header that carries the current span to an HTTP peer (empty outside a trace)."""
    span = current_span.get()
    return {HEADER: span.traceparent} if span is not None else {}


def from_http_headers(raw: list[tuple[bytes, bytes]]) -> str | None:
    """The request's traceparent; None when absent or repeated (the spec allows one)."""
    found = [value for name, value in raw if name == b"traceparent"]
    return found[0].decode("latin-1") if len(found) == 1 else None


@contextlib.contextmanager
def continued(traceparent: str | None) -> Iterator[Span]:
    """Within the block the current span is a child of `traceparent`, or the root of a new
    trace when it is missing or malformed."""
    remote = parse(traceparent)
    here = current_span.get()
    if (remote is not None and here is not None and here.trace_id == remote.trace_id
            and here.parent_id == remote.span_id):
        span = here  # already continued from this very span (the bus did, then the runtime)
    else:
        span = remote.child() if remote is not None else new_trace()
    token = current_span.set(span)
    try:
        yield span
    finally:
        current_span.reset(token)
