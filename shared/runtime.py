"""What each service runs on: its database, outbox, inbox, relay and event handlers.

A handler or a route does its work inside `runtime.unit()`: rows and outgoing events commit
together, and the relay is woken once they have.

Lifecycle hooks, registered before `start()`: `on_start` (after the schema is ready, before
any event is handled), `background` (a task for as long as the service runs), `every`
(a periodic job), and `on_stop` (after the tasks and the bus have stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import metrics, tracing
from shared.bus import Bus, BusMessage, BusUnavailable, MemoryBroker, MemoryBus
from shared.bus.kafka import KafkaBus  # build_bus only: the runtime speaks to Bus
from shared.db import Database
from shared.events import Envelope, EventPayload, make_event
from shared.inbox import claim_event, claim_events
from shared.logctx import bind, request_id_var
from shared.migrations import prepare_schema
from shared.outbox import OutboxRelay, add_to_outbox
from shared.settings import ConfigError, ServiceSettings

log = logging.getLogger("beacon.runtime")


@dataclass
class Unit:
    """One transaction: a session, and the events that commit with it."""

    session: AsyncSession
    runtime: ServiceRuntime
    emitted: list[tuple[str, Envelope]] = field(default_factory=list)
    # Outside any trace (a periodic job), one new trace per subject this unit emits for.
    traces: dict[str, tracing.Span] = field(default_factory=dict)

    async def emit(self, data: EventPayload, *, subject: str) -> Envelope:
        """Queue an event on its class's topic; the unit writes all of them to the outbox
        just before it commits.

        The event's traceparent continues the current trace with a span of its own."""
        parent = tracing.current() or self.traces.setdefault(subject, tracing.new_trace())
        event = make_event(
            data, source=f"/{self.runtime.name}", subject=subject,
            requestid=request_id_var.get(), traceparent=parent.child().traceparent,
        )
        self.emitted.append((event.type, event))
        return event


EventHandler = Callable[[Unit, Envelope], Awaitable[None]]
# Applies a run of fresh events (one batch's, in order, each once) in one unit; the same
# effects as the EventHandler on each in turn, with fewer statements.
ManyHandler = Callable[[Unit, list[Envelope]], Awaitable[None]]
# Whether an event can have any effect here: one that cannot is acknowledged without a
# transaction or an inbox row ("skipped"), since there is nothing to make idempotent.
Wants = Callable[[Envelope], bool]


@contextlib.contextmanager
def applying(event: Envelope) -> Iterator[None]:
    """The context an event's effects run in: its ids in the log lines, and its trace
    continued (so what it emits carries a child of its traceparent). A ManyHandler wraps
    each event's part of the work in it."""
    with (bind(event_id=event.id, request_id=event.requestid),
          tracing.continued(event.traceparent)):
        yield
Job = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class PeriodicJob:
    seconds: float
    job: Job
    initial_delay: float = 0.0


@dataclass(frozen=True)
class Subscription:
    topics: tuple[str, ...]
    group: str
    handler: EventHandler
    many: ManyHandler | None = None
    wants: Wants | None = None

    def wanted(self, event: Envelope) -> bool:
        return self.wants is None or self.wants(event)


def build_bus(settings: ServiceSettings, broker: MemoryBroker | None) -> Bus:
    if settings.bus.kind == "kafka":
        return KafkaBus(settings.bus, client_id=f"beacon-{settings.service_name}")
    return MemoryBus(broker or MemoryBroker(settings.bus.kafka_partitions))


