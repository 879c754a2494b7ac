"""The bus interface both backends implement, and the retry/dead-letter policy they share."""

from __future__ import annotations

import abc
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tenacity import AsyncRetrying, RetryCallState, RetryError, wait_exponential_jitter

from shared import metrics, tracing
from shared.db import is_unavailable
from shared.events import Envelope
from shared.logctx import bind

log = logging.getLogger("beacon.bus")

DLQ_SUFFIX = ".dlq"
Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class BusMessage:
    """One record handed to a handler, with where it came from and which try this is."""

    topic: str
    partition: int
    offset: int
    envelope: Envelope
    attempt: int = 1


Handler = Callable[[BusMessage], Awaitable[None]]
BatchHandler = Callable[[list[BusMessage]], Awaitable[None]]


@dataclass(frozen=True)
class Subscriber:
    """What a consumer group member runs: one event at a time, and optionally a batch at
    once (all or nothing) for throughput."""

    handler: Handler
    batch_handler: BatchHandler | None = None


@dataclass(frozen=True)
class Record:
    """One record as it sits on a partition."""

    key: bytes | None
    value: bytes
    headers: Headers = field(default_factory=list)


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` tries of a failing event before it is dead-lettered. A failure of the
    database itself (`shared.db.is_unavailable`: restart, failover, dropped connection) is
    not the event's fault: it is retried, backing off to `backoff_max_s`, for as long as it
    lasts, so an outage delays events and never dead-letters them."""

    max_attempts: int = 5
    backoff_s: float = 0.05
    backoff_max_s: float = 2.0

    def gives_up(self, state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is not None and outcome.failed:
            error = outcome.exception()
            if error is not None and is_unavailable(error):
                if state.attempt_number == 1 or state.attempt_number % 30 == 0:
                    log.warning("database unavailable (%s); event held, retrying",
                                type(error).__name__)
                return False
        return state.attempt_number >= self.max_attempts


class BusUnavailable(ConnectionError):
    """The broker cannot be reached; the caller keeps its outbox rows and tries again later."""


class BusLogLost(BusUnavailable):
    """The broker came back without records it had acknowledged (it restarted empty, as
    Tansu with memory storage does): events marked sent may never have been consumed, so
    the outbox must send its recent events again (the inboxes drop the repeats)."""


class Bus(abc.ABC):
    """Publish envelopes keyed by their subject; run handlers per consumer group."""

    # Who this client works for, in metrics (the runtime sets it).
    service: str = "unknown"

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop_consuming(self, within: float | None = None) -> None:
        """Stop fetching, let the batches in hand finish and commit their offsets, and leave
        the consumer groups, within `within` seconds (None: no bound). A batch cut off at
        the bound stays uncommitted and comes again. Publishing still works (the outbox
        relay flushes through it); calling it twice does nothing more."""

    @abc.abstractmethod
    async def stop(self, within: float | None = None) -> None:
        """Stop consuming (if not yet), then publishing, within `within` seconds."""

    @abc.abstractmethod
    async def publish_records(self, items: Sequence[tuple[str, Record]]) -> None:
        """Publish in order and return only when the broker has every one, else raise."""

    async def publish_batch(self, items: Sequence[tuple[str, Envelope]]) -> None:
        await self.publish_records([(topic, record_for(event)) for topic, event in items])

    async def publish(self, topic: str, envelope: Envelope) -> None:
        await self.publish_batch([(topic, envelope)])

    async def verify_log(self) -> None:
        """Raise BusLogLost when the broker lost records it acknowledged (the outbox relay
        asks before each batch); a bus that cannot tell does nothing."""
        return None

    @abc.abstractmethod
    def subscribe(self, topics: Sequence[str], group: str, handler: Handler,
                  batch_handler: BatchHandler | None = None) -> None:
        """Register a handler before `start`; every subscription is one group member."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise BusUnavailable when the broker does not answer."""

    @abc.abstractmethod
    def assignment(self) -> set[tuple[str, int]]:
        """The (topic, partition) pairs this client's consumers own now."""

    @property
    def loses_log_on_restart(self) -> bool:
        """True where a process restart empties the log (the in-memory bus)."""
        return False

    def consumer_lag(self) -> Mapping[tuple[str, str, int], int]:
        """{(group, topic, partition): records not yet processed} for the partitions this
        client's consumers own now (read by the `beacon_consumer_lag` gauge)."""
        return {}

    def _declare_topics(self, topics: Sequence[str]) -> None:
        """Show the dead-letter counter at 0 before the first one (so rates start at 0)."""
        for topic in topics:
            metrics.DEAD_LETTERS.labels(self.service, topic)

    def _dead_lettered(self, topic: str, count: int) -> None:
        if count:
            metrics.DEAD_LETTERS.labels(self.service, topic).inc(count)


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def record_for(envelope: Envelope) -> Record:
    return stored_record(envelope.subject, envelope.type, envelope.to_bytes(),
                         envelope.traceparent)


_TRACEPARENT_FIELD = re.compile(rb'"traceparent":"(00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})"')


def _traceparent_in(value: bytes) -> str | None:
    """The envelope's traceparent, found in its JSON without parsing it (the relay's hot
    path). Inside a JSON string a quote is escaped, so `"traceparent":"` outside one is a
    key; the envelope's own comes after `data`, hence the last match. Consumers read (and
    check) the envelope's field; this header is a copy for tools."""
    found: list[bytes] = _TRACEPARENT_FIELD.findall(value)
    return found[-1].decode() if found else None


