"""Assessing a complaint (level, category, reasons, deadlines) and opening its case."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    ScalarSelect,
    String,
    bindparam,
    func,
    insert,
    select,
    text,
)

from shared.events.schemas import Category, ComplaintReceived, Deadlines
from shared.runtime import Unit
from triage_svc import actions, clocks, escalation, incidents, levels, media, timers
from triage_svc.levels import Assessment, History
from triage_svc.models import Case, MediaLink, Registration, TimelineEntry
from triage_svc.rules import Rules
from triage_svc.similarity import fingerprint

__all__ = ["Assessment", "History", "assess", "categorise", "deadlines", "open_case",
           "open_cases"]


def assess(complaint: ComplaintReceived, rules: Rules, history: History | None = None
           ) -> Assessment:
    """Level, category and reasons; `history` is what the caller knows of earlier complaints."""
    return levels.assess(complaint, rules, history)


def categorise(text: str, rules: Rules) -> Category:
    return levels.categorise(text, rules)


def deadlines(level: int, start: datetime, rules: Rules) -> Deadlines:
    """The level's clocks from `start` (minutes or working days; see `triage_svc.clocks`)."""
    return clocks.deadlines(level, start, rules)


async def recent_history(unit: Unit, complaint: ComplaintReceived, rules: Rules) -> History:
    """Earlier real (not drill) complaints in the rules' window: the same complainant's
    (by keyed hash) and the same target's (department and product together, so one
    department's many products are not lumped into one count)."""
    return (await recent_histories(unit, [complaint], rules))[0]


def _windows(complaint: ComplaintReceived, rules: Rules
             ) -> tuple[ColumnElement[bool] | None, ColumnElement[bool] | None]:
    """The conditions of the complaint's two counts (None: not counted)."""
    since = complaint.received_at - timedelta(days=rules.history_window_days)
    recent = (Case.opened_at >= since) & (Case.opened_at <= complaint.received_at) \
        & Case.drill.is_(False) & (Case.complaint_id != complaint.complaint_id)
    person = (recent & (Case.complainant_key == complaint.complainant_key)
              if complaint.complainant_key else None)
    target = (recent & (Case.department == complaint.target.department)
              & (Case.product == complaint.target.product)
              if complaint.target.department and complaint.target.product else None)
    return person, target


def _counts(earlier: ComplaintReceived, complaint: ComplaintReceived, rules: Rules
            ) -> tuple[bool, bool]:
    """Whether `earlier` (opened in this batch, not yet in the database) is in the
    complaint's person and target counts: the same conditions as `_windows`."""
    since = complaint.received_at - timedelta(days=rules.history_window_days)
    recent = (not earlier.drill and since <= earlier.received_at <= complaint.received_at
              and earlier.complaint_id != complaint.complaint_id)
    person = recent and bool(complaint.complainant_key) \
        and earlier.complainant_key == complaint.complainant_key
    target = recent and bool(complaint.target.department and complaint.target.product) \
        and (earlier.target.department, earlier.target.product) \
        == (complaint.target.department, complaint.target.product)
    return person, target


# PostgreSQL: both counts of every complaint of a batch in one statement of one shape
# (arrays, so it is prepared once): each row of the unnested arrays is one complaint.
_HISTORIES_PG = text("""
SELECT (SELECT count(*) FROM triage_cases c
        WHERE c.complainant_key = v.person AND c.opened_at >= v.since
          AND c.opened_at <= v.until AND c.drill IS false AND c.complaint_id <> v.id),
       (SELECT count(*) FROM triage_cases c
        WHERE c.department = v.department AND c.product = v.product
          AND c.opened_at >= v.since AND c.opened_at <= v.until AND c.drill IS false
          AND c.complaint_id <> v.id)
FROM unnest(:ids, :persons, :departments, :products, :sinces, :untils)
     WITH ORDINALITY AS v(id, person, department, product, since, until, n)
ORDER BY v.n
""").bindparams(
    bindparam("ids", type_=ARRAY(String)), bindparam("persons", type_=ARRAY(String)),
    bindparam("departments", type_=ARRAY(String)), bindparam("products", type_=ARRAY(String)),
    bindparam("sinces", type_=ARRAY(DateTime(timezone=True))),
    bindparam("untils", type_=ARRAY(DateTime(timezone=True))),
)


