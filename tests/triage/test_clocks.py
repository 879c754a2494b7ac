"""SLA clocks: working days skip weekends and Chinese public holidays and count 调休 days.

2026 facts from chinese_calendar: National Day holiday 10-01..10-07 (Thu..Wed), 调休 working
days Sunday 09-20 and Saturday 10-10; Spring Festival 02-15..02-23, 调休 Saturday 02-14.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from triage_svc import clocks
from triage_svc.clocks import add_working_days, is_workday
from triage_svc.rules import Calendar, load_rules
from triage_svc.service import deadlines

BEIJING = ZoneInfo("Asia/Shanghai")
CAL = Calendar()
RULES = load_rules()


def bj(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def test_the_library_knows_2026() -> None:
    assert not is_workday(date(2026, 10, 1), CAL)
    assert is_workday(date(2026, 10, 10), CAL)  # 调休 Saturday
    assert is_workday(date(2026, 9, 20), CAL)  # 调休 Sunday
    assert not is_workday(date(2026, 3, 7), CAL)  # an ordinary Saturday


def test_across_a_weekend_same_clock_time() -> None:
    # Friday 16:00 + 3 working days = Wednesday 16:00
    assert add_working_days(bj(2026, 3, 6, 16, 0), 3, CAL) == bj(2026, 3, 11, 16, 0)


def test_on_the_eve_of_national_day() -> None:
    eve = bj(2026, 9, 30, 17, 0)  # Wednesday before the 10-01..10-07 holiday
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (调休) are working days 1, 2, 3
    assert add_working_days(eve, 3, CAL) == bj(2026, 10, 10, 17, 0)
    # then Sunday 10-11 is off: 10-12 Mon, 10-13 Tue are days 4 and 5
    assert add_working_days(eve, 5, CAL) == bj(2026, 10, 13, 17, 0)


def test_level_clocks_on_the_eve_of_national_day() -> None:
    eve = bj(2026, 9, 30, 17, 0)
    urgent = deadlines(1, eve, RULES)
    assert urgent.resolve_by == eve + timedelta(hours=24)  # 24 h is elapsed time
    assert urgent.report_by == eve + timedelta(minutes=15)
    assert deadlines(2, eve, RULES).resolve_by == bj(2026, 10, 13, 17, 0)  # 5wd
    assert deadlines(4, eve, RULES).resolve_by == bj(2026, 10, 10, 17, 0)  # 3wd
    assert deadlines(4, eve, RULES).report_by == bj(2026, 10, 8, 17, 0)  # 1wd


def test_at_23_59() -> None:
    # Thursday 23:59 + 1wd = Friday 23:59; Friday 23:59 + 1wd = Monday 23:59
    assert add_working_days(bj(2026, 3, 5, 23, 59), 1, CAL) == bj(2026, 3, 6, 23, 59)
    assert add_working_days(bj(2026, 3, 6, 23, 59), 1, CAL) == bj(2026, 3, 9, 23, 59)


def test_23_59_utc_is_the_next_morning_in_beijing() -> None:
    # Friday 23:59 UTC is Saturday 07:59 in Beijing: a non-working day, so the clock starts
    # Monday 00:00 and one working day ends Tuesday 00:00 Beijing = Monday 16:00 UTC.
    start = datetime(2026, 3, 6, 23, 59, tzinfo=UTC)
    due = add_working_days(start, 1, CAL)
    assert due == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    assert due.tzinfo is UTC  # answered in the start's zone


def test_received_on_a_holiday_counts_from_the_next_working_day_start() -> None:
    # Saturday: three whole working days Mon, Tue, Wed -> Thursday 00:00
    assert add_working_days(bj(2026, 3, 7, 10, 0), 3, CAL) == bj(2026, 3, 12, 0, 0)
    # National Day: first working day 10-08, then 10-09, 10-10 (调休), 10-12
    assert add_working_days(bj(2026, 10, 3, 10, 0), 3, CAL) == bj(2026, 10, 12, 0, 0)


def test_an_adjusted_saturday_is_a_working_day() -> None:
    # Friday before Spring Festival + 1wd = the 调休 Saturday 02-14
    assert add_working_days(bj(2026, 2, 13, 10, 0), 1, CAL) == bj(2026, 2, 14, 10, 0)
    # received on that Saturday, it counts like any working day: next is 02-24 after the holiday
    assert add_working_days(bj(2026, 2, 14, 9, 30), 1, CAL) == bj(2026, 2, 24, 9, 30)


def test_configured_company_days() -> None:
    cal = replace(CAL, extra_holidays=frozenset({date(2026, 3, 9)}),
                  extra_workdays=frozenset({date(2026, 3, 7)}))
    assert add_working_days(bj(2026, 3, 6, 16, 0), 1, cal) == bj(2026, 3, 7, 16, 0)
    assert add_working_days(bj(2026, 3, 7, 16, 0), 1, cal) == bj(2026, 3, 10, 16, 0)


def test_unknown_years_fall_back_to_weekends_and_log_once(
        caplog: pytest.LogCaptureFixture) -> None:
    clocks._warned_years.discard(2099)
    clocks._library_workday.cache_clear()
    with caplog.at_level(logging.WARNING, logger="triage_svc.clocks"):
        # 2099-01-02 is a Friday
        assert add_working_days(bj(2099, 1, 2, 9, 0), 1, CAL) == bj(2099, 1, 5, 9, 0)
        assert add_working_days(bj(2099, 1, 5, 9, 0), 3, CAL) == bj(2099, 1, 8, 9, 0)
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1