def stored_record(
    key: str, event_type: str, value: bytes, traceparent: str | None = None
) -> Record:
    """The record for an envelope already serialised (the outbox keeps its JSON).

    The envelope's traceparent extension is also a `traceparent` header, where Kafka
    tooling and OpenTelemetry's instrumentations look for it.
    """
    if traceparent is None:
        traceparent = _traceparent_in(value)
    headers: Headers = [("ce_type", event_type.encode())]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return Record(key=key.encode(), value=value, headers=headers)


def dead_letter_record(
    record: Record, *, topic: str, partition: int, offset: int, error: str, attempts: int
) -> Record:
    """The original bytes and key, with why and how often it failed in the headers."""
    headers = [h for h in record.headers if not h[0].startswith("beacon-")]
    headers += [
        ("beacon-error", error[:2000].encode()),
        ("beacon-attempts", str(attempts).encode()),
        ("beacon-original-topic", topic.encode()),
        ("beacon-original-partition", str(partition).encode()),
        ("beacon-original-offset", str(offset).encode()),
        ("beacon-failed-at", datetime.now(UTC).isoformat().encode()),
    ]
    return Record(key=record.key, value=record.value, headers=headers)


def decode(record: Record, *, topic: str, partition: int, offset: int) -> BusMessage | Record:
    """The message, or (for bytes that are no valid event) its dead-letter record at once:
    retrying cannot fix them."""
    try:
        envelope = Envelope.from_bytes(record.value)
        envelope.payload()
    except Exception as exc:
        log.warning("undecodable record on %s[%d]@%d: %s", topic, partition, offset, exc)
        return dead_letter_record(record, topic=topic, partition=partition, offset=offset,
                                  error=f"undecodable: {exc}", attempts=1)
    return BusMessage(topic, partition, offset, envelope)


async def handle_with_retries(
    handler: Handler, delivery: BusMessage, record: Record, policy: RetryPolicy
) -> Record | None:
    """Run the handler with bounded, backed-off retries; return a dead-letter record on failure."""
    attempt = 0
    envelope = delivery.envelope
    with (bind(event_id=envelope.id, request_id=envelope.requestid),
          tracing.continued(envelope.traceparent)):
        try:
            async for trying in AsyncRetrying(
                stop=policy.gives_up,
                wait=wait_exponential_jitter(
                    multiplier=policy.backoff_s, max=policy.backoff_max_s, jitter=policy.backoff_s
                ),
                reraise=False,
            ):
                with trying:
                    attempt = trying.retry_state.attempt_number
                    await handler(dataclasses.replace(delivery, attempt=attempt))
            return None
        except RetryError as exc:
            error = exc.last_attempt.exception()
            log.error("handler failed %d times on %s[%d]@%d, dead-lettering: %r", attempt,
                      delivery.topic, delivery.partition, delivery.offset, error)
            return dead_letter_record(
                record, topic=delivery.topic, partition=delivery.partition,
                offset=delivery.offset, error=f"{type(error).__name__}: {error}",
                attempts=attempt,
            )


async def process_records(
    subscriber: Subscriber,
    records: Sequence[tuple[int, Record]],
    *,
    topic: str,
    partition: int,
    policy: RetryPolicy,
) -> list[Record]:
    """Apply one partition's records in order; return the dead letters to publish.

    With a batch handler the whole run is tried at once (one transaction). If that fails,
    every record goes through the single handler with retries, so one poison record is
    dead-lettered alone and its neighbours still apply.
    """
    dead: list[Record] = []
    runnable: list[tuple[BusMessage, Record]] = []
    for offset, record in records:
        decoded = decode(record, topic=topic, partition=partition, offset=offset)
        if isinstance(decoded, Record):
            dead.append(decoded)
        else:
            runnable.append((decoded, record))
    if subscriber.batch_handler is not None and len(runnable) > 1:
        try:
            await subscriber.batch_handler([d for d, _ in runnable])
            return dead
        except Exception as exc:
            log.warning("batch of %d on %s[%d] failed (%r); applying one by one",
                        len(runnable), topic, partition, exc)
    for delivery, record in runnable:
        letter = await handle_with_retries(subscriber.handler, delivery, record, policy)
        if letter is not None:
            dead.append(letter)
    return dead