async def _stored_counts(unit: Unit, complaints: Sequence[ComplaintReceived], rules: Rules
                         ) -> list[tuple[int, int]]:
    """(person, target) counts of the cases in the database for each complaint."""
    if not complaints:
        return []
    window = timedelta(days=rules.history_window_days)
    if unit.session.get_bind().dialect.name == "postgresql":
        targeted = [bool(c.target.department and c.target.product) for c in complaints]
        rows = (await unit.session.execute(_HISTORIES_PG, {
            "ids": [c.complaint_id for c in complaints],
            "persons": [c.complainant_key or None for c in complaints],
            "departments": [c.target.department if t else None
                            for c, t in zip(complaints, targeted, strict=True)],
            "products": [c.target.product if t else None
                         for c, t in zip(complaints, targeted, strict=True)],
            "sinces": [c.received_at - window for c in complaints],
            "untils": [c.received_at for c in complaints],
        })).all()
        return [(int(person), int(target)) for person, target in rows]
    columns: list[ScalarSelect[int]] = []
    where: list[tuple[int | None, int | None]] = []
    for complaint in complaints:
        at: list[int | None] = []
        for condition in _windows(complaint, rules):
            at.append(None if condition is None else len(columns))
            if condition is not None:
                columns.append(select(func.count()).select_from(Case).where(condition)
                               .scalar_subquery())
        where.append((at[0], at[1]))
    found = (await unit.session.execute(select(*columns))).one() if columns else ()
    return [(int(found[p] or 0) if p is not None else 0,
             int(found[t] or 0) if t is not None else 0) for p, t in where]


async def recent_histories(unit: Unit, complaints: Sequence[ComplaintReceived], rules: Rules
                           ) -> list[History]:
    """`recent_history` of each complaint of a batch being opened in this order, in one
    statement: each complaint's counts include the batch's earlier ones (not yet written)."""
    histories = []
    stored = await _stored_counts(unit, complaints, rules)
    for j, (complaint, (person, target)) in enumerate(zip(complaints, stored, strict=True)):
        for earlier in complaints[:j]:
            same_person, same_target = _counts(earlier, complaint, rules)
            person += same_person
            target += same_target
        histories.append(History(complainant_recent=person, target_recent=target))
    return histories


# The rules that recognise a repeated complaint (rules.toml): its words, or its history.
REPEAT_RULES = ("repeated_text", "repeated_history")


def repeat_reason(result: Assessment, history: History, rules: Rules) -> str | None:
    """Why the complaint counts as a repeated one (重复投诉), None when it does not: a
    repeat rule fired, or the same complainant (by keyed hash) complained before within
    the rules' history window."""
    fired = next((reason for reason in result.level_reasons
                  if any(f"[{name} →" in reason for name in REPEAT_RULES)), None)
    if fired is not None:
        return fired[:500]
    if history.complainant_recent:
        return (f"{history.complainant_recent} earlier complaint(s) from the same complainant "
                f"within {rules.history_window_days} days")
    return None


def pre_registered(result: Assessment, note: str | None) -> Assessment:
    """A complainant pre-registered as at risk of escalating (易造成升级投诉…提前报备) has
    this complaint raised one level (level 1 stays 1), with the reason."""
    if note is None:
        return result
    level = max(1, result.response_level - 1)
    reason = (f"pre-registered as at risk of escalating (提前报备): {note} "
              f"[at_risk → level {level}]")
    return replace(result, response_level=level, level_reasons=[*result.level_reasons, reason])


async def open_case(unit: Unit, complaint: ComplaintReceived, rules: Rules) -> Case:
    """One case per complaint: a second `complaint.received` for it changes nothing.

    The case is assessed, put on its clocks and escalation timers, checked for a group it
    belongs to and for media mentions that arrived first, then announced with the level
    all of that gives."""
    return (await open_cases(unit, [complaint], rules))[0]


