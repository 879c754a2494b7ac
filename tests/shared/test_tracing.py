"""traceparent parsing per the W3C spec, continuation, the Kafka header, and trace ids in logs."""

from __future__ import annotations

import logging

import pytest

from shared import tracing
from shared.bus.base import record_for, stored_record
from shared.events import make_event
from shared.logctx import ContextFilter
from tests.support import Happened, new_topic, on_topic

TRACE, PARENT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{PARENT}-01"


def test_a_valid_traceparent_is_read() -> None:
    span = tracing.parse(VALID)
    assert span == tracing.Span(TRACE, PARENT, 1)
    assert span.traceparent == VALID
    assert tracing.parse(f" 00-{TRACE}-{PARENT}-00 ") == tracing.Span(TRACE, PARENT, 0)
    # A later version may add fields after a dash; the first four are read.
    assert tracing.parse(f"01-{TRACE}-{PARENT}-01-more") == tracing.Span(TRACE, PARENT, 1)


@pytest.mark.parametrize("value", [
    None, "", "garbage",
    f"00-{'0' * 32}-{PARENT}-01",          # all-zero trace id
    f"00-{TRACE}-{'0' * 16}-01",           # all-zero parent id
    f"ff-{TRACE}-{PARENT}-01",             # version ff is forbidden
    f"00-{TRACE.upper()}-{PARENT}-01",     # hex is lowercase
    f"00-{TRACE}-{PARENT}-01-extra",       # version 00 has exactly four fields
    f"00-{TRACE[:-1]}-{PARENT}-01",        # short trace id
    f"00-{TRACE}-{PARENT}-1",              # one-digit flags
    f"0-{TRACE}-{PARENT}-01",              # one-digit version
    f"01-{TRACE}-{PARENT}-01x",            # a later version's extra must follow a dash
    VALID + " " * 600,                     # far too long
])
def test_an_invalid_traceparent_is_ignored(value: str | None) -> None:
    assert tracing.parse(value) is None


def test_continued_keeps_the_trace_and_makes_a_child_span() -> None:
    assert tracing.current() is None
    with tracing.continued(VALID) as span:
        assert tracing.current() is span
        assert (span.trace_id, span.parent_id, span.flags) == (TRACE, PARENT, 1)
        assert span.span_id != PARENT and len(span.span_id) == 16
        assert tracing.headers() == {"traceparent": span.traceparent}
        with tracing.continued(VALID) as again:  # the same hop twice: one span
            assert again is span
        child = span.child()
        assert child.trace_id == TRACE and child.parent_id == span.span_id
    assert tracing.current() is None and tracing.headers() == {}
    with tracing.continued("00-nonsense") as fresh:
        assert tracing.parse(fresh.traceparent) is not None and fresh.trace_id != TRACE


def test_the_kafka_record_carries_the_envelope_traceparent_as_a_header() -> None:
    topic = new_topic()
    event = make_event(on_topic(topic, Happened(key="k", n=1)), source="/t", subject="k",
                       traceparent=VALID)
    assert ("traceparent", VALID.encode()) in record_for(event).headers
    # The relay sends the outbox's stored JSON as is: the header is found in it.
    stored = stored_record("k", topic, event.to_bytes())
    assert ("traceparent", VALID.encode()) in stored.headers
    bare = make_event(on_topic(topic, Happened(key="k", n=1)), source="/t", subject="k")
    assert all(name != "traceparent" for name, _ in stored_record(
        "k", topic, bare.to_bytes()).headers)


def test_log_lines_carry_the_trace_id() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
    with tracing.continued(VALID) as span:
        ContextFilter().filter(record)
    assert (record.__dict__["trace_id"], record.__dict__["span_id"]) == (TRACE, span.span_id)
    ContextFilter().filter(record)
    assert record.__dict__["trace_id"] is None