class ServiceRuntime:
    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        metadata: MetaData,
        *,
        migrations: str | None,
        broker: MemoryBroker | None = None,
        bus: Bus | None = None,
        schema: str | None = None,
    ) -> None:
        self.name, self.settings, self.metadata = name, settings, metadata
        self.migrations = migrations
        # Each service's models declare its outbox and inbox (so migrations include them).
        self.outbox = metadata.tables[f"{name}_outbox"]
        self.inbox = metadata.tables[f"{name}_inbox"]
        self.db = Database(settings.effective_database_url(), schema=schema)
        self.bus = bus or build_bus(settings, broker)
        self.bus.service = name
        self.relay = OutboxRelay(
            self.db, self.outbox, self.bus, service=name,
            batch_size=settings.outbox_batch_size, batch_max=settings.outbox_batch_max,
            idle_poll_s=settings.outbox_idle_poll_s, retention_s=settings.outbox_retention_s,
            replay_s=settings.outbox_replay_s, listen=settings.outbox_listen,
        )
        self._handlers: list[Subscription] = []
        # Called after each event's transaction ended, with "applied", "duplicate" or
        # "skipped" (not wanted: no transaction).
        self.listeners: list[Callable[[str, BusMessage], None]] = []
        self._periodic: list[PeriodicJob] = []
        self._background: list[Job] = []
        self._on_start: list[Job] = []
        self._on_stop: list[Job] = []
        self._tasks: list[asyncio.Task[object]] = []
        # Run at the start of a batch's transaction with its events: a service that takes
        # locks while handling takes them here first, in one order, so that two batches
        # never wait for each other's locks in opposite orders (a deadlock).
        self.before_batch: Callable[[Unit, list[Envelope]], Awaitable[None]] | None = None
        self.every(5.0, self._report_backlog)
        self.started = False

    def on(self, events: Sequence[type[EventPayload]], handler: EventHandler, *,
           group: str | None = None, many: ManyHandler | None = None,
           wants: Wants | None = None) -> None:
        """Apply `handler` once per event of the `events` classes' topics, in the service's
        consumer group.

        With `many`, a batch's fresh events (in order, duplicates gone) go to it at once
        instead, in the batch's one transaction: it must have the effect of `handler` on
        each in turn, with set-based statements (one read or write for all of them). An
        event retried alone (a failed batch falls back to one by one) takes `handler`.

        With `wants`, an event it declines is acknowledged as "skipped": no transaction, no
        inbox row. It must decline only events the handler would do nothing with."""
        self._handlers.append(Subscription(tuple(e.topic for e in events), group or self.name,
                                           handler, many, wants))

    def every(self, seconds: float, job: Job, *, initial_delay: float = 0.0) -> None:
        """Run `job` every `seconds` while the service runs (housekeeping, gauges), the
        first time `initial_delay` seconds after the start. A failed run is logged and the
        next one runs on schedule."""
        self._periodic.append(PeriodicJob(seconds, job, initial_delay))

    def background(self, task: Job) -> None:
        """Run `task()` from the start for as long as the service runs. At stop it is
        cancelled and may catch the cancellation to finish what it has in hand, within the
        shutdown budget. If it ends or fails on its own it is logged, not restarted."""
        self._background.append(task)

    def on_start(self, hook: Job) -> None:
        """Run `hook()` at start, in order, once the schema is ready and before the bus
        starts (so before any event is handled): seeding, warming caches. A database error
        in it stops the start with a ConfigError naming the setting."""
        self._on_start.append(hook)

    def on_stop(self, hook: Job) -> None:
        """Run `hook()` at stop (started or not), after the tasks and the bus have stopped
        and before the database closes: release what the service holds."""
        self._on_stop.append(hook)

    async def _repeat(self, periodic: PeriodicJob) -> None:
        await asyncio.sleep(periodic.initial_delay)
        while True:
            try:
                await periodic.job()
            except Exception:
                log.exception("periodic job %s failed", _name_of(periodic.job))
            await asyncio.sleep(periodic.seconds)

    async def _run_in_background(self, task: Job) -> None:
        try:
            await task()
        except Exception:
            log.exception("background task %s failed", _name_of(task))
            return
        current = asyncio.current_task()
        if current is None or not current.cancelling():  # it ended, not asked to stop
            log.warning("background task %s ended", _name_of(task))

    async def _report_backlog(self) -> None:
        metrics.OUTBOX_BACKLOG.labels(self.name).set(await self.relay.backlog())

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        async with self.db.transaction() as session:
            unit = Unit(session, self)
            yield unit
            await add_to_outbox(session, self.outbox, unit.emitted,
                                announce=self.relay.announcement)
        if unit.emitted:
            self.relay.wake()

    def _idempotent(self, sub: Subscription) -> Callable[[BusMessage], Awaitable[None]]:
        async def handle(delivery: BusMessage) -> None:
            started = time.perf_counter()
            with bind(self.name):
                await self._apply(sub, delivery)
            metrics.HANDLE_SECONDS.labels(self.name, delivery.topic).observe(
                time.perf_counter() - started
            )

        return handle

    def _idempotent_batch(
        self, sub: Subscription
    ) -> Callable[[list[BusMessage]], Awaitable[None]]:
        """A run of one partition's events in one transaction (all or nothing): one inbox
        statement and one commit instead of one each per event."""

        async def handle(deliveries: list[BusMessage]) -> None:
            started = time.perf_counter()
            with bind(self.name):
                outcomes = await self._apply_batch(sub, deliveries)
            elapsed = (time.perf_counter() - started) / len(deliveries)
            for delivery, outcome in zip(deliveries, outcomes, strict=True):
                metrics.EVENTS_HANDLED.labels(self.name, delivery.topic, outcome).inc()
                metrics.HANDLE_SECONDS.labels(self.name, delivery.topic).observe(elapsed)
                for listener in self.listeners:
                    listener(outcome, delivery)

        return handle

    async def _apply_batch(self, sub: Subscription, deliveries: list[BusMessage]) -> list[str]:
        """One inbox statement claims the batch's wanted events; the fresh ones are applied
        in order (by `many` at once when given), all in one transaction (none when no event
        is wanted)."""
        wanted = [sub.wanted(d.envelope) for d in deliveries]
        outcomes = ["" if w else "skipped" for w in wanted]
        if not any(wanted):
            return outcomes
        todo = []
        async with self.unit() as unit:
            fresh = await claim_events(unit.session, self.inbox, sub.group,
                                       [d.envelope.id for d, w in zip(deliveries, wanted,
                                                                      strict=True) if w])
            for i, delivery in enumerate(deliveries):
                event = delivery.envelope
                if not wanted[i]:
                    continue
                if event.id not in fresh:
                    outcomes[i] = "duplicate"
                    continue
                fresh.discard(event.id)  # the same event twice in one batch applies once
                todo.append(event)
                outcomes[i] = "applied"
            if self.before_batch is not None and todo:
                await self.before_batch(unit, todo)
            if sub.many is not None and todo:
                await sub.many(unit, todo)
            else:
                for event in todo:
                    with applying(event):
                        await sub.handler(unit, event)
        return outcomes

    async def _apply(self, sub: Subscription, delivery: BusMessage) -> None:
        event = delivery.envelope
        outcome = "skipped"
        if sub.wanted(event):
            async with self.unit() as unit:
                outcome = "applied"
                if await claim_event(unit.session, self.inbox, sub.group, event.id):
                    with tracing.continued(event.traceparent):
                        await sub.handler(unit, event)
                else:
                    outcome = "duplicate"
        metrics.EVENTS_HANDLED.labels(self.name, delivery.topic, outcome).inc()
        for listener in self.listeners:
            listener(outcome, delivery)

    async def start(self) -> None:
        """Migrate, connect the bus, start the consumers and the relay.

        Raises ConfigError naming the setting when the database or broker is unusable.
        """
        try:
            await prepare_schema(self.db, self.metadata, self.migrations, self.name)
            for hook in self._on_start:
                await hook()
        except (OSError, SQLAlchemyError, TimeoutError) as exc:
            raise ConfigError(
                f"{self.name.upper()}_DATABASE_URL/DATABASE_URL",
                f"database {self.db.url.render_as_string(hide_password=True)} unusable: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            ) from exc
        for sub in self._handlers:
            self.bus.subscribe(sub.topics, sub.group, self._idempotent(sub),
                               self._idempotent_batch(sub))
        try:
            await self.bus.start()
        except BusUnavailable as exc:
            raise ConfigError("KAFKA_BOOTSTRAP_SERVERS", str(exc)) from exc
        if self.bus.loses_log_on_restart:
            # The in-memory log died with the last process: send recent events again;
            # every consumer's inbox turns the repeats into no-ops.
            replayed = await self.relay.replay_recent(self.settings.outbox_replay_s)
            if replayed:
                log.info("replaying %d recent events onto the in-memory bus", replayed)
        await self.relay.start()
        self._tasks = [asyncio.create_task(self._repeat(p)) for p in self._periodic]
        self._tasks += [asyncio.create_task(self._run_in_background(task))
                        for task in self._background]
        self.started = True

    # The shutdown budget. The launcher sets `stop_deadline` (a time.monotonic() instant)
    # when SIGTERM arrives, so that the HTTP drain before `stop()` counts against it too.
    stop_timeout_s: float = 10.0
    stop_deadline: float | None = None

    async def stop(self) -> None:
        """Shut down in order, by `stop_deadline` (else within `stop_timeout_s`): the
        consumers stop fetching, finish the batches in hand and commit their offsets while
        the periodic jobs and background tasks are cancelled (a background task may finish
        what it has in hand); the outbox is flushed once; the producer stops; the `on_stop`
        hooks run; the database closes.

        A step cut short by the deadline loses nothing: an uncommitted event comes again (the
        inbox turns it into a no-op) and an unsent outbox row waits for the next relay."""
        if not self.started:
            await self._run_stop_hooks(lambda: self.stop_timeout_s)
            await self.db.dispose()
            return
        began = time.monotonic()
        deadline = self.stop_deadline or began + self.stop_timeout_s

        def left() -> float:
            return max(deadline - time.monotonic(), 0.1)

        async def tasks_end() -> None:
            for task in self._tasks:
                task.cancel()
            if not self._tasks:
                return
            done, pending = await asyncio.wait(self._tasks, timeout=left())
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("a task failed while stopping: %r", task.exception())
            if pending:
                log.warning("%d task(s) still running at the shutdown deadline", len(pending))

        await asyncio.gather(tasks_end(), self.bus.stop_consuming(left()))
        await self.relay.stop(left())
        await self.bus.stop(left())  # the producer, last
        await self._run_stop_hooks(left)
        try:
            await asyncio.wait_for(self.db.dispose(), left())
        except TimeoutError:
            log.warning("closing the database connections timed out")
        self.started = False
        log.info("%s stopped in %.2fs", self.name, time.monotonic() - began)

    async def _run_stop_hooks(self, left: Callable[[], float]) -> None:
        for hook in self._on_stop:
            try:
                await asyncio.wait_for(hook(), left())
            except Exception:  # one failing hook must not keep the others from running
                log.exception("stop hook %s failed", _name_of(hook))

    async def readiness(self) -> dict[str, Any]:
        """What is reachable: {'database': 'ok' | error, 'bus': 'ok' | error}."""
        status: dict[str, Any] = {}
        for part, ping in (("database", self.db.ping), ("bus", self.bus.ping)):
            try:
                await ping()
                status[part] = "ok"
            except Exception as exc:
                status[part] = f"unreachable: {type(exc).__name__}"
        return status


def _name_of(job: Job) -> str:
    return str(getattr(job, "__qualname__", job))
