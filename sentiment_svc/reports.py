"""The public-opinion report (定期编写舆情监测报告): grouped SQL over sentiment's own tables.

Statements (统一口径) are notify's: the report lists those approved in the period from what
notify's events (`statement.approved`, `statement.distributed`) told sentiment
(`StatementSeen`), never from notify's tables.
Drill mentions (`drill: true`, posted by a drill run) and their alerts are left out: the
report is of real public opinion only, so it has no `drill` parameter.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sentiment_svc.models import (
    DRILL_SCOPES,
    Alert,
    Mention,
    MentionLink,
    StatementSeen,
    Story,
    Topic,
)
from sentiment_svc.report_schemas import (
    Linked,
    LinkedMention,
    PublicOpinionReport,
    SourceCount,
    StatementIssued,
    StoryCount,
    Volume,
)
from sentiment_svc.schemas import AlertOut
from shared import charts, pdf
from shared.periods import Period, change_pct

TOP_STORIES = 10
MAX_ALERTS = 100
LINKED_ITEMS = 20
MAX_STATEMENTS = 50
HEADLINE = 120
_NEGATIVE = func.sum(case((Mention.sentiment_label == "negative", 1), else_=0))


def _received_in(period: Period) -> ColumnElement[bool]:
    return and_(Mention.received_at >= period.start, Mention.received_at < period.end,
                Mention.drill.is_(False))


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


async def volume(session: AsyncSession, period: Period) -> Volume:
    current = Mention.received_at >= period.start
    negative = Mention.sentiment_label == "negative"
    now, now_negative, before, before_negative = (await session.execute(select(
        func.sum(case((current, 1), else_=0)),
        func.sum(case((and_(current, negative), 1), else_=0)),
        func.sum(case((current, 0), else_=1)),
        func.sum(case((and_(~current, negative), 1), else_=0)),
    ).where(_received_in(Period(period.previous.start, period.end))))).one()
    n, neg, b, bneg = (int(x or 0) for x in (now, now_negative, before, before_negative))
    return Volume(mentions=n, negative=neg, negative_share=_share(neg, n), previous=b,
                  previous_negative_share=_share(bneg, b), change_pct=change_pct(n, b))


async def sources(session: AsyncSession, period: Period) -> list[SourceCount]:
    count = func.count()
    rows = await session.execute(select(Mention.source, count, _NEGATIVE)
                                 .where(_received_in(period)).group_by(Mention.source)
                                 .order_by(count.desc(), Mention.source))
    return [SourceCount(source=s, mentions=int(n), negative=int(neg or 0),
                        negative_share=_share(int(neg or 0), int(n))) for s, n, neg in rows]


async def top_stories(session: AsyncSession, period: Period) -> list[StoryCount]:
    count = func.count()
    ranked = (select(Mention.cluster_id, count.label("n"), _NEGATIVE.label("negative"),
                     func.min(Mention.received_at).label("first_seen"),
                     func.max(Mention.received_at).label("last_seen"),
                     func.min(Mention.risk_level).label("risk"),
                     func.min(Mention.id).label("any_mention"))
              .where(_received_in(period)).group_by(Mention.cluster_id)
              .order_by(count.desc(), Mention.cluster_id).limit(TOP_STORIES).subquery())
    first = aliased(Mention)
    rows = await session.execute(
        select(ranked, Story.topic_id, Topic.label, first.title, first.content)
        .outerjoin(Story, Story.id == ranked.c.cluster_id)
        .outerjoin(Topic, Topic.id == Story.topic_id)
        .outerjoin(first, first.id == func.coalesce(Story.first_mention_id,
                                                    ranked.c.any_mention))
        .order_by(ranked.c.n.desc(), ranked.c.cluster_id))
    return [_story(row._mapping) for row in rows]


def _story(row: Any) -> StoryCount:
    text = (row["title"] or row["content"] or "").strip()
    return StoryCount(
        story_id=row["cluster_id"], topic_id=row["topic_id"], topic=row["label"],
        headline=text[:HEADLINE], mentions=int(row["n"]), negative=int(row["negative"] or 0),
        first_seen=row["first_seen"], last_seen=row["last_seen"],
        max_risk_level=int(row["risk"]))


async def alerts(session: AsyncSession, period: Period) -> tuple[list[AlertOut],
                                                                  dict[str, int]]:
    raised = and_(Alert.raised_at >= period.start, Alert.raised_at < period.end,
                  Alert.scope.not_like(DRILL_SCOPES))
    by_level = {str(level): int(n) for level, n in (await session.execute(
        select(Alert.warning_level, func.count()).where(raised)
        .group_by(Alert.warning_level))).all()}
    rows = (await session.scalars(select(Alert).where(raised)
                                  .order_by(Alert.raised_at.desc(), Alert.id)
                                  .limit(MAX_ALERTS))).all()
    return [AlertOut(id=a.id, scope=a.scope, topic_id=a.topic_id, warning_level=a.warning_level,
                     raised_at=a.raised_at, evidence=a.evidence) for a in rows], by_level


async def linked(session: AsyncSession, period: Period) -> Linked:
    joined = select(MentionLink.mention_id, MentionLink.complaint_id).join(
        Mention, Mention.id == MentionLink.mention_id).where(_received_in(period)).subquery()
    mentions, complaints = (await session.execute(select(
        func.count(func.distinct(joined.c.mention_id)),
        func.count(func.distinct(joined.c.complaint_id))))).one()
    recent = (select(Mention.id, Mention.source, Mention.received_at)
              .where(_received_in(period), Mention.id.in_(select(joined.c.mention_id)))
              .order_by(Mention.received_at.desc(), Mention.id).limit(LINKED_ITEMS)).subquery()
    rows = (await session.execute(
        select(recent, MentionLink.complaint_id)
        .join(MentionLink, MentionLink.mention_id == recent.c.id)
        .order_by(recent.c.received_at.desc(), recent.c.id, MentionLink.similarity.desc(),
                  MentionLink.complaint_id))).all()
    items: dict[str, LinkedMention] = {}
    found: defaultdict[str, list[str]] = defaultdict(list)
    for mention_id, source, received_at, complaint_id in rows:
        items.setdefault(mention_id, LinkedMention(mention_id=mention_id, source=source,
                                                   received_at=received_at, complaint_ids=[]))
        found[mention_id].append(complaint_id)
    for mention_id, item in items.items():
        item.complaint_ids = found[mention_id]
    return Linked(mentions=int(mentions), complaints=int(complaints), items=list(items.values()))


async def statements(session: AsyncSession, period: Period) -> list[StatementIssued]:
    rows = await session.scalars(select(StatementSeen).where(
        StatementSeen.approved_at >= period.start, StatementSeen.approved_at < period.end,
        StatementSeen.drill.is_(False))
        .order_by(StatementSeen.approved_at.desc()).limit(MAX_STATEMENTS))
    return [StatementIssued.model_validate(row, from_attributes=True) for row in rows]


async def public_opinion(session: AsyncSession, period: Period) -> PublicOpinionReport:
    raised, by_level = await alerts(session, period)
    return PublicOpinionReport(
        period=period.out(), previous_period=period.previous.out(),
        volume=await volume(session, period), sources=await sources(session, period),
        top_stories=await top_stories(session, period), alerts=raised,
        alerts_by_level=by_level, linked=await linked(session, period),
        statements=await statements(session, period))


def render_pdf(report: PublicOpinionReport, timezone: str = "Asia/Shanghai") -> bytes:
    """The report laid out for print (A4, CJK font), with its charts (shared.charts)."""
    zone = ZoneInfo(timezone)

    def day(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    volume = report.volume
    images = [charts.png(c) for c in charts.opinion_charts(report.model_dump(mode="json"))]
    change = "—" if volume.change_pct is None else f"{volume.change_pct:+.1f}%"
    sections = [
        pdf.Section("概况 Summary", rows=[
            ("统计期间", f"{day(report.period.start)} – {day(report.period.end)}"),
            ("舆情总量", f"{volume.mentions}（上期 {volume.previous}，{change}）"),
            ("负面占比", f"{volume.negative_share:.0%}（上期 "
                         f"{volume.previous_negative_share:.0%}）"),
            ("预警", f"{len(report.alerts)} 次"),
            ("关联投诉", f"{report.linked.mentions} 条舆情，{report.linked.complaints} 件投诉")]),
        pdf.Section("来源 Sources", images=images[:1], table=pdf.Table(
            ["来源", "舆情", "负面", "负面占比"],
            [[s.source, str(s.mentions), str(s.negative), f"{s.negative_share:.0%}"]
             for s in report.sources], widths=[4, 2, 2, 2]), empty="（无）"),
        pdf.Section("热点事件 Top stories", table=pdf.Table(
            ["标题", "话题", "舆情", "负面", "最高风险"],
            [[s.headline, s.topic or "—", str(s.mentions), str(s.negative),
              f"{s.max_risk_level}级"] for s in report.top_stories],
            widths=[7, 3, 1, 1, 2]), empty="（无）"),
        pdf.Section("预警 Alerts", images=images[1:], table=pdf.Table(
            ["时间", "范围", "预警级别"],
            [[day(a.raised_at), a.scope, f"{a.warning_level}级"] for a in report.alerts],
            widths=[3, 5, 2]), empty="（无）"),
        pdf.Section("统一口径 Statements", table=pdf.Table(
            ["批准时间", "标题", "批准人", "分发"],
            [[day(st.approved_at), st.title, st.approved_by,
              f"{day(st.distributed_at)}（{st.recipients or 0}）" if st.distributed_at else "—"]
             for st in report.statements], widths=[3, 6, 2, 4]), empty="（无）"),
    ]
    return pdf.render("舆情监测报告", sections,
                      subtitle=f"{day(report.period.start)} – {day(report.period.end)}",
                      footer="Beacon 舆情监测报告")


async def brief_figures(session: AsyncSession, period: Period
                        ) -> dict[str, int | float | str | list[str] | None]:
    """Sentiment's figures for a scheduled brief (日报, 周报), from the report's queries."""
    report = await public_opinion(session, period)
    return {
        "mentions": report.volume.mentions, "previous": report.volume.previous,
        "negative": report.volume.negative, "negative_share": report.volume.negative_share,
        "alerts": len(report.alerts), "linked_complaints": report.linked.complaints,
        "top_stories": [s.headline[:60] for s in report.top_stories[:3]],
    }
