"""The reporting period of a report (`?from=&to=`), checked once for every service.

A period is half-open, [from, to). A naive time is UTC. Without `to` it ends now; without
`from` it is the `DEFAULT_DAYS` before `to`. The previous period is the one of the same
length just before, so "change" always compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import HTTPException, Query
from pydantic import BaseModel, Field

DEFAULT_DAYS = 7
MAX_DAYS = 366

FromQuery = Annotated[datetime | None, Query(
    alias="from", description="start of the period, included (ISO 8601; UTC when naive); "
                              f"default {DEFAULT_DAYS} days before `to`")]
ToQuery = Annotated[datetime | None, Query(
    alias="to",
    description="end of the period, excluded (ISO 8601; UTC when naive); default now")]


class PeriodOut(BaseModel):
    """A report's period: [start, end)."""

    start: datetime = Field(description="included")
    end: datetime = Field(description="excluded")


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)

    def out(self) -> PeriodOut:
        return PeriodOut(start=self.start, end=self.end)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def period_of(start: datetime | None, end: datetime | None, now: datetime) -> Period:
    """The period asked for, or a 422 in plain words (from after to, longer than a year)."""
    until = _utc(end) if end is not None else now
    since = _utc(start) if start is not None else until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise HTTPException(422, f"`from` ({since.isoformat()}) must be before `to` "
                                 f"({until.isoformat()})")
    if until - since > timedelta(days=MAX_DAYS):
        raise HTTPException(422, f"the period is {(until - since).days} days long; a report "
                                 f"covers at most {MAX_DAYS} days")
    return Period(since, until)


def change_pct(now: int, before: int) -> float | None:
    """The change in percent, one decimal; None when there was nothing before."""
    return round(100 * (now - before) / before, 1) if before else None
