"""Escalation (逐级上报) and skip-level escalation (跨级上报) on durable timers.

Each case gets one `Escalation` row per step of its level's chain ([escalation.steps]), due
when the step's clock runs out. A periodic check (every replica runs it) claims due rows:
if the clock's work was done in time the row is cancelled, otherwise it fires: the case
moves up to the step, the miss goes on the timeline, `case.escalated` is published, and the
step's recipients have `[escalation.ack_within]` to acknowledge. When nobody acknowledges in
time the next role up the chain is reached at once (reason `not_acknowledged`).

Exactly once: rows live in the database, not in memory, so a restart loses nothing; a check
locks the cases it works on (row locks, SKIP LOCKED so replicas share the work) and
re-reads each row's status under that lock, and the event goes out through the outbox in
the same transaction. Every path that touches a case's escalations locks the case first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.schemas import CaseEscalated, NotificationAcknowledged
from shared.runtime import ServiceRuntime, Unit
from triage_svc import clocks, media, timers
from triage_svc.models import Case, Escalation, TimelineEntry
from triage_svc.rules import Rules

Reason = Literal["deadline_missed", "not_acknowledged"]
ANSWERED = frozenset({"responded", "follow_up", "closed"})
# The states in which a clock's work counts as done.
WORK_DONE: dict[str, frozenset[str]] = {
    "acknowledge": ANSWERED | {"acknowledged", "investigating"},
    "first_contact": ANSWERED | {"investigating"},
    "report": ANSWERED,
    "resolve": ANSWERED,
}
# The handling plan's deadline (处理方案 "应包括:处理方式、处理时限、责任人",
# plans-complaint-and-media-a.txt): its work is the handling, done once the complainant is
# answered. Only a case with a plan has this clock (`Case.plan_by`).
PLAN = "plan"
PLAN_DONE = ANSWERED
# A media complaint's clocks ([[media.steps]]; triage_svc/media.py): their work is the
# answer, and for `media_solution` (媒体/客户同意确认的解决方案) a handling plan will do.
MEDIA_SOLUTION = "media_solution"


def is_chain_clock(clock: str) -> bool:
    """A level clock's timer (one per chain step), as opposed to the plan's or a media one."""
    return clock in WORK_DONE


def deadline_of(case: Case, clock: str) -> datetime:
    deadline: datetime = getattr(case, f"{clock}_by")
    return deadline


def work_done(case: Case, clock: str) -> bool:
    if clock == MEDIA_SOLUTION:
        return case.state in ANSWERED or case.plan_by is not None
    return case.state in WORK_DONE.get(clock, ANSWERED)


def is_overdue(case: Case, now: datetime) -> bool:
    """A clock ran out with its work undone (the plan's too, when there is one)."""
    plan_missed = case.plan_by is not None and case.plan_by < now \
        and case.state not in PLAN_DONE
    return plan_missed or any(deadline_of(case, clock) < now and not work_done(case, clock)
                              for clock in WORK_DONE)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """`is_overdue` as SQL."""
    plan = Case.plan_by.is_not(None) & (Case.plan_by < now) & Case.state.not_in(PLAN_DONE)
    return or_(plan, *[(getattr(Case, f"{clock}_by") < now) & Case.state.not_in(done)
                       for clock, done in WORK_DONE.items()])


def schedule(session: AsyncSession, case: Case, rules: Rules,
             existing: Sequence[Escalation] = ()) -> None:
    """Make the case's pending timers match its level's chain; fired steps stay fired.
    The plan's timers are not the chain's (see `schedule_plan`)."""
    by_step = {e.step: e for e in existing if is_chain_clock(e.clock)}
    wanted = {s.step: s for s in rules.escalation.steps[case.response_level]}
    for step, unwanted in by_step.items():
        if unwanted.status == "pending" and step not in wanted:
            unwanted.status = "cancelled"
    for step, spec in wanted.items():
        timer = by_step.get(step)
        if timer is None:
            timers.add(session, Escalation(
                id=uuid.uuid4().hex, case_id=case.id, step=step, role=spec.role,
                clock=spec.clock, status="pending", due_at=deadline_of(case, spec.clock)))
        elif timer.status in ("pending", "cancelled") and timer.fired_at is None:
            timer.role, timer.clock, timer.status = spec.role, spec.clock, "pending"
            timer.due_at = deadline_of(case, spec.clock)


def schedule_plan(session: AsyncSession, case: Case, rules: Rules,
                  existing: Sequence[Escalation]) -> Escalation:
    """Put the plan's deadline (`case.plan_by`) on a timer. A pending plan timer moves to
    the new deadline; once one has fired or was cancelled, the new plan's timer is one step
    further up the chain (逐级上报: a missed re-planned deadline goes higher), at least one
    step above where the case stands."""
    plans = [e for e in existing if e.clock == PLAN]
    deadline = case.plan_by
    assert deadline is not None
    pending = next((e for e in plans if e.status == "pending"), None)
    if pending is not None:
        pending.due_at = deadline
        return pending
    chain = rules.escalation.chain
    step = min(max([case.escalation_step, *(e.step for e in plans)]) + 1, len(chain) - 1)
    timer = next((e for e in plans if e.step == step), None)
    if timer is None:
        timer = Escalation(id=uuid.uuid4().hex, case_id=case.id, step=step, role=chain[step],
                           clock=PLAN)
        timers.add(session, timer)
    # At the top of the chain the one plan timer there is armed again.
    timer.status, timer.due_at, timer.fired_at, timer.reason = "pending", deadline, None, None
    timer.ack_due = timer.acknowledged_at = timer.acknowledged_by = None
    return timer


async def timers_of(session: AsyncSession, case_id: str) -> list[Escalation]:
    if (known := timers.of_new_case(session, case_id)) is not None:
        return known
    return list((await session.scalars(
        select(Escalation).where(Escalation.case_id == case_id).order_by(Escalation.step)
    )).all())


async def check(runtime: ServiceRuntime, rules: Rules, now: datetime | None = None,
                batch: int = 500) -> int:
    """Fire what is due now; returns how many `case.escalated` events were published.
    Runs batches until nothing due is left (or only rows other replicas hold)."""
    fired = 0
    while True:
        claimed, published = await _check_batch(runtime, rules, now or datetime.now(UTC), batch)
        fired += published
        if claimed < batch:
            return fired


async def _check_batch(runtime: ServiceRuntime, rules: Rules, now: datetime,
                       batch: int) -> tuple[int, int]:
    async with runtime.unit() as unit:
        session = unit.session
        due = select(Escalation.case_id).where(
            Escalation.status == "pending", Escalation.due_at <= now
        ).order_by(Escalation.due_at).limit(batch)
        silent = select(Escalation.case_id).where(Escalation.ack_due <= now).limit(batch)
        case_ids = set((await session.scalars(due)).all()) | set(
            (await session.scalars(silent)).all())
        if not case_ids:
            return 0, 0
        cases = (await session.scalars(
            select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)
            .with_for_update(skip_locked=True)
        )).all()
        timers: dict[str, list[Escalation]] = {c.id: [] for c in cases}
        for timer in await session.scalars(select(Escalation).where(
                Escalation.case_id.in_(timers)).order_by(Escalation.case_id, Escalation.step)):
            timers[timer.case_id].append(timer)
        published = 0
        for case in cases:
            published += await advance(unit, case, timers[case.id], rules, now)
        return len(case_ids), published


