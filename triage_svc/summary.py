"""The post-event summary of an incident (总结评估): "事件结束后,进行总结和分析,评估损失和
影响,并制定改进措施" and "应急处理小组应撰写总结报告,上报应急指挥部"
(plans-complaint-and-media-a.txt).

Drafted from triage's own record: the incident, its member cases and their timelines,
clocks met and missed, and what notify's events told triage (deliveries, acknowledgements,
approved statements; triage never reads notify's tables). People edit the free text
(assessment, lessons; each edit a version), a leader approves it (the figures are frozen
then), and it is archived with the closed incident, read-only from then on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import pdf
from shared.events.schemas import NotificationAcknowledged, NotificationSent, StatementApproved
from shared.runtime import Unit
from triage_svc import queries, reports
from triage_svc.errors import Conflict, NotFound
from triage_svc.models import (
    Case,
    Incident,
    IncidentMember,
    IncidentSummary,
    IncidentSummaryVersion,
    NotificationSeen,
    Rectification,
    StatementSeen,
    TimelineEntry,
)
from triage_svc.report_schemas import ClockName, ClockOutcome
from triage_svc.summary_schemas import (
    SummaryClocks,
    SummaryCounts,
    SummaryEvent,
    SummaryFigures,
    SummaryIn,
    SummaryNotification,
    SummaryNotifications,
    SummaryOut,
    SummaryRectifications,
    SummaryStatement,
)

MAX_TIMELINE = 2000  # a large group's summary stays printable
MAX_NOTIFICATIONS = 500


# What notify's events tell triage -----------------------------------------------------

async def _seen(unit: Unit, delivery_id: str, recipient: str) -> NotificationSeen:
    """The delivery's row, made if new and locked: its sent and acknowledged events may be
    handled at once by two replicas (they are on different topics)."""
    insert = pg_insert if unit.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await unit.session.execute(insert(NotificationSeen).values(
        delivery_id=delivery_id, recipient=recipient).on_conflict_do_nothing())
    row = await unit.session.get(NotificationSeen, delivery_id, with_for_update=True)
    assert row is not None  # inserted above, or by the other event's transaction
    return row


async def record_sent(unit: Unit, sent: NotificationSent) -> None:
    await record_sent_many(unit, [sent])


async def record_sent_many(unit: Unit, sent: Sequence[NotificationSent]) -> None:
    """Each delivery's sent time and channel, in one upsert (its row may exist already,
    made by its acknowledgement): ids it has stay, the channel and time are the latest."""
    rows: dict[str, dict[str, object]] = {}
    for event in sent:  # in order: what one statement cannot do twice to a row
        row = rows.setdefault(event.delivery_id, {
            "delivery_id": event.delivery_id, "recipient": event.recipient,
            "complaint_id": None, "incident_id": None})
        row["complaint_id"] = row["complaint_id"] or event.complaint_id
        row["incident_id"] = row["incident_id"] or event.incident_id
        row["channel"], row["sent_at"] = event.channel, event.sent_at
    if not rows:
        return
    insert = pg_insert if unit.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(NotificationSeen).values(list(rows.values()))
    table = NotificationSeen.__table__.c
    await unit.session.execute(statement.on_conflict_do_update(
        index_elements=[table.delivery_id], set_={
            "complaint_id": func.coalesce(table.complaint_id, statement.excluded.complaint_id),
            "incident_id": func.coalesce(table.incident_id, statement.excluded.incident_id),
            "channel": statement.excluded.channel, "sent_at": statement.excluded.sent_at}))


async def record_acknowledged(unit: Unit, ack: NotificationAcknowledged) -> None:
    """The acknowledgement of a delivery (it may arrive before notification.sent)."""
    row = await _seen(unit, ack.delivery_id, ack.recipient)
    row.complaint_id = row.complaint_id or ack.complaint_id
    row.incident_id = row.incident_id or ack.incident_id
    row.acknowledged_at = row.acknowledged_at or ack.acknowledged_at
    row.acknowledged_by = row.acknowledged_by or ack.acknowledged_by or ack.recipient


async def record_statement(unit: Unit, approved: StatementApproved) -> None:
    if await unit.session.get(StatementSeen, approved.statement_id) is None:
        unit.session.add(StatementSeen(
            statement_id=approved.statement_id, incident_id=approved.incident_id,
            title=approved.title, text=approved.text, approved_by=approved.approved_by,
            approved_at=approved.approved_at))


# The draft ------------------------------------------------------------------------------

async def _member_cases(session: AsyncSession, incident_id: str) -> list[Case]:
    complaints = select(IncidentMember.member_id).where(
        IncidentMember.incident_id == incident_id, IncidentMember.member_kind == "complaint")
    return list((await session.scalars(
        select(Case).where(Case.complaint_id.in_(complaints))
        .order_by(Case.opened_at, Case.id))).all())


async def _clocks(session: AsyncSession, cases: list[Case], now: datetime) -> SummaryClocks:
    levels = await reports.sla_of(session, Case.id.in_([c.id for c in cases]), now)
    totals: dict[ClockName, ClockOutcome] = {}
    for clock in reports.CLOCKS:
        outcomes = [level.clocks[clock] for level in levels]
        totals[clock] = ClockOutcome(met=sum(o.met for o in outcomes),
                                     missed=sum(o.missed for o in outcomes),
                                     pending=sum(o.pending for o in outcomes))
    met = sum(o.met for o in totals.values())
    decided = met + sum(o.missed for o in totals.values())
    return SummaryClocks(clocks=totals, compliance=round(met / decided, 3) if decided else None)


async def _timeline(session: AsyncSession, incident: Incident, cases: list[Case],
                    statements: list[SummaryStatement],
                    notices: list[NotificationSeen]) -> list[SummaryEvent]:
    events = [SummaryEvent(at=incident.opened_at, source="incident", action="opened",
                           detail={"response_level": incident.response_level,
                                   "summary": incident.summary})]
    joined = (await session.execute(
        select(IncidentMember.member_kind, IncidentMember.member_id, IncidentMember.added_at)
        .where(IncidentMember.incident_id == incident.id))).all()
    events += [SummaryEvent(at=at, source="incident", action=f"{kind}_joined",
                            detail={f"{kind}_id": member}) for kind, member, at in joined]
    entries = (await session.scalars(
        select(TimelineEntry).where(TimelineEntry.case_id.in_([c.id for c in cases]))
        .order_by(TimelineEntry.at, TimelineEntry.id).limit(MAX_TIMELINE))).all()
    events += [SummaryEvent(at=e.at, source="case", action=e.action, actor=e.actor,
                            case_id=e.case_id, detail={"reason": e.reason} if e.reason else {})
               for e in entries]
    # An acknowledgement of a message about the incident itself is on no case's timeline.
    events += [SummaryEvent(at=n.acknowledged_at, source="notification", action="acknowledged",
                            actor=n.acknowledged_by, detail={"delivery_id": n.delivery_id})
               for n in notices if n.acknowledged_at and n.complaint_id is None]
    events += [SummaryEvent(at=s.approved_at, source="statement", action="approved",
                            actor=s.approved_by, detail={"title": s.title}) for s in statements]
    if incident.closed_at is not None:
        events.append(SummaryEvent(at=incident.closed_at, source="incident", action="closed",
                                   actor=incident.closed_by,
                                   detail={"reason": incident.close_reason}))
    events.sort(key=lambda e: e.at)
    return events[:MAX_TIMELINE]


async def draft(session: AsyncSession, incident: Incident, now: datetime) -> SummaryFigures:
    """The summary's figures as the record stands now."""
    members = await queries.members_of(session, [incident.id])
    cases = await _member_cases(session, incident.id)
    complaint_ids = [c.complaint_id for c in cases]
    notices = list((await session.scalars(
        select(NotificationSeen).where(
            or_(NotificationSeen.incident_id == incident.id,
                NotificationSeen.complaint_id.in_(complaint_ids)))
        .order_by(NotificationSeen.sent_at, NotificationSeen.delivery_id))).all())
    statements = [SummaryStatement.model_validate(s, from_attributes=True)
                  for s in (await session.scalars(
                      select(StatementSeen).where(StatementSeen.incident_id == incident.id)
                      .order_by(StatementSeen.approved_at))).all()]
    return SummaryFigures(
        drafted_at=now, incident=queries.incident_out(incident, members),
        counts=SummaryCounts(
            complaints=len(members[(incident.id, "complaint")]),
            mentions=len(members[(incident.id, "mention")]), people=incident.people_count,
            by_level=dict(Counter(str(c.response_level) for c in cases)),
            by_state=dict(Counter(c.state for c in cases)),
            by_category=dict(Counter(c.category for c in cases))),
        clocks=await _clocks(session, cases, now),
        timeline=await _timeline(session, incident, cases, statements, notices),
        notifications=SummaryNotifications(
            sent=sum(1 for n in notices if n.sent_at is not None),
            acknowledged=sum(1 for n in notices if n.acknowledged_at is not None),
            items=[SummaryNotification.model_validate(n, from_attributes=True)
                   for n in notices[:MAX_NOTIFICATIONS]]),
        statements=statements, rectifications=await rectifications(session, incident, cases, now))


