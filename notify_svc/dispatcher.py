"""Sends what the handlers recorded: claims due `pending` deliveries, sends them concurrently
(bounded overall and per endpoint), records each outcome, retries with backoff, dead-letters.

Claiming moves a row's next_attempt_at forward by a lease and counts the attempt, in its own
short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, so replicas share the work); the
send happens outside any transaction. A process that dies mid-send leaves the row to be
claimed again when the lease ends: delivery is at least once, and every message carries its
delivery id (X-Beacon-Delivery) for receivers that must drop a repeat.

A delivery a handler records is claimed as it is written (`lease`, the recorder's hand-over):
the row goes in with the lease and its first attempt counted, and the send starts once the
transaction has committed (nothing starts if it rolls back), without a claim transaction of
its own. Another replica's claim skips it as it skips any leased row. A handed-over send
that finds no free slot waits in memory, and is left to a claim when its lease ends if it
waited too long. The claim transaction is then for retries, expired leases and the rows
the digest and the briefs write.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from notify_svc.breaker import Backoff, Breakers
from notify_svc.channels import ChannelError, Outgoing, PermanentFailure, Senders
from notify_svc.digest import members_of, settle_members
from notify_svc.models import Delivery
from notify_svc.recording import refs_of
from notify_svc.service import Notifier
from notify_svc.settings import NotifySettings
from shared import tracing
from shared.events.schemas import NotificationFailed
from shared.runtime import ServiceRuntime, Unit

log = logging.getLogger("beacon.notify.dispatch")
_HANDED = "notify.handed_over"  # session.info: [(job, lease end)] to start after the commit


ATTEMPTS = PromCounter("beacon_notify_attempts_total", "Delivery attempts by channel and outcome",
                       ["channel", "outcome"])
SEND_SECONDS = Histogram("beacon_notify_send_seconds", "Time of one delivery attempt",
                         ["channel"])


class CircuitOpen(ChannelError):
    pass


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: `sent`, `retry` or `dead`."""

    delivery_id: str
    recipient: str
    channel: str
    status: str
    attempts: int
    error: str | None


