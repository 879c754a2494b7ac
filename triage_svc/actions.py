"""Operator actions on a case (no HTTP): each one checks the workflow, changes the case,
adds a timeline entry (who, when, what, why) and publishes `case.updated`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select

from shared.events.schemas import (
    CaseUpdated,
    Category,
    ClockDue,
    ComplaintTriaged,
    Deadlines,
    NotificationAcknowledged,
)
from shared.pii_text import mask_optional
from shared.runtime import Unit
from triage_svc import closing, escalation
from triage_svc.clocks import deadlines
from triage_svc.errors import Archived, MissingReason, NotFound
from triage_svc.models import AnswerVersion, Case, TimelineEntry
from triage_svc.rules import Rules
from triage_svc.workflow import check_move


async def writable_case(unit: Unit, case_id: str) -> Case:
    """The case, row-locked for an action: NotFound if there is none, Archived if it is
    archived (归档: read-only from then on)."""
    case = await unit.session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.archived_at is not None:
        raise Archived(case.id)
    return case


async def record(unit: Unit, case: Case, actor: str, action: str, *,
                 detail: dict[str, Any], reason: str | None = None,
                 at: datetime | None = None) -> None:
    """A timeline entry (who, when, what, why) and its `case.updated`."""
    now = at or datetime.now(UTC)
    unit.session.add(TimelineEntry(case_id=case.id, at=now, actor=actor, action=action,
                                   detail=detail, reason=reason))
    latest = await latest_answer(unit, case) if case.answer is not None else None
    await unit.emit(CaseUpdated(
        case_id=case.id, complaint_id=case.complaint_id, action=action,
        state=case.state,
        # An operator's note may hold a phone number: the bus carries it masked.
        response_level=case.response_level, actor=actor, reason=mask_optional(reason), at=now,
        department=case.department, assignee=case.assignee, drill=case.drill,
        submitted_by=case.submitted_by, external_ref=case.external_ref,
        answer=case.answer, answer_version=latest.version if latest else None,
        outstanding=outstanding(case), owner=case.owner, plan_due_at=case.plan_by,
        to_department=detail.get("to_department") if action == "transferred" else None,
        archived=True if case.archived_at is not None else None,
        media=True if case.media else None,
        out_of_jurisdiction=(True if action == "transferred"
                             and detail.get("out_of_jurisdiction") else None),
    ), subject=case.complaint_id)


def outstanding(case: Case) -> list[ClockDue]:
    """The clocks whose work is not done in the case's state, soonest first: what the
    people told about the case still have to do."""
    due = [ClockDue(clock=clock, due_at=escalation.deadline_of(case, clock))
           for clock in escalation.WORK_DONE if not escalation.work_done(case, clock)]
    return sorted(due, key=lambda d: d.due_at)


async def move(unit: Unit, case: Case, actor: str, target: str, *, action: str,
               reason: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Change state if the workflow allows it (InvalidMove names the allowed states); a
    case closes only with its record complete (IncompleteRecord names what is missing).
    The first person to acknowledge a case owns it (首问责任制) until a transfer."""
    check_move(case.state, target)
    if target == "closed":
        await closing.require_complete(unit.session, case)
    if action == "acknowledged" and case.owner is None:
        case.owner = actor
    before, case.state = case.state, target
    await record(unit, case, actor, action, reason=reason,
                  detail={"from": before, "to": target, **(detail or {})})


async def assign(unit: Unit, case: Case, actor: str, assignee: str,
                 department: str | None) -> None:
    case.assignee = assignee
    if department:
        case.department = department
    await record(unit, case, actor, "assigned",
                  detail={"assignee": assignee, "department": case.department})


async def change_level(unit: Unit, case: Case, actor: str, level: int, reason: str,
                       rules: Rules) -> None:
    """Set the level by hand, with a reason (lowering is only ever a human decision);
    the clocks are recomputed from when the case was opened."""
    if not reason.strip():
        raise MissingReason("a reason is required to change a level")
    before, case.response_level = case.response_level, level
    due = deadlines(level, case.opened_at, rules)
    case.acknowledge_by, case.first_contact_by = due.acknowledge_by, due.first_contact_by
    case.report_by, case.resolve_by = due.report_by, due.resolve_by
    escalation.schedule(unit.session, case, rules,
                        await escalation.timers_of(unit.session, case.id))
    await record(unit, case, actor, "level_changed", reason=reason,
                  detail={"from": before, "to": level})


