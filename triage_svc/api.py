"""Read routes: cases (with timeline, overdue filter, statistics) and incidents."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.app import RuntimeDep
from shared.paging import CursorQuery
from triage_svc.closing import missing_parts
from triage_svc.escalation import is_overdue, overdue_clause
from triage_svc.models import (
    Case,
    Escalation,
    Incident,
    IncidentMember,
    MediaLink,
    TimelineEntry,
)
from triage_svc.queries import (
    CaseFilter,
    IncidentFilter,
    answers_of,
    appeal_of,
    count_cases,
    count_incidents,
    follow_up_of,
    open_by_level,
    open_clause,
    page_of_cases,
    page_of_incidents,
    records_of,
    timeline_of,
)
from triage_svc.schemas import (
    AnswerOut,
    CaseList,
    CaseOut,
    CaseStats,
    ComplaintCaseOut,
    EscalationOut,
    IncidentList,
    IncidentOut,
    LevelCounts,
    MediaLinkOut,
    RecordOut,
    TimelineOut,
)
from triage_svc.workflow import State

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
incidents_router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


def case_out(case: Case, timeline: list[TimelineEntry] | None = None,
             now: datetime | None = None, ladder: list[Escalation] | None = None,
             links: list[MediaLink] | None = None,
             answers: list[AnswerOut] | None = None, records: list[RecordOut] | None = None,
             missing: list[str] | None = None) -> CaseOut:
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
        escalations=None if ladder is None else [
            EscalationOut.model_validate(step, from_attributes=True) for step in ladder],
        mentions=None if links is None else [
            MediaLinkOut.model_validate(link, from_attributes=True) for link in links],
        timeline=None if timeline is None else [
            TimelineOut(at=t.at, actor=t.actor, action=t.action, detail=t.detail,
                        reason=t.reason) for t in timeline
        ],
    )


@router.get("", response_model=CaseList)
async def list_cases(
    runtime: RuntimeDep,
    complaint_id: str | None = None,
    response_level: Annotated[int | None, Query(ge=1, le=4)] = None,
    state: State | None = None,
    open: Annotated[bool | None, Query(
        description="only open cases, i.e. not closed (or only closed ones)")] = None,
    answered: Annotated[bool | None, Query(
        description="only cases answered (responded, follow_up, closed), or only those "
                    "not yet answered")] = None,
    overdue: Annotated[bool | None, Query(
        description="only cases past a clock with its work undone (or only those not)")] = None,
    drill: Annotated[bool | None, Query(description="only drills, or only real cases")] = None,
    incident_id: str | None = None,
    category: Annotated[str | None, Query(max_length=30)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    department: Annotated[str | None, Query(max_length=200)] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    cursor: CursorQuery = None,
    total: Annotated[bool, Query(description="also count every match")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CaseList:
    now = datetime.now(UTC)
    where = CaseFilter(
        complaint_id=complaint_id, response_level=response_level, state=state, open=open,
        answered=answered, overdue=overdue, drill=drill, incident_id=incident_id, category=category,
        channel=channel, department=department, assignee=assignee)
    async with runtime.db.session() as session:
        cases, next_cursor = await page_of_cases(session, where, now, limit, cursor)
        counted = await count_cases(session, where, now) if total else None
    return CaseList(items=[case_out(c, now=now) for c in cases], next_cursor=next_cursor,
                    total=counted)


@router.get("/stats", response_model=CaseStats)
async def case_stats(
    runtime: RuntimeDep,
    drill: Annotated[bool, Query(description="count drills instead of real cases")] = False,
) -> CaseStats:
    """Counts per level, state and category. Drill traffic (应急演练) is kept out of real
    figures: these are real cases only unless `drill=true` asks for the drill's own."""
    now = datetime.now(UTC)
    real = Case.drill.is_(drill)
    open_ = real & open_clause()
    async with runtime.db.session() as session:
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
        by_state = await counts(_count_by(Case.state, real))
        by_category = await counts(_count_by(Case.category, real))
        incidents = await counts(select(Incident.kind, func.count()).where(
            Incident.drill.is_(drill), Incident.state == "open").group_by(Incident.kind))
    return CaseStats(drill=drill, by_level=by_level, by_state=by_state,
                     by_category=by_category, open_incidents=incidents)