async def rectifications(session: AsyncSession, incident: Incident, cases: list[Case],
                         now: datetime) -> SummaryRectifications:
    """整改措施 of the incident and of its member cases, in one query."""
    rows = (await session.scalars(select(Rectification).where(or_(
        Rectification.incident_id == incident.id,
        Rectification.case_id.in_([c.id for c in cases]))).order_by(
        Rectification.created_at, Rectification.id))).all()
    items = [queries.rectification_out(row, now) for row in rows]
    status = Counter(item.status for item in items)
    return SummaryRectifications(items=items, open=status["open"], overdue=status["overdue"],
                                 verified=status["verified"])


async def _latest(session: AsyncSession, incident_id: str) -> IncidentSummaryVersion | None:
    return (await session.scalars(
        select(IncidentSummaryVersion).where(IncidentSummaryVersion.incident_id == incident_id)
        .order_by(IncidentSummaryVersion.version.desc()).limit(1))).first()


async def view(session: AsyncSession, incident_id: str, now: datetime) -> SummaryOut:
    """The summary: drafted now while a draft; as approved once approved."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    row = await session.get(IncidentSummary, incident_id)
    latest = await _latest(session, incident_id)
    figures = (SummaryFigures.model_validate(row.snapshot) if row and row.snapshot
               else await draft(session, incident, now))
    return SummaryOut(
        **figures.model_dump(), incident_id=incident_id,
        status=row.status if row else "draft", version=latest.version if latest else 0,
        assessment=latest.assessment if latest else "", lessons=latest.lessons if latest else "",
        edited_by=latest.author if latest else None, edited_at=latest.at if latest else None,
        approved_by=row.approved_by if row else None, approved_at=row.approved_at if row else None,
        archived_by=row.archived_by if row else None, archived_at=row.archived_at if row else None)


# Edit, approve, archive ------------------------------------------------------------------

async def _locked(unit: Unit, incident_id: str) -> tuple[Incident, IncidentSummary]:
    incident = await unit.session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    row = await unit.session.get(IncidentSummary, incident_id, with_for_update=True)
    if row is None:
        row = IncidentSummary(incident_id=incident_id, status="draft", version=0)
        unit.session.add(row)
    return incident, row


async def edit(unit: Unit, incident_id: str, actor: str, body: SummaryIn, now: datetime
               ) -> None:
    """A new version of the free text; only a draft is edited."""
    _, row = await _locked(unit, incident_id)
    if row.status != "draft":
        raise Conflict(f"the summary is {row.status}; only a draft can be edited")
    if body.version is not None and body.version != row.version:
        raise Conflict(f"the summary is at version {row.version}, not {body.version}: "
                       "read it again and edit that")
    row.version += 1
    unit.session.add(IncidentSummaryVersion(
        incident_id=incident_id, version=row.version, assessment=body.assessment,
        lessons=body.lessons, author=actor, at=now))


async def approve(unit: Unit, incident_id: str, actor: str, now: datetime) -> None:
    """A leader approves the summary of a closed incident; its figures are frozen."""
    incident, row = await _locked(unit, incident_id)
    if row.status != "draft":
        raise Conflict(f"the summary was {row.status} already, by "
                       f"{row.approved_by} at {row.approved_at}")
    if incident.state != "closed":
        raise Conflict("the incident is still open: close it before approving its summary")
    figures = await draft(unit.session, incident, now)
    row.status, row.approved_by, row.approved_at = "approved", actor, now
    row.snapshot = figures.model_dump(mode="json")


async def archive(unit: Unit, incident_id: str, actor: str, now: datetime) -> None:
    """归档 with the incident: an approved summary becomes read-only."""
    _, row = await _locked(unit, incident_id)
    if row.status != "approved":
        raise Conflict(f"the summary is {row.status}; only an approved one is archived")
    row.status, row.archived_by, row.archived_at = "archived", actor, now


# Print -----------------------------------------------------------------------------------

STATUS = {"draft": "草稿 draft", "approved": "已批准 approved", "archived": "已归档 archived"}
CLOCK_NAMES = {"acknowledge": "确认", "first_contact": "首次联系", "report": "上报",
               "resolve": "办结"}


def render_pdf(summary: SummaryOut, timezone: str = "Asia/Shanghai") -> bytes:
    zone = ZoneInfo(timezone)

    def at(value: datetime | None) -> str:
        return "—" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    incident, counts = summary.incident, summary.counts
    dist = "；".join(f"{k}: {v}" for k, v in sorted(counts.by_category.items())) or "—"
    sections = [
        pdf.Section("事件概况 Incident", rows=[
            ("事件编号", incident.id), ("类型", incident.kind),
            ("响应级别", f"{incident.response_level} 级"), ("摘要", incident.summary),
            ("开始", at(incident.opened_at)), ("结束", at(incident.closed_at)),
            ("结束理由", incident.close_reason or "—"),
            ("状态", STATUS[summary.status]), ("批准", f"{summary.approved_by or '—'} "
                                                    f"{at(summary.approved_at)}")]),
        pdf.Section("统计 Counts", rows=[
            ("投诉", str(counts.complaints)), ("舆情", str(counts.mentions)),
            ("人数", str(counts.people)),
            ("级别分布", "；".join(f"{k}级: {v}" for k, v in sorted(counts.by_level.items()))
             or "—"), ("类别分布", dist)]),
        pdf.Section("时限 Clocks", table=pdf.Table(
            ["时钟", "按时", "超时", "未到期"],
            [[CLOCK_NAMES[c], str(o.met), str(o.missed), str(o.pending)]
             for c, o in summary.clocks.clocks.items()]),
            rows=[("达标率", "—" if summary.clocks.compliance is None
                   else f"{summary.clocks.compliance:.0%}")]),
        pdf.Section("通知与确认 Notifications", rows=[
            ("已发送", str(summary.notifications.sent)),
            ("已确认", str(summary.notifications.acknowledged))], table=pdf.Table(
            ["接收人", "渠道", "发送", "确认"],
            [[n.recipient, n.channel or "—", at(n.sent_at),
              f"{n.acknowledged_by or ''} {at(n.acknowledged_at)}" if n.acknowledged_at
              else "—"] for n in summary.notifications.items], widths=[3, 2, 3, 4])),
        pdf.Section("统一口径 Statements", table=pdf.Table(
            ["批准时间", "批准人", "标题", "内容"],
            [[at(s.approved_at), s.approved_by, s.title, s.text] for s in summary.statements],
            widths=[3, 2, 3, 7]), empty="（无）"),
        pdf.Section("整改措施 Rectifications", table=pdf.Table(
            ["措施", "责任人", "期限", "状态"],
            [[r.action, r.owner, at(r.due_at), r.status] for r in summary.rectifications.items],
            widths=[7, 2, 3, 2]), empty="（无）"),
        pdf.Section("总体评估 Assessment", paragraphs=[summary.assessment] if summary.assessment
                    else [], empty="（未填写）"),
        pdf.Section("经验教训 Lessons", paragraphs=[summary.lessons] if summary.lessons else [],
                    empty="（未填写）"),
        pdf.Section("时间线 Timeline", table=pdf.Table(
            ["时间", "来源", "操作", "操作人", "案件"],
            [[at(e.at), e.source, e.action, e.actor or "", (e.case_id or "")[:8]]
             for e in summary.timeline], widths=[3, 2, 4, 3, 2])),
    ]
    return pdf.render(f"事件总结评估报告 {incident.id}", sections,
                      subtitle=f"{STATUS[summary.status]} · v{summary.version} · "
                               f"生成于 {at(summary.drafted_at)}",
                      footer=f"Beacon 总结评估 {incident.id}")
