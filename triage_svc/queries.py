"""Reads of cases and incidents, as the API shows them: lists with filters, a stable order
and cursor paging; one case or incident with what belongs to it; the statistics."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.paging import after_cursor, count_of, encode_cursor, page_of
from triage_svc.closing import missing_parts
from triage_svc.escalation import ANSWERED, is_overdue, overdue_clause
from triage_svc.models import (
    Accountability,
    AnswerVersion,
    Case,
    CaseRecord,
    Escalation,
    Incident,
    IncidentMember,
    IncidentRecord,
    MediaLink,
    Rectification,
    TimelineEntry,
)
from triage_svc.schemas import (
    AccountabilityOut,
    AnswerOut,
    AppealOut,
    CaseOut,
    CaseStats,
    ComplaintCaseOut,
    EscalationOut,
    FollowUpOut,
    IncidentOut,
    IncidentRecordOut,
    LevelCounts,
    MediaLinkOut,
    RecordOut,
    RectificationOut,
    TimelineOut,
)

LEVELS = (1, 2, 3, 4)
# A case is open until it is closed (the plans: 结案, then 归档); answered cases awaiting
# follow-up are still open. One definition for the list's `open` filter, /cases/stats and
# the beacon_open_cases gauge.
CLOSED_STATES = frozenset({"closed"})


def open_clause() -> ColumnElement[bool]:
    return Case.state.not_in(CLOSED_STATES)


async def open_by_level(session: AsyncSession) -> dict[tuple[int, bool], int]:
    """Open cases per (level, drill), 0 where none: what /cases/stats and the gauge show."""
    rows = (await session.execute(
        select(Case.response_level, Case.drill, func.count()).where(open_clause())
        .group_by(Case.response_level, Case.drill))).all()
    counts = {(level, drill): 0 for level in LEVELS for drill in (False, True)}
    for level, drill, count in rows:
        counts[(int(level), bool(drill))] = int(count)
    return counts


@dataclass(frozen=True)
class CaseFilter:
    complaint_id: str | None = None
    response_level: int | None = None
    state: str | None = None
    open: bool | None = None
    answered: bool | None = None
    overdue: bool | None = None
    drill: bool | None = None
    incident_id: str | None = None
    category: str | None = None
    channel: str | None = None
    department: str | None = None
    assignee: str | None = None

    def clauses(self, now: datetime) -> list[ColumnElement[bool]]:
        equal = {"complaint_id": Case.complaint_id, "response_level": Case.response_level,
                 "state": Case.state, "incident_id": Case.incident_id,
                 "category": Case.category, "channel": Case.channel,
                 "department": Case.department, "assignee": Case.assignee}
        found: list[ColumnElement[bool]] = [
            column == getattr(self, name) for name, column in equal.items()
            if getattr(self, name) is not None]
        if self.open is not None:
            found.append(open_clause() if self.open else ~open_clause())
        if self.answered is not None:
            found.append(Case.state.in_(ANSWERED) if self.answered
                         else Case.state.not_in(ANSWERED))
        if self.overdue is not None:
            found.append(overdue_clause(now) if self.overdue else ~overdue_clause(now))
        if self.drill is not None:
            found.append(Case.drill.is_(self.drill))
        return found


async def page_of_cases(session: AsyncSession, where: CaseFilter, now: datetime, limit: int,
                        cursor: str | None = None) -> tuple[list[Case], str | None]:
    """One page, newest first, and the cursor of the next page (None on the last)."""
    query = select(Case).where(*where.clauses(now))
    if cursor:
        query = query.where(after_cursor(cursor, Case.opened_at, Case.id))
    rows = list((await session.scalars(
        query.order_by(Case.opened_at.desc(), Case.id.desc()).limit(limit + 1))).all())
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor(rows[-1].opened_at, rows[-1].id) if more and rows else None


async def count_cases(session: AsyncSession, where: CaseFilter, now: datetime) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(Case).where(*where.clauses(now))) or 0)


async def answers_of(session: AsyncSession, case_id: str) -> list[AnswerOut]:
    """Every answer version, oldest first."""
    rows = await session.scalars(select(AnswerVersion).where(AnswerVersion.case_id == case_id)
                                 .order_by(AnswerVersion.version))
    return [AnswerOut.model_validate(row, from_attributes=True) for row in rows]


async def timeline_of(session: AsyncSession, case_id: str,
                      actions: tuple[str, ...] | None = None) -> list[TimelineEntry]:
    query = select(TimelineEntry).where(TimelineEntry.case_id == case_id)
    if actions is not None:
        query = query.where(TimelineEntry.action.in_(actions))
    return list((await session.scalars(
        query.order_by(TimelineEntry.at, TimelineEntry.id))).all())


def follow_up_of(timeline: list[TimelineEntry]) -> FollowUpOut | None:
    calls = [t for t in timeline if t.action == "followed_up"]
    if not calls:
        return None
    return FollowUpOut(satisfaction=int(calls[-1].detail.get("satisfaction", 0)),
                       at=calls[-1].at)


def appeal_of(timeline: list[TimelineEntry], answers: list[AnswerOut]) -> AppealOut:
    """none, pending (no answer version since the last appeal) or answered."""
    appeals = [t for t in timeline if t.action == "appealed"]
    if not appeals:
        return AppealOut(state="none")
    last = appeals[-1]
    answered = any(a.at >= last.at for a in answers)
    return AppealOut(state="answered" if answered else "pending", count=len(appeals),
                     reason=last.reason, at=last.at)


@dataclass(frozen=True)
class IncidentFilter:
    kind: str | None = None
    state: str | None = None
    drill: bool | None = None
    min_level: int | None = None

    def query(self) -> Select[Incident]:
        query = select(Incident)
        for column, value in ((Incident.kind, self.kind), (Incident.state, self.state)):
            if value is not None:
                query = query.where(column == value)
        if self.drill is not None:
            query = query.where(Incident.drill.is_(self.drill))
        if self.min_level is not None:
            query = query.where(Incident.response_level <= self.min_level)
        return query


async def page_of_incidents(session: AsyncSession, where: IncidentFilter, limit: int,
                            cursor: str | None = None) -> tuple[list[Incident], str | None]:
    """One page, newest first (then id), and the cursor of the next page (None on the last)."""
    rows, next_cursor = await page_of(session, where.query(), Incident.opened_at, Incident.id,
                                      limit, cursor)
    return list(rows), next_cursor


async def count_incidents(session: AsyncSession, where: IncidentFilter) -> int:
    return await count_of(session, where.query())


async def records_of(session: AsyncSession, case_id: str) -> list[RecordOut]:
    """The case file's records, oldest first."""
    rows = await session.scalars(select(CaseRecord).where(CaseRecord.case_id == case_id)
                                 .order_by(CaseRecord.at, CaseRecord.kind, CaseRecord.version))
    return [RecordOut.model_validate(row, from_attributes=True) for row in rows]


