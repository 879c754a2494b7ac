"""The hotspot and trend report (分析投诉热点与趋势): grouped SQL over triage's own tables.

Every figure is one aggregate query over the cases opened in the period (and the previous
one, for changes), so the cost grows with the rows scanned, never with rows sent to
Python. Drills count apart: a report covers real cases, or drills only when asked.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared import charts, pdf
from shared.periods import Period, change_pct
from shared.pii_text import mask_text
from triage_svc.escalation import WORK_DONE
from triage_svc.models import Case, Incident, Registration, TimelineEntry
from triage_svc.report_schemas import (
    ClockName,
    ClockOutcome,
    Example,
    GroupBy,
    GroupCount,
    HotspotReport,
    LevelSla,
    RepeatComplainants,
    RepeatedIssue,
    RisingTopic,
    Satisfaction,
)

GROUP_COLUMNS = {"category": Case.category, "department": Case.department,
                 "product": Case.product, "channel": Case.channel,
                 # Where it happened, as complaint.received gave it (the registration form).
                 "location": Registration.location}
# Groupings that are not served, and why (none at the moment; the route names them).
NOT_STORED: dict[str, str] = {}
TOP = 10
EXAMPLES = 3
MIN_RISING = 2  # a topic needs this many cases in the period to be called rising
CLOCKS: tuple[ClockName, ...] = get_args(ClockName)


def _opened_in(period: Period, drill: bool) -> ColumnElement[bool]:
    return and_(Case.drill.is_(drill), Case.opened_at >= period.start,
                Case.opened_at < period.end)


def _count(now: int, before: int, key: str | None) -> GroupCount:
    return GroupCount(key=key, count=now, previous=before, change=now - before,
                      change_pct=change_pct(now, before))


async def _counts(session: AsyncSession, period: Period, drill: bool,
                  columns: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]]
                  ) -> list[tuple[Any, ...]]:
    """(columns..., count in period, count in the previous period) per group."""
    current = Case.opened_at >= period.start
    query = (select(*columns, func.sum(case((current, 1), else_=0)),
                    func.sum(case((current, 0), else_=1)))
             .select_from(Case)
             .where(_opened_in(Period(period.previous.start, period.end), drill))
             .group_by(*columns))
    if any(getattr(column, "class_", None) is Registration for column in columns):
        query = query.outerjoin(Registration, Registration.case_id == Case.id)
    return [tuple(row) for row in (await session.execute(query)).all()]


async def groups(session: AsyncSession, period: Period, drill: bool, group_by: GroupBy
                 ) -> tuple[GroupCount, list[GroupCount]]:
    rows = await _counts(session, period, drill, [GROUP_COLUMNS[group_by]])
    # A place is free text: a phone number or e-mail address typed into it stays masked.
    found = [_count(int(now), int(before),
                    mask_text(key) if group_by == "location" and key else key)
             for key, now, before in rows if int(now) or int(before)]
    total = _count(sum(g.count for g in found), sum(g.previous for g in found), None)
    return total, sorted(found, key=lambda g: (-g.count, -g.previous, g.key or ""))


async def rising_topics(session: AsyncSession, period: Period, drill: bool
                        ) -> list[RisingTopic]:
    target = func.coalesce(Case.product, Case.department)
    rows = await _counts(session, period, drill, [Case.category, target])
    rising = [RisingTopic(category=category, target=about, count=int(now),
                          previous=int(before), change=int(now) - int(before),
                          change_pct=change_pct(int(now), int(before)))
              for category, about, now, before in rows
              if int(now) >= MIN_RISING and int(now) > int(before)]
    rising.sort(key=lambda t: (-t.change, -t.count, t.category, t.target or ""))
    return rising[:TOP]


async def repeated_issues(session: AsyncSession, period: Period, drill: bool
                          ) -> list[RepeatedIssue]:
    """The group incidents with the most member cases opened in the period."""
    cases = func.count(Case.id)
    rows = (await session.execute(
        select(Incident, cases, func.sum(Case.people_count))
        .join(Incident, Incident.id == Case.incident_id)
        .where(_opened_in(period, drill), Incident.kind == "group")
        .group_by(Incident.id).order_by(cases.desc(), Incident.id).limit(TOP))).all()
    found = []
    for incident, count, people in rows:
        members = (await session.scalars(
            select(Case).where(_opened_in(period, drill), Case.incident_id == incident.id)
            .order_by(Case.opened_at, Case.id).limit(EXAMPLES))).all()
        found.append(RepeatedIssue(
            incident_id=incident.id, target=incident.key, summary=incident.summary,
            state=incident.state, response_level=incident.response_level, cases=int(count),
            people=int(people or 0), examples=[Example(
                case_id=c.id, complaint_id=c.complaint_id, category=c.category,
                opened_at=c.opened_at) for c in members]))
    return found


def _first_reached(states: frozenset[str]) -> ColumnElement[Any]:
    """When the case first entered one of `states` (a timeline move's `to`)."""
    to = TimelineEntry.detail["to"].as_string()
    return func.min(case((to.in_(sorted(states)), TimelineEntry.at)))


async def sla(session: AsyncSession, period: Period, drill: bool, now: datetime
              ) -> list[LevelSla]:
    """Per level, each clock met, missed or pending, from when its work was first done
    (the timeline's moves, as triage_svc.escalation.WORK_DONE defines the work)."""
    return await sla_of(session, _opened_in(period, drill), now)


async def sla_of(session: AsyncSession, cases: ColumnElement[bool], now: datetime
                 ) -> list[LevelSla]:
    """`sla` over the cases `cases` selects (a period's, or an incident's members)."""
    per_case = (
        select(Case.id, Case.response_level.label("level"),
               Case.satisfaction.label("satisfaction"),
               *[getattr(Case, f"{c}_by").label(f"{c}_by") for c in CLOCKS],
               *[_first_reached(WORK_DONE[c]).label(f"{c}_done") for c in CLOCKS])
        .outerjoin(TimelineEntry, TimelineEntry.case_id == Case.id)
        .where(cases).group_by(Case.id).subquery())
    outcomes: list[ColumnElement[Any]] = []
    for clock in CLOCKS:
        done, due = per_case.c[f"{clock}_done"], per_case.c[f"{clock}_by"]
        outcomes += [func.sum(case((done <= due, 1), else_=0)),
                     func.sum(case((or_(done > due, and_(done.is_(None), due < now)), 1),
                                   else_=0))]
    rows = (await session.execute(
        select(per_case.c.level, func.count(), func.count(per_case.c.satisfaction),
               func.avg(per_case.c.satisfaction), *outcomes)
        .group_by(per_case.c.level).order_by(per_case.c.level))).all()
    return [_level_sla(tuple(row)) for row in rows]


def _level_sla(row: tuple[Any, ...]) -> LevelSla:
    level, cases, followed, average, *pairs = row
    clocks: dict[ClockName, ClockOutcome] = {}
    for i, clock in enumerate(CLOCKS):
        met, missed = int(pairs[2 * i] or 0), int(pairs[2 * i + 1] or 0)
        clocks[clock] = ClockOutcome(met=met, missed=missed, pending=int(cases) - met - missed)
    met = sum(c.met for c in clocks.values())
    decided = met + sum(c.missed for c in clocks.values())
    return LevelSla(response_level=int(level), cases=int(cases), clocks=clocks,
                    compliance=round(met / decided, 3) if decided else None,
                    followed_up=int(followed),
                    satisfaction=round(float(average), 2) if average is not None else None)


async def repeat_complainants(session: AsyncSession, period: Period, drill: bool
                              ) -> RepeatComplainants:
    per_person = (select(Case.complainant_key, func.count().label("n"))
                  .where(_opened_in(period, drill), Case.complainant_key.is_not(None))
                  .group_by(Case.complainant_key).having(func.count() >= 2).subquery())
    people, cases, most = (await session.execute(select(
        func.count(), func.sum(per_person.c.n), func.max(per_person.c.n)))).one()
    return RepeatComplainants(complainants=int(people), cases=int(cases or 0),
                              most_cases=int(most or 0))


async def hotspots(session: AsyncSession, period: Period, group_by: GroupBy, drill: bool,
                   now: datetime) -> HotspotReport:
    total, found = await groups(session, period, drill, group_by)
    levels = await sla(session, period, drill, now)
    followed = sum(level.followed_up for level in levels)
    average = (sum((level.satisfaction or 0) * level.followed_up for level in levels)
               / followed if followed else None)
    return HotspotReport(
        period=period.out(), previous_period=period.previous.out(),
        group_by=group_by, drill=drill, total=total, groups=found,
        repeated_issues=await repeated_issues(session, period, drill),
        rising_topics=await rising_topics(session, period, drill), sla=levels,
        satisfaction=Satisfaction(followed_up=followed,
                                  average=round(average, 2) if average is not None else None),
        repeat_complainants=await repeat_complainants(session, period, drill))


CSV_COLUMNS = ("section", "key", "metric", "value")
# A cell starting with one of these is a formula to a spreadsheet: keep it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_csv(report: HotspotReport) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheets read the Chinese), CRLF lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([_cell(v) for v in row] for row in csv_rows(report))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: str) -> str:
    """Text that a spreadsheet would run as a formula is kept text; numbers stay numbers."""
    if not value.startswith(FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def csv_rows(report: HotspotReport) -> list[tuple[str, str, str, str]]:
    """The report in long form, one figure a row, in a fixed order (columns CSV_COLUMNS)."""
    rows: list[tuple[str, str, str, str]] = []

    def add(section: str, key: object, metric: str, value: object) -> None:
        rows.append((section, "" if key is None else str(key), metric,
                     "" if value is None else str(value)))

    add("period", "", "start", report.period.start.isoformat())
    add("period", "", "end", report.period.end.isoformat())
    add("period", "", "group_by", report.group_by)
    add("period", "", "drill", str(report.drill).lower())
    for label, counts in [("total", report.total), *(("group", g) for g in report.groups)]:
        for metric in ("count", "previous", "change", "change_pct"):
            add(label, counts.key, metric, getattr(counts, metric))
    for issue in report.repeated_issues:
        for metric in ("target", "cases", "people", "response_level", "state"):
            add("repeated_issue", issue.incident_id, metric, getattr(issue, metric))
    for topic in report.rising_topics:
        for metric in ("count", "previous", "change", "change_pct"):
            add("rising_topic", f"{topic.category}|{topic.target or ''}", metric,
                getattr(topic, metric))
    for level in report.sla:
        for clock, outcome in level.clocks.items():
            for metric in ("met", "missed", "pending"):
                add("sla", level.response_level, f"{clock}_{metric}", getattr(outcome, metric))
        for metric in ("cases", "compliance", "followed_up", "satisfaction"):
            add("sla", level.response_level, metric, getattr(level, metric))
    add("satisfaction", "", "followed_up", report.satisfaction.followed_up)
    add("satisfaction", "", "average", report.satisfaction.average)
    for metric in ("complainants", "cases", "most_cases"):
        add("repeat_complainants", "", metric, getattr(report.repeat_complainants, metric))
    return rows


GROUP_NAMES = {"category": "类别", "department": "部门", "product": "产品", "channel": "渠道",
               "location": "地点"}


def render_pdf(report: HotspotReport, timezone: str = "Asia/Shanghai") -> bytes:
    """The report laid out for print (A4, CJK font), with its charts (shared.charts)."""
    zone = ZoneInfo(timezone)

    def day(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:+.1f}%"

    images = [charts.png(chart) for chart in charts.hotspot_charts(report.model_dump(mode="json"))]
    name = GROUP_NAMES[report.group_by]
    sections = [
        pdf.Section("概况 Summary", rows=[
            ("统计期间", f"{day(report.period.start)} – {day(report.period.end)}"),
            ("对比期间", f"{day(report.previous_period.start)} – "
                         f"{day(report.previous_period.end)}"),
            ("投诉总量", f"{report.total.count}（上期 {report.total.previous}，"
                         f"{pct(report.total.change_pct)}）"),
            ("回访满意度", "—" if report.satisfaction.average is None else
             f"{report.satisfaction.average}（{report.satisfaction.followed_up} 次回访）"),
            ("重复投诉人", f"{report.repeat_complainants.complainants} 人，"
                          f"{report.repeat_complainants.cases} 件"),
            ("范围", "演练 DRILL" if report.drill else "真实案件")]),
        pdf.Section(f"按{name}分布 By {report.group_by}", images=images[:1], table=pdf.Table(
            [name, "本期", "上期", "变化"],
            [[g.key or "（无）", str(g.count), str(g.previous),
              f"{g.change:+d} ({pct(g.change_pct)})"] for g in report.groups],
            widths=[6, 2, 2, 3]), empty="（无）"),
        pdf.Section("重复问题 Repeated issues", table=pdf.Table(
            ["事件", "对象", "件数", "人数", "级别"],
            [[i.incident_id[:8], i.target, str(i.cases), str(i.people), str(i.response_level)]
             for i in report.repeated_issues], widths=[2, 6, 1, 1, 1]), empty="（无）"),
        pdf.Section("上升话题 Rising topics", table=pdf.Table(
            ["类别", "对象", "本期", "上期", "变化"],
            [[t.category, t.target or "—", str(t.count), str(t.previous), f"{t.change:+d}"]
             for t in report.rising_topics], widths=[3, 5, 1, 1, 1]), empty="（无）"),
        pdf.Section("时限达标 SLA per level", images=images[1:], table=pdf.Table(
            ["级别", "案件", *[f"{c} 按时/超时" for c in CLOCKS], "达标率"],
            [[f"{x.response_level}级", str(x.cases),
              *[f"{x.clocks[c].met}/{x.clocks[c].missed}" for c in CLOCKS],
              "—" if x.compliance is None else f"{x.compliance:.0%}"] for x in report.sla]),
            empty="（无）"),
    ]
    return pdf.render("投诉热点与趋势分析报告", sections,
                      subtitle=f"{day(report.period.start)} – {day(report.period.end)} · "
                               f"按{name}",
                      footer="Beacon 投诉热点与趋势")


BriefValue = int | float | str | list[str] | None


async def brief_figures(session: AsyncSession, period: Period, now: datetime
                        ) -> dict[str, BriefValue]:
    """Triage's figures for a scheduled brief (日报, 周报): real cases of the period, from
    the same queries as the hotspot report."""
    report = await hotspots(session, period, "category", False, now)
    by_level = {level.response_level: level.cases for level in report.sla}
    met = sum(c.met for level in report.sla for c in level.clocks.values())
    missed = sum(c.missed for level in report.sla for c in level.clocks.values())
    incidents = await session.scalar(select(func.count()).select_from(Incident).where(
        Incident.drill.is_(False), Incident.opened_at >= period.start,
        Incident.opened_at < period.end))
    return {
        "cases": report.total.count, "previous": report.total.previous,
        "change_pct": report.total.change_pct,
        **{f"level_{n}": by_level.get(n, 0) for n in (1, 2, 3, 4)},
        "clocks_met": met, "clocks_missed": missed,
        "compliance": round(met / (met + missed), 3) if met + missed else None,
        "satisfaction": report.satisfaction.average,
        "repeat_complainants": report.repeat_complainants.complainants,
        "incidents_opened": int(incidents or 0),
        "top_categories": [f"{g.key or '-'} {g.count}" for g in report.groups[:5]],
    }