async def raise_level(unit: Unit, case: Case, level: int, rules: Rules, now: datetime, *,
                      reason: str, detail: dict[str, Any] | None = None,
                      announce: bool = True) -> bool:
    """Raise the level on new evidence (automatic raises only ever go up). Each clock
    becomes the earlier of its old deadline and the new level's counted from `now`: a raise
    never gives more time, and the new level's clocks start when its evidence arrived.
    The reason joins `level_reasons`. With `announce`, the case's timeline gets the raise,
    and `case.updated` and a new `complaint.triaged` (so the new level's people are told)
    are published; a case being opened announces itself. Returns whether it rose."""
    if level >= case.response_level:
        return False
    before, case.response_level = case.response_level, level
    due = deadlines(level, now, rules)
    case.acknowledge_by = min(case.acknowledge_by, due.acknowledge_by)
    case.first_contact_by = min(case.first_contact_by, due.first_contact_by)
    case.report_by = min(case.report_by, due.report_by)
    case.resolve_by = min(case.resolve_by, due.resolve_by)
    case.level_reasons = [*case.level_reasons, reason]
    escalation.schedule(unit.session, case, rules,
                        await escalation.timers_of(unit.session, case.id))
    if announce:
        await record(unit, case, "triage", "level_raised", reason=reason, at=now,
                     detail={"from": before, "to": level, **(detail or {})})
        await announce_triage(unit, case)
    return True


async def announce_triage(unit: Unit, case: Case) -> None:
    """Publish the case's triage result (level, category, reasons, deadlines)."""
    await unit.emit(ComplaintTriaged(
        complaint_id=case.complaint_id, case_id=case.id, response_level=case.response_level,
        category=cast(Category, case.category), level_reasons=case.level_reasons,
        deadlines=deadlines_of(case), department=case.department, drill=case.drill,
        submitted_by=case.submitted_by, external_ref=case.external_ref,
        outstanding=outstanding(case),
    ), subject=case.complaint_id)


def deadlines_of(case: Case) -> Deadlines:
    return Deadlines(acknowledge_by=case.acknowledge_by, first_contact_by=case.first_contact_by,
                     report_by=case.report_by, resolve_by=case.resolve_by)


async def answer(unit: Unit, case: Case, actor: str, text: str) -> None:
    """What the complainant was told (反馈): a new version beside the earlier ones (the
    caller holds the case's row lock, so versions never collide)."""
    check_move(case.state, "responded")
    last = await unit.session.scalar(select(func.max(AnswerVersion.version))
                                     .where(AnswerVersion.case_id == case.id))
    version = (last or 0) + 1
    unit.session.add(AnswerVersion(case_id=case.id, version=version, text=text, author=actor,
                                   at=datetime.now(UTC)))
    case.answer = text
    await move(unit, case, actor, "responded", action="answered",
               detail={"version": version, "text": text})


async def latest_answer(unit: Unit, case: Case) -> AnswerVersion | None:
    await unit.session.flush()
    found: AnswerVersion | None = await unit.session.scalar(
        select(AnswerVersion).where(AnswerVersion.case_id == case.id)
        .order_by(AnswerVersion.version.desc()).limit(1))
    return found


async def follow_up(unit: Unit, case: Case, actor: str, satisfaction: int,
                    note: str | None) -> None:
    """The follow-up call (回访) and its satisfaction, 1 to 5."""
    case.satisfaction = satisfaction
    await move(unit, case, actor, "follow_up", action="followed_up", reason=note,
               detail={"satisfaction": satisfaction})


async def appeal(unit: Unit, case: Case, actor: str, reason: str) -> None:
    """复议: the complainant disputes the answer; the case reopens."""
    if not reason.strip():
        raise MissingReason("an appeal needs the complainant's reason")
    await move(unit, case, actor, "reopened", action="appealed", reason=reason)


async def record_reveal(unit: Unit, case_id: str, actor: str, reason: str | None) -> None:
    """On the timeline: `actor` is about to see the complainant's personal data (保密原则:
    who looked, and when). No event: nothing about the case changed. Archived cases too."""
    case = await unit.session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    unit.session.add(TimelineEntry(case_id=case.id, at=datetime.now(UTC), actor=actor,
                                   action="pii_revealed", detail={}, reason=reason))


ACKNOWLEDGED_FROM = frozenset({"triaged", "reopened"})


async def acknowledged_by_notification(unit: Unit, case: Case,
                                       ack: NotificationAcknowledged) -> bool:
    """The first acknowledgement of a case's notification by someone the roster reached
    for it (not the filing hotline) acknowledges the case: the acknowledge clock is met
    under that person's name. Later ones only go on the timeline. Returns whether the case
    was acknowledged now."""
    if case.state not in ACKNOWLEDGED_FROM or not ack.roles or ack.roles == ["hotline"]:
        return False
    actor = ack.acknowledged_by or ack.recipient
    await move(unit, case, actor, "acknowledged", action="acknowledged",
               reason=f"acknowledged notification {ack.delivery_id} ({', '.join(ack.roles)})",
               detail={"delivery_id": ack.delivery_id, "roles": ack.roles})
    return True
