"""Reads of cases and incidents for lists and boards: filters, a stable order and cursor
paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.paging import after_cursor, count_of, encode_cursor, page_of
from triage_svc.escalation import ANSWERED, overdue_clause
from triage_svc.models import AnswerVersion, Case, CaseRecord, Incident, TimelineEntry
from triage_svc.schemas import AnswerOut, AppealOut, FollowUpOut, RecordOut

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