def case_out(case: Case, timeline: list[TimelineEntry] | None = None,
             now: datetime | None = None, ladder: list[Escalation] | None = None,
             links: list[MediaLink] | None = None,
             answers: list[AnswerOut] | None = None, records: list[RecordOut] | None = None,
             missing: list[str] | None = None,
             rectifications: list[RectificationOut] | None = None) -> CaseOut:
    """A case as the API shows it; the lists left None are left out (a list page)."""
    return CaseOut(
        id=case.id, complaint_id=case.complaint_id, response_level=case.response_level,
        category=case.category, level_reasons=case.level_reasons, state=case.state,
        department=case.department, drill=case.drill, opened_at=case.opened_at,
        deadlines={
            "acknowledge_by": case.acknowledge_by, "first_contact_by": case.first_contact_by,
            "report_by": case.report_by, "resolve_by": case.resolve_by,
        },
        incident_id=case.incident_id, media=case.media, people_count=case.people_count,
        escalation_step=case.escalation_step,
        overdue=is_overdue(case, now or datetime.now(UTC)),
        assignee=case.assignee, answer=case.answer, satisfaction=case.satisfaction,
        channel=case.channel, answers=answers, owner=case.owner, plan_due_at=case.plan_by,
        archived_at=case.archived_at, records=records, missing=missing,
        repeat_reason=case.repeat_reason, personal_data_purged_at=case.personal_data_purged_at,
        rectifications=rectifications,
        media_at=case.media_at,
        escalations=None if ladder is None else [
            EscalationOut.model_validate(step, from_attributes=True) for step in ladder],
        mentions=None if links is None else [
            MediaLinkOut.model_validate(link, from_attributes=True) for link in links],
        timeline=None if timeline is None else [
            TimelineOut(at=t.at, actor=t.actor, action=t.action, detail=t.detail,
                        reason=t.reason) for t in timeline
        ],
    )