async def advance(unit: Unit, case: Case, timers: list[Escalation], rules: Rules,
                  now: datetime) -> int:
    """Apply the case's due timers (the caller holds the case's row lock)."""
    by_step = {t.step: t for t in timers if is_chain_clock(t.clock)}
    published = 0
    for timer in timers:
        if timer.status == "pending" and timer.due_at <= now:
            if work_done(case, timer.clock):
                timer.status = "cancelled"
            else:
                await _fire(unit, case, timer, rules, now, "deadline_missed", timer.due_at)
                published += 1
        elif timer.status == "fired" and timer.ack_due is not None and timer.ack_due <= now:
            published += await _skip_level(unit, case, timer, by_step, rules, now)
    return published


async def _skip_level(unit: Unit, case: Case, silent: Escalation,
                      by_step: dict[int, Escalation], rules: Rules, now: datetime) -> int:
    """Nobody at `silent.role` acknowledged in time: reach the next role up the chain."""
    missed, silent.ack_due = silent.ack_due, None
    chain = rules.escalation.chain
    upper = silent.step + 1
    if case.state in ANSWERED or missed is None:
        return 0
    if upper >= len(chain):
        _timeline(unit, case, now, "not_acknowledged", {"step": silent.step, "role": silent.role},
                  f"{silent.role} did not acknowledge by {missed.isoformat()}; top of the chain")
        return 0
    found = by_step.get(upper)
    if found is None:
        timer = Escalation(id=uuid.uuid4().hex, case_id=case.id, step=upper, role=chain[upper],
                           clock=silent.clock, status="pending", due_at=missed)
        timers.add(unit.session, timer)
        by_step[upper] = timer
    else:
        timer = found
    if timer.status == "fired":
        return 0
    await _fire(unit, case, timer, rules, now, "not_acknowledged", missed,
                skipped_role=silent.role)
    return 1