def _count_by(column: InstrumentedAttribute[Any], where: ColumnElement[bool]
              ) -> Select[Any, Any]:
    return select(column, func.count()).where(where).group_by(column)


@router.get("/{case_id}", response_model=CaseOut)
async def read_case(case_id: str, runtime: RuntimeDep) -> CaseOut:
    async with runtime.db.session() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise HTTPException(404, f"no case {case_id}")
        timeline = await timeline_of(session, case_id)
        answers = await answers_of(session, case_id)
        ladder = (await session.scalars(
            select(Escalation).where(Escalation.case_id == case_id).order_by(Escalation.step)
        )).all()
        links = (await session.scalars(
            select(MediaLink).where(MediaLink.complaint_id == case.complaint_id)
            .order_by(MediaLink.linked_at))).all()
        records = await records_of(session, case_id)
        missing = await missing_parts(session, case)
    return case_out(case, timeline, ladder=list(ladder), links=list(links), answers=answers,
                    records=records, missing=missing)


@router.get("/of-complaint/{complaint_id}", response_model=ComplaintCaseOut,
            responses={404: {"description": "no case for this complaint (not triaged yet)"}})
async def read_complaint_case(complaint_id: str, runtime: RuntimeDep) -> ComplaintCaseOut:
    """The case of a complaint as its filer may see it; the gateway puts it into the
    complaint view (`GET /api/v1/complaints/{id}`)."""
    async with runtime.db.session() as session:
        case = await session.scalar(select(Case).where(Case.complaint_id == complaint_id))
        if case is None:
            raise HTTPException(404, f"no case for complaint {complaint_id}")
        answers = await answers_of(session, case.id)
        timeline = await timeline_of(session, case.id, ("followed_up", "appealed"))
    return ComplaintCaseOut(
        id=case.id, response_level=case.response_level, category=case.category,
        level_reasons=case.level_reasons, state=case.state,
        deadlines=case_out(case).deadlines, incident_id=case.incident_id, answers=answers,
        follow_up=follow_up_of(timeline), appeal=appeal_of(timeline, answers))


@incidents_router.get("", response_model=IncidentList)
async def list_incidents(
    runtime: RuntimeDep,
    kind: Literal["group", "public_opinion"] | None = None,
    state: Literal["open", "closed"] | None = None,
    drill: Annotated[bool | None, Query(description="only drills, or only real ones")] = None,
    min_level: Annotated[int | None, Query(
        ge=1, le=4, description="at least this severe (1 is the most severe)")] = None,
    cursor: CursorQuery = None,
    total: Annotated[bool, Query(description="also count every match")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> IncidentList:
    """Incidents newest first (then id), paged by cursor like the cases list."""
    where = IncidentFilter(kind=kind, state=state, drill=drill, min_level=min_level)
    async with runtime.db.session() as session:
        incidents, next_cursor = await page_of_incidents(session, where, limit, cursor)
        members = await _members(session, [i.id for i in incidents])
        counted = await count_incidents(session, where) if total else None
    return IncidentList(items=[_incident_out(i, members) for i in incidents],
                        next_cursor=next_cursor, total=counted)


@incidents_router.get("/{incident_id}", response_model=IncidentOut)
async def read_incident(incident_id: str, runtime: RuntimeDep) -> IncidentOut:
    async with runtime.db.session() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise HTTPException(404, f"no incident {incident_id}")
        members = await _members(session, [incident_id])
    return _incident_out(incident, members)


Members = dict[tuple[str, str], list[str]]


async def _members(session: AsyncSession, incident_ids: list[str]) -> Members:
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


def _incident_out(incident: Incident, members: Members) -> IncidentOut:
    return IncidentOut(
        id=incident.id, kind=incident.kind, response_level=incident.response_level,
        state=incident.state, opened_at=incident.opened_at, updated_at=incident.updated_at,
        summary=incident.summary, people_count=incident.people_count, drill=incident.drill,
        complaint_ids=members.get((incident.id, "complaint"), []),
        mention_ids=members.get((incident.id, "mention"), []),
        closed_at=incident.closed_at, closed_by=incident.closed_by,
        close_reason=incident.close_reason,
    )