async def open_cases(unit: Unit, complaints: Sequence[ComplaintReceived], rules: Rules, *,
                     each: Callable[[int], AbstractContextManager[object]] | None = None,
                     ) -> list[Case]:
    """`open_case` for each complaint in turn, with the reads of all of them first in
    three statements (the cases that exist, the histories, the media links that came
    first) and the new cases written together before the first group check; `each(i)` is
    the context complaint i's own work runs in (its event's trace). Complaint i's group
    check sees the cases opened before it, not the batch's later ones (as one by one)."""
    ids = list(dict.fromkeys(c.complaint_id for c in complaints))
    existing = {case.complaint_id: case for case in (await unit.session.scalars(
        select(Case).where(Case.complaint_id.in_(ids)))).all()}
    new: list[ComplaintReceived] = []
    for complaint in complaints:
        if complaint.complaint_id not in existing and all(
                c.complaint_id != complaint.complaint_id for c in new):
            new.append(complaint)
    histories = dict(zip((c.complaint_id for c in new),
                         await recent_histories(unit, new, rules), strict=True))
    links = await incidents.pending_media_links(unit, [c.complaint_id for c in new])
    def context(i: int) -> AbstractContextManager[object]:
        return each(i) if each is not None else contextlib.nullcontext()

    created: dict[str, Case] = {}
    for i, complaint in enumerate(complaints):
        if complaint.complaint_id in histories and complaint.complaint_id not in created:
            with context(i):
                created[complaint.complaint_id] = _create(
                    unit, complaint, rules, histories[complaint.complaint_id])
    await unit.session.flush()  # one statement per table for the batch's new cases
    later = {case.id for case in created.values()}
    timeline: list[dict[str, object]] = []
    for i, complaint in enumerate(complaints):
        if (case := created.pop(complaint.complaint_id, None)) is not None:
            later.discard(case.id)
            with context(i):
                timeline.append(await _settle(unit, case, complaint, rules,
                                              links.get(complaint.complaint_id, []), later))
            existing[complaint.complaint_id] = case
    if timeline:  # after the group checks; a bulk insert (no ids read back): one statement
        await unit.session.execute(insert(TimelineEntry), timeline)
    return [existing[c.complaint_id] for c in complaints]


def _create(unit: Unit, complaint: ComplaintReceived, rules: Rules, history: History) -> Case:
    """The case, its registration and its escalation timers, added to the session."""
    result = pre_registered(assess(complaint, rules, history), complaint.at_risk)
    due = deadlines(result.response_level, complaint.received_at, rules)
    case = Case(
        id=uuid.uuid4().hex,
        complaint_id=complaint.complaint_id,
        response_level=result.response_level,
        category=result.category,
        level_reasons=result.level_reasons,
        state="triaged",
        department=complaint.target.department,
        drill=complaint.drill,
        opened_at=complaint.received_at,
        rules_version=rules.version,
        complainant_key=complaint.complainant_key,
        product=complaint.target.product,
        channel=complaint.channel,
        submitted_by=complaint.submitted_by,
        external_ref=complaint.external_ref,
        escalation_step=0,
        media=result.media,
        people_count=complaint.people_count,
        fingerprint=fingerprint(f"{complaint.subject or ''} {complaint.content}"),
        repeat_reason=repeat_reason(result, history, rules),
        **due.model_dump(),
    )
    unit.session.add(case)
    timers.track_new_case(unit.session, case.id)
    unit.session.add(Registration(
        case_id=case.id, received_at=complaint.received_at, subject=complaint.subject,
        content=complaint.content, occurred_at=complaint.occurred_at,
        location=complaint.location, target_department=complaint.target.department,
        target_product=complaint.target.product, people_count=complaint.people_count))
    escalation.schedule(unit.session, case, rules)
    if case.media:  # 媒体投诉: its own clocks from receipt
        media.mark(unit.session, case, rules, complaint.received_at)
    return case


async def _settle(unit: Unit, case: Case, complaint: ComplaintReceived, rules: Rules,
                  links: list[MediaLink], later: set[str]) -> dict[str, object]:
    """The group and media links of a new case (not counting the batch's `later` cases),
    then its announcement; returns its timeline entry's row for the caller to insert."""
    await incidents.detect_group(unit, case, rules, announce_self=False, unseen=later)
    await incidents.apply_media_links(unit, case, rules, announce=False, links=links)
    entry: dict[str, object] = dict(
        case_id=case.id, at=complaint.received_at, actor="triage", action="triaged",
        detail={"response_level": case.response_level, "category": case.category,
                "incident_id": case.incident_id, "media": case.media,
                "repeat": case.repeat_reason is not None,
                "at_risk": complaint.at_risk is not None},
        reason="; ".join(case.level_reasons),
    )
    await actions.announce_triage(unit, case)
    return entry