async def _fire(unit: Unit, case: Case, timer: Escalation, rules: Rules, now: datetime,
                reason: Reason, deadline: datetime, skipped_role: str | None = None) -> None:
    timer.status, timer.fired_at, timer.reason = "fired", now, reason
    timer.skipped_role = skipped_role
    timer.ack_due = clocks.due(now, rules.escalation.ack_within[case.response_level],
                               rules.calendar)
    case.escalation_step = max(case.escalation_step, timer.step)
    # A media clock that fired starts the ones that run from it (media_company_team).
    await media.schedule_after(unit.session, case, timer, rules, now)
    why = (f"{skipped_role} did not acknowledge by {deadline.isoformat()} (跨级上报)"
           if skipped_role else f"{timer.clock} deadline {deadline.isoformat()} missed")
    _timeline(unit, case, now, "escalated", {
        "step": timer.step, "role": timer.role, "clock": timer.clock, "reason": reason,
        "deadline": deadline.isoformat(), "skipped_role": skipped_role,
    }, f"{why}; reported up to {timer.role}")
    await unit.emit(CaseEscalated(
        escalation_id=timer.id, case_id=case.id, complaint_id=case.complaint_id,
        response_level=case.response_level, step=timer.step, step_role=timer.role,
        clock=timer.clock, reason=reason,
        deadline=deadline, escalated_at=now, skipped_role=skipped_role, drill=case.drill,
        media_form=await media.form_if_due(unit.session, case, timer, rules),
    ), subject=case.complaint_id)


def _timeline(unit: Unit, case: Case, at: datetime, action: str, detail: dict[str, object],
              reason: str | None, actor: str = "triage") -> None:
    unit.session.add(TimelineEntry(case_id=case.id, at=at, actor=actor, action=action,
                                   detail=detail, reason=reason))


async def record_acknowledgement(unit: Unit, ack: NotificationAcknowledged) -> Case | None:
    """A recipient confirmed a delivery: an escalation's stops its skip-level timer; any
    acknowledgement of the case goes on its timeline under who gave it (the recipient by
    token, or the operator who recorded it). Returns the case, locked, if there is one."""
    session = unit.session
    timer = await session.get(Escalation, ack.escalation_id) if ack.escalation_id else None
    case_id = timer.case_id if timer is not None else ack.case_id
    if case_id is None:
        return None
    case = await session.get(Case, case_id, with_for_update=True)
    if case is None:
        return None
    actor = ack.acknowledged_by or ack.recipient
    detail: dict[str, object] = {"recipient": ack.recipient, "roles": ack.roles,
                                 "delivery_id": ack.delivery_id}
    if timer is not None:
        await session.refresh(timer)
        detail.update(step=timer.step, role=timer.role)
        if timer.acknowledged_at is None:
            timer.acknowledged_at, timer.acknowledged_by = ack.acknowledged_at, actor
            timer.ack_due = None
    _timeline(unit, case, ack.acknowledged_at, "notification_acknowledged", detail, None,
              actor=actor)
    return case