async def escalations_of(session: AsyncSession, case_id: str) -> list[Escalation]:
    """The case's escalation ladder, lowest step first."""
    return list((await session.scalars(select(Escalation).where(
        Escalation.case_id == case_id).order_by(Escalation.step, Escalation.clock))).all())


async def mentions_of(session: AsyncSession, complaint_id: str) -> list[MediaLink]:
    """Media mentions linked to the complaint, oldest link first."""
    return list((await session.scalars(select(MediaLink).where(
        MediaLink.complaint_id == complaint_id).order_by(MediaLink.linked_at))).all())


async def full_case(session: AsyncSession, case: Case) -> CaseOut:
    """The case with everything that belongs to it: timeline, ladder, mentions, answers,
    the case file's records and what is missing before it may close."""
    return case_out(case, await timeline_of(session, case.id),
                    ladder=await escalations_of(session, case.id),
                    links=await mentions_of(session, case.complaint_id),
                    answers=await answers_of(session, case.id),
                    records=await records_of(session, case.id),
                    missing=await missing_parts(session, case),
                    rectifications=await rectifications_of(session, case_id=case.id))


async def case_view(session: AsyncSession, case_id: str) -> CaseOut | None:
    case = await session.get(Case, case_id)
    return None if case is None else await full_case(session, case)


async def case_of_complaint(session: AsyncSession, complaint_id: str
                            ) -> ComplaintCaseOut | None:
    """The case of a complaint as its filer may see it; None before it is triaged."""
    case = await session.scalar(select(Case).where(Case.complaint_id == complaint_id))
    if case is None:
        return None
    answers = await answers_of(session, case.id)
    timeline = await timeline_of(session, case.id, ("followed_up", "appealed"))
    return ComplaintCaseOut(
        id=case.id, response_level=case.response_level, category=case.category,
        level_reasons=case.level_reasons, state=case.state,
        deadlines=case_out(case).deadlines, incident_id=case.incident_id, answers=answers,
        follow_up=follow_up_of(timeline), appeal=appeal_of(timeline, answers))


async def case_stats(session: AsyncSession, drill: bool, now: datetime) -> CaseStats:
    """Counts per level, state and category, of real cases or (with `drill`) of drills."""
    real = Case.drill.is_(drill)
    open_ = real & open_clause()

    async def counts(query: Select[Any, Any]) -> dict[str, int]:
        return {str(k): int(v) for k, v in (await session.execute(query)).all()}

    opened = await open_by_level(session)
    by_level = LevelCounts(
        open={str(level): n for (level, is_drill), n in opened.items()
              if is_drill == drill and n},
        overdue=await counts(_count_by(Case.response_level, open_ & overdue_clause(now))),
        escalated=await counts(_count_by(Case.response_level,
                                         open_ & (Case.escalation_step > 0))),
    )
    return CaseStats(
        drill=drill, by_level=by_level, by_state=await counts(_count_by(Case.state, real)),
        by_category=await counts(_count_by(Case.category, real)),
        open_incidents=await counts(select(Incident.kind, func.count()).where(
            Incident.drill.is_(drill), Incident.state == "open").group_by(Incident.kind)))