class Dispatcher:
    def __init__(self, runtime: ServiceRuntime, settings: NotifySettings, notifier: Notifier,
                 senders: Senders) -> None:
        self.runtime, self.settings, self.notifier, self.senders = (
            runtime, settings, notifier, senders)
        self.breakers = Breakers(settings.breaker_failures, settings.breaker_reset_s)
        self.backoff = Backoff(settings.backoff_s, settings.backoff_max_s,
                               settings.backoff_jitter_s)
        self.listeners: list[Callable[[Outcome], None]] = []
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._per_endpoint: Counter[str] = Counter()
        self._results: asyncio.Queue[tuple[Outgoing, str | None, bool]] = asyncio.Queue()
        # Longer than any attempt can take, so a live sender never loses its claim.
        self.lease_s = max(senders.timeout_for(c) for c in (
            "email", "webhook", "sms", "callback", "dingtalk")) * 2 + 30
        # Handed-over sends waiting for a slot, with their leases' ends (in commit order).
        self._queued: deque[tuple[Outgoing, dt.datetime]] = deque()
        self._running = False
        self._idle = asyncio.Event()  # set while no send is in flight
        self._idle.set()
        # Whether the last fill left due deliveries unclaimed (no free slot, an endpoint at
        # its bound): only then does a finished send call for another claim at once.
        self._left_due = False

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """The dispatch loop; runs until cancelled, then lets sends in flight finish."""
        settler = asyncio.create_task(self._settle_loop())
        self._running = True
        try:
            while True:
                try:
                    await self.fill()
                except Exception:  # the database away: claim again at the next poll
                    log.exception("claiming due deliveries failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.dispatch_poll_s)
                self._wake.clear()
        finally:
            self._running = False
            self._queued.clear()  # their leases run out and a claim takes them
            await self.drain()
            settler.cancel()
            await asyncio.gather(settler, return_exceptions=True)
            if not self._results.empty():
                await self._settle_batch(self._take_results())

    async def drain(self, within: float = 5.0) -> None:
        if self._inflight:
            _, pending = await asyncio.wait(self._inflight, timeout=within)
            for task in pending:
                task.cancel()  # its lease runs out and another claim retries it

    async def _settle_loop(self) -> None:
        """Outcomes are recorded in batches, one transaction each: with many sends finishing
        together, one commit per send would make the database the bottleneck (on SQLite,
        writers queueing on its single lock). The first outcome waits for the other sends
        in flight up to NOTIFY_SETTLE_LINGER_S, as a producer lingers for a fuller batch:
        the sends have happened, only their record and notification.sent wait."""
        while True:
            first = await self._results.get()
            if self._inflight and self.settings.settle_linger_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), self.settings.settle_linger_s)
            await self._settle_batch([first, *self._take_results()])

    def _take_results(self) -> list[tuple[Outgoing, str | None, bool]]:
        batch: list[tuple[Outgoing, str | None, bool]] = []
        while not self._results.empty() and len(batch) < 500:
            batch.append(self._results.get_nowait())
        return batch

    async def _settle_batch(self, batch: list[tuple[Outgoing, str | None, bool]]) -> None:
        try:
            outcomes = await self.settle_many(batch)
        except Exception:  # the rows keep their lease and are claimed again when it ends
            log.exception("recording %d delivery outcomes failed", len(batch))
            return
        for outcome in outcomes:
            ATTEMPTS.labels(outcome.channel, outcome.status).inc()
            for listener in self.listeners:
                listener(outcome)

    async def fill(self) -> None:
        """Start the handed-over sends that wait, then claim as many due deliveries as
        there are free slots, skipping busy endpoints."""
        self._start_queued()
        self._left_due = True  # until a claim shows that nothing more is due
        while (free := self.settings.concurrency - len(self._inflight)) > 0:
            busy = [e for e, n in self._per_endpoint.items()
                    if n >= self.settings.endpoint_concurrency]
            claimed, fetched = await self.claim(free, busy)
            for job in claimed:
                self._start(job)
            if fetched < free:  # nothing more is due, but what a bound held back
                self._left_due = bool(busy) or len(claimed) < fetched
                return

    async def lease(self, session: AsyncSession, row: Delivery) -> None:
        """Claim a `pending` delivery as its handler records it (the recorder's hand-over):
        the row is written leased, with its first attempt counted, and its send starts
        when `session` commits. Not while the dispatch loop is stopped: the row is then
        left due for a claim."""
        if not self._running:
            return
        row.attempts += 1
        row.next_attempt_at = until = row.created_at + dt.timedelta(seconds=self.lease_s)
        secrets = await self._secrets(session, [row])
        handed: list[tuple[Outgoing, dt.datetime]] | None = session.info.get(_HANDED)
        if handed is None:
            handed = session.info[_HANDED] = []
            event.listen(session.sync_session, "after_commit", self._committed, once=True)
        handed.append((self._outgoing(row, secrets.get((row.recipient, row.channel))), until))

    def _committed(self, session: Session) -> None:
        """After the commit of a transaction that handed deliveries over: send them."""
        self._queued.extend(session.info.pop(_HANDED, ()))
        self._start_queued()

    def _start_queued(self) -> None:
        """Start the waiting handed-over sends there are slots for. One that waited so long
        that its lease could end mid-send is dropped: a claim takes it when the lease ends."""
        if not self._queued:
            return
        latest = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.lease_s / 2)
        waiting: deque[tuple[Outgoing, dt.datetime]] = deque()
        while self._queued and len(self._inflight) < self.settings.concurrency:
            job, until = self._queued.popleft()
            if until < latest:
                continue
            endpoint = self.notifier.endpoint(job.channel, job.address)
            if self._per_endpoint[endpoint] >= self.settings.endpoint_concurrency:
                waiting.append((job, until))
                continue
            self._start(job, endpoint)
        self._queued.extendleft(reversed(waiting))

    def _start(self, job: Outgoing, endpoint: str | None = None) -> None:
        endpoint = endpoint or self.notifier.endpoint(job.channel, job.address)
        self._per_endpoint[endpoint] += 1
        task = asyncio.create_task(self.attempt(job, endpoint))
        self._inflight.add(task)
        self._idle.clear()

        def done(t: asyncio.Task[None]) -> None:
            self._inflight.discard(t)
            if not self._inflight:
                self._idle.set()
            self._per_endpoint[endpoint] -= 1
            if self._per_endpoint[endpoint] <= 0:
                del self._per_endpoint[endpoint]
            if self._left_due or self._queued:  # its slot can take what was held back
                self.wake()

        task.add_done_callback(done)

    async def claim(self, limit: int, busy: Sequence[str]) -> tuple[list[Outgoing], int]:
        """Up to `limit` due deliveries off busy endpoints, and how many were due."""
        now = dt.datetime.now(dt.UTC)
        query = (select(Delivery)
                 .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                 .order_by(Delivery.next_attempt_at).limit(limit))
        if busy:
            query = query.where(Delivery.endpoint.not_in(list(busy)))
        async with self.runtime.db.transaction() as session:
            if not self.runtime.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            due = (await session.scalars(query)).all()
            if not due:
                return [], 0
            lease = dt.timedelta(seconds=self.lease_s)
            rows = self._within_endpoint_bounds(due)
            secrets = await self._secrets(session, rows)
            jobs = []
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = now + lease
                jobs.append(self._outgoing(row, secrets.get((row.recipient, row.channel))))
        return jobs, len(due)

    def _within_endpoint_bounds(self, rows: Sequence[Delivery]) -> list[Delivery]:
        """Leave unclaimed what would put an endpoint over its bound: a slow endpoint gets
        its slots and no more, the rest stay due for the next claim."""
        in_flight = Counter(self._per_endpoint)
        kept = []
        for row in rows:
            if in_flight[row.endpoint] < self.settings.endpoint_concurrency:
                in_flight[row.endpoint] += 1
                kept.append(row)
        return kept

    async def _secrets(self, session: AsyncSession, rows: Sequence[Delivery]
                       ) -> dict[tuple[str, str], str | None]:
        """Signing secrets live on the roster (and callbacks), never on delivery rows: read
        from the roster cache (one version check in this transaction)."""
        snapshot = await self.notifier.router.roster.get(session)
        ids = {r.recipient for r in rows}
        found: dict[tuple[str, str], str | None] = {
            (m.id, ch): e.secret for m in snapshot.members if m.id in ids
            for ch, e in m.channels.items()}
        for row in rows:
            if row.channel == "callback":
                callback = snapshot.callbacks.get(row.recipient.split(":", 1)[1])
                found[(row.recipient, "callback")] = callback[1] if callback else None
        return found

    def _outgoing(self, row: Delivery, secret: str | None) -> Outgoing:
        return Outgoing(
            delivery_id=row.id, event_type=row.event_type, channel=row.channel,
            address=row.address, secret=secret, message=self.notifier.render(row),
            data=row.context, ack_url=self.notifier.ack_url(row.id),
            traceparent=row.traceparent,
        )

    async def attempt(self, job: Outgoing, endpoint: str) -> None:
        breaker = self.breakers.get(endpoint)
        started = time.perf_counter()
        error: str | None = None
        final = False
        try:
            if not breaker.allow():
                raise CircuitOpen(f"circuit open for {endpoint}")
            with tracing.continued(job.traceparent):  # the peer gets the cause's trace
                await asyncio.wait_for(self.senders.send(job),
                                       self.senders.timeout_for(job.channel))
            breaker.success()
        except PermanentFailure as exc:
            breaker.success()  # the peer answered: it is up, it refused this message
            error, final = str(exc) or type(exc).__name__, True
        except CircuitOpen as exc:
            error = str(exc)
        except (ChannelError, TimeoutError) as exc:
            breaker.failure()
            error = f"{type(exc).__name__}: {str(exc) or 'timed out'}"
        except Exception as exc:  # a bug in a sender must not kill the dispatcher
            log.exception("sender for %s failed unexpectedly", job.channel)
            breaker.failure()
            error = f"{type(exc).__name__}: {exc}"
        SEND_SECONDS.labels(job.channel).observe(time.perf_counter() - started)
        self._results.put_nowait((job, error, final))

    async def settle_many(self, batch: list[tuple[Outgoing, str | None, bool]]
                          ) -> list[Outcome]:
        async with self.runtime.unit() as unit:
            ids = [job.delivery_id for job, _, _ in batch]
            rows = {r.id: r for r in (await unit.session.scalars(
                select(Delivery).where(Delivery.id.in_(ids)))).all()}
            return [await self.settle(unit, rows[job.delivery_id], error, final)
                    for job, error, final in batch]

    async def settle(self, unit: Unit, row: Delivery, error: str | None,
                     final: bool) -> Outcome:
        """Record the attempt: sent; pending again after a backoff; or dead after the last."""
        now = dt.datetime.now(dt.UTC)
        members = await members_of(unit, row)
        if error is None:
            row.status, row.sent_at, row.next_attempt_at = "sent", now, None
            settle_members(members, "sent", now, None)
            with tracing.continued(row.traceparent):
                await self.notifier.emit_sent(unit, row, now)
        elif final or row.attempts >= self.settings.max_attempts:
            row.status, row.next_attempt_at = "dead", None
            settle_members(members, "dead", now, error[:2000])
            with tracing.continued(row.traceparent):
                await self._emit_failed(unit, row, error, now)
        else:
            row.status = "pending"
            row.next_attempt_at = now + dt.timedelta(seconds=self.backoff.delay(row.attempts))
        row.last_error = None if error is None else error[:2000]
        status = {"sent": "sent", "dead": "dead"}.get(row.status, "retry")
        return Outcome(row.id, row.recipient, row.channel, status, row.attempts, error)

    async def _emit_failed(self, unit: Unit, row: Delivery, error: str, now: dt.datetime) -> None:
        log.warning("delivery %s to %s via %s is dead after %d attempts: %s",
                    row.id, row.recipient, row.channel, row.attempts, error)
        await unit.emit(NotificationFailed(
            delivery_id=row.id, complaint_id=row.complaint_id, case_id=row.case_id,
            incident_id=row.incident_id, recipient=row.recipient, channel=row.channel,
            attempts=row.attempts, error=error[:2000], failed_at=now,
        ), subject=refs_of(row).subject)
