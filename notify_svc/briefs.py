"""Scheduled briefs (日报 daily, 周报 weekly) to the leadership roles, exactly once per period.

Notify owns the schedule (roster.toml `[brief]`). Every replica runs `check` on a timer:
for each kind, the latest period whose send time has passed is claimed by inserting its row
(`notify_briefs`, keyed by kind and period; `ON CONFLICT DO NOTHING`, so one replica wins)
and, in the same transaction, `brief.requested` goes into the outbox. Triage and sentiment
answer with `brief.figures`; each answer is stored under the row's lock, and the one that
completes the figures delivers the brief. A brief still waiting at `wait_until` is
delivered by the timer with what came. Delivery happens under the row lock and sets
`status = delivered` in the same transaction as its delivery rows, so it happens once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from notify_svc.models import BRIEF_EVENT_TYPE, BriefRow, Delivery
from notify_svc.recording import Recipient, Refs
from notify_svc.roster import BriefSchedule
from notify_svc.routing import Router
from shared.events.schemas import BriefFigures, BriefRequested
from shared.runtime import ServiceRuntime, Unit

SOURCES = ("triage", "sentiment")
DAY, WEEK = dt.timedelta(days=1), dt.timedelta(days=7)


def due_period(schedule: BriefSchedule, kind: str, now: dt.datetime, zone: ZoneInfo
               ) -> tuple[dt.datetime, dt.datetime] | None:
    """The latest period of `kind` whose send time is not after `now`, as [start, end) in
    UTC: the day (daily) or the Monday-to-Sunday week (weekly) before the send."""
    local = now.astimezone(zone)
    if kind == "daily" and schedule.daily is not None:
        send = dt.datetime.combine(local.date(), schedule.daily, zone)
        day = local.date() if local >= send else local.date() - DAY
        end = dt.datetime.combine(day, dt.time(0), zone)
        return (end - DAY).astimezone(dt.UTC), end.astimezone(dt.UTC)
    if kind == "weekly" and schedule.weekly is not None:
        weekday, at = schedule.weekly
        monday = local.date() - dt.timedelta(days=local.weekday())
        send = dt.datetime.combine(monday + dt.timedelta(days=weekday), at, zone)
        if local < send:
            monday -= WEEK
        end = dt.datetime.combine(monday, dt.time(0), zone)
        return (end - WEEK).astimezone(dt.UTC), end.astimezone(dt.UTC)
    return None


def brief_id(kind: str, start: dt.datetime, zone: ZoneInfo) -> str:
    return f"{kind}-{start.astimezone(zone):%Y%m%d}"


async def claim(unit: Unit, kind: str, period: tuple[dt.datetime, dt.datetime],
                now: dt.datetime, schedule: BriefSchedule, zone: ZoneInfo) -> bool:
    """Claim the period's brief and request its figures; False if a replica (or an earlier
    check) already did."""
    start, end = period
    ident = brief_id(kind, start, zone)
    if await unit.session.get(BriefRow, ident) is not None:
        return False  # the common case: claimed long ago, no write
    insert = pg_insert if unit.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    claimed = await unit.session.execute(insert(BriefRow).values(
        id=ident, kind=kind, period_start=start, period_end=end, requested_at=now,
        wait_until=now + dt.timedelta(seconds=schedule.wait_s), status="requested",
        figures={}).on_conflict_do_nothing())
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await unit.emit(BriefRequested(brief_id=ident, kind=kind,
                                   period_start=start, period_end=end, requested_at=now),
                    subject=ident)
    return True


async def _locked(unit: Unit, ident: str) -> BriefRow | None:
    return await unit.session.get(BriefRow, ident, with_for_update=True)


async def on_figures(unit: Unit, data: BriefFigures, router: Router,
                     schedule: BriefSchedule) -> list[Delivery]:
    """Keep a service's figures; the answer that completes them delivers the brief."""
    row = await _locked(unit, data.brief_id)
    if row is None or row.status == "delivered":
        return []  # unknown, or delivered after the wait: late figures are dropped
    row.figures = {**row.figures, data.source: data.figures}
    if all(source in row.figures for source in SOURCES):
        return await deliver(unit, row, router, schedule, dt.datetime.now(dt.UTC))
    return []


async def deliver(unit: Unit, row: BriefRow, router: Router, schedule: BriefSchedule,
                  now: dt.datetime) -> list[Delivery]:
    """One delivery per channel of everyone the brief's roles reach (row locked)."""
    missing = [source for source in SOURCES if source not in row.figures]
    context = {"brief_id": row.id, "kind": row.kind,
               "period_start": row.period_start.isoformat(),
               "period_end": row.period_end.isoformat(),
               "triage": row.figures.get("triage"), "sentiment": row.figures.get("sentiment"),
               "missing": missing, "drill": False}
    made = []
    for member, roles in await router.members_for(unit, schedule.roles, None):
        for channel, endpoint in sorted(member.channels.items()):
            to = Recipient(member.id, roles, channel, endpoint.address, member.language)
            delivery = router.recorder.new_delivery(f"brief:{row.id}", BRIEF_EVENT_TYPE, to,
                                                    Refs(row.id), context, now)
            unit.session.add(delivery)
            if channel == "log":
                await router.recorder.send_to_log(unit, delivery, now)
            made.append(delivery)
    row.status, row.delivered_at = "delivered", now
    return made


async def check(runtime: ServiceRuntime, router: Router, schedule: BriefSchedule,
                zone: ZoneInfo, now: dt.datetime | None = None) -> int:
    """Claim the briefs now due and deliver those whose wait ran out; the number of
    deliveries made. Every replica runs it; the claims and row locks make it once."""
    now = now or dt.datetime.now(dt.UTC)
    for kind in ("daily", "weekly"):
        period = due_period(schedule, kind, now, zone)
        if period is not None:
            async with runtime.unit() as unit:
                await claim(unit, kind, period, now, schedule, zone)
    made = 0
    async with runtime.unit() as unit:
        query = select(BriefRow).where(BriefRow.status == "requested",
                                       BriefRow.wait_until <= now).order_by(BriefRow.id)
        if unit.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for row in (await unit.session.scalars(query)).all():
            made += len(await deliver(unit, row, router, schedule, now))
    return made