def _count_by(column: InstrumentedAttribute[Any], where: ColumnElement[bool]
              ) -> Select[Any, Any]:
    return select(column, func.count()).where(where).group_by(column)


Members = dict[tuple[str, str], list[str]]


async def members_of(session: AsyncSession, incident_ids: list[str]) -> Members:
    """Member ids per (incident, kind), in the order they joined."""
    found: Members = defaultdict(list)
    if incident_ids:
        rows = await session.execute(
            select(IncidentMember.incident_id, IncidentMember.member_kind,
                   IncidentMember.member_id)
            .where(IncidentMember.incident_id.in_(incident_ids))
            .order_by(IncidentMember.added_at, IncidentMember.member_id))
        for incident_id, kind, member_id in rows.all():
            found[(incident_id, kind)].append(member_id)
    return found


def incident_out(incident: Incident, members: Members) -> IncidentOut:
    return IncidentOut(
        id=incident.id, kind=incident.kind, response_level=incident.response_level,
        state=incident.state, opened_at=incident.opened_at, updated_at=incident.updated_at,
        summary=incident.summary, people_count=incident.people_count, drill=incident.drill,
        complaint_ids=members.get((incident.id, "complaint"), []),
        mention_ids=members.get((incident.id, "mention"), []),
        closed_at=incident.closed_at, closed_by=incident.closed_by,
        close_reason=incident.close_reason,
    )


async def incident_view(session: AsyncSession, incident_id: str) -> IncidentOut | None:
    """One incident with its records (a group's registrations and work groups)."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        return None
    out = incident_out(incident, await members_of(session, [incident_id]))
    rows = await session.scalars(select(IncidentRecord).where(
        IncidentRecord.incident_id == incident_id).order_by(
        IncidentRecord.at, IncidentRecord.kind, IncidentRecord.version))
    out.records = [IncidentRecordOut.model_validate(r, from_attributes=True) for r in rows]
    latest = {r.kind: r for r in out.records}
    out.registration, out.work_group = latest.get("registration"), latest.get("work_group")
    return out


def rectification_out(row: Rectification, now: datetime | None = None) -> RectificationOut:
    moment = now or datetime.now(UTC)
    late = row.due_at <= moment or row.reminded_at is not None
    status = "verified" if row.verified_at is not None else "overdue" if late else "open"
    return RectificationOut(
        id=row.id, case_id=row.case_id, incident_id=row.incident_id, action=row.action,
        owner=row.owner, due_at=row.due_at, created_by=row.created_by,
        created_at=row.created_at, status=status, verified_at=row.verified_at,
        verified_by=row.verified_by, verify_note=row.verify_note, reminded_at=row.reminded_at)


async def rectifications_of(session: AsyncSession, *, case_id: str | None = None,
                            incident_id: str | None = None) -> list[RectificationOut]:
    """The corrective actions of a case or an incident, oldest first."""
    column = Rectification.case_id if case_id is not None else Rectification.incident_id
    rows = await session.scalars(select(Rectification).where(
        column == (case_id if case_id is not None else incident_id))
        .order_by(Rectification.created_at, Rectification.id))
    now = datetime.now(UTC)
    return [rectification_out(row, now) for row in rows]


def accountability_out(row: Accountability) -> AccountabilityOut:
    return AccountabilityOut.model_validate(row, from_attributes=True)


async def accountability_of(session: AsyncSession, case_id: str) -> list[AccountabilityOut]:
    """The case's accountability records (追责问责), oldest first."""
    rows = await session.scalars(select(Accountability).where(
        Accountability.case_id == case_id).order_by(Accountability.recorded_at,
                                                    Accountability.id))
    return [accountability_out(row) for row in rows]
