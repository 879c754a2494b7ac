"""SLA clocks: deadlines in calendar minutes or in working days (weekends, Chinese public
holidays and the adjusted working days 调休, from the maintained `chinese_calendar` library).

Working-day convention (应急投诉处置预案: "一般性投诉:在3个工作日内给予答复"):
- all day arithmetic is done on the wall clock of the rules' `[calendar] timezone`
  (Asia/Shanghai by default), whatever zone the start is given in; the answer is returned
  in the start's zone (UTC when the start is naive);
- received on a working day at time T: N working days later is the same time T on the
  N-th following working day (Friday 16:00 + 3wd = Wednesday 16:00; a 调休 Saturday counts);
- received on a non-working day (weekend, holiday): the clock starts at 00:00 of the next
  working day, so the deadline is 00:00 of the N-th working day after that one, i.e. the
  end of N whole working days (Saturday + 3wd = Thursday 00:00, the end of Wednesday);
- minute clocks ("15m", "24h", 1440) are plain elapsed time, holidays included: the plans
  give them in hours ("24小时内"), and urgent complaints do not wait for a working day.
Years the library does not know fall back to weekends only, logged once per year.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from shared.events.schemas import Deadlines
from triage_svc.rules import Calendar, Clock, Rules

log = logging.getLogger(__name__)
_warned_years: set[int] = set()


def is_workday(day: date, calendar: Calendar) -> bool:
    if day in calendar.extra_holidays:
        return False
    if day in calendar.extra_workdays:
        return True
    return _library_workday(day)


@lru_cache(maxsize=4096)
def _library_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("chinese_calendar has no data for %d: counting weekends only; "
                        "upgrade chinese-calendar or list the holidays in [calendar]", day.year)
        return day.weekday() < 5


def add_working_days(start: datetime, days: int, calendar: Calendar) -> datetime:
    """`start` plus `days` working days, by the convention in the module docstring."""
    zone = ZoneInfo(calendar.timezone)
    aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    day, clock = local.date(), local.timetz().replace(tzinfo=None)
    if not is_workday(day, calendar):
        day, clock = _next_workday(day, calendar), time(0, 0)
    for _ in range(days):
        day = _next_workday(day, calendar)
    deadline = datetime.combine(day, clock, tzinfo=zone)
    return deadline.astimezone(start.tzinfo or UTC)


def _next_workday(day: date, calendar: Calendar) -> date:
    day += timedelta(days=1)
    while not is_workday(day, calendar):
        day += timedelta(days=1)
    return day


def due(start: datetime, clock: Clock, calendar: Calendar) -> datetime:
    if clock.working_days:
        return add_working_days(start, clock.working_days, calendar)
    return start + timedelta(minutes=clock.minutes, seconds=clock.seconds)


def deadlines(level: int, start: datetime, rules: Rules) -> Deadlines:
    clocks = rules.clocks[level]
    return Deadlines(
        acknowledge_by=due(start, clocks["acknowledge"], rules.calendar),
        first_contact_by=due(start, clocks["first_contact"], rules.calendar),
        report_by=due(start, clocks["report"], rules.calendar),
        resolve_by=due(start, clocks["resolve"], rules.calendar),
    )
