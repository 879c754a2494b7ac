"""The hotspot and trend report (投诉热点与趋势分析) as the API answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.periods import PeriodOut

GroupBy = Literal["category", "department", "product", "channel", "location"]
ClockName = Literal["acknowledge", "first_contact", "report", "resolve"]


class GroupCount(BaseModel):
    """Cases opened in the period for one group, against the previous period."""

    key: str | None = Field(description="the group's value; null for cases without one")
    count: int
    previous: int = Field(description="in the previous period of the same length")
    change: int = Field(description="count - previous")
    change_pct: float | None = Field(description="in percent; null when previous is 0")


class Example(BaseModel):
    case_id: str
    complaint_id: str
    category: str
    opened_at: datetime


class RepeatedIssue(BaseModel):
    """A cluster of near-duplicate complaints: a group incident, formed by triage's
    near-duplicate detection on the complaint text (triage_svc/similarity.py)."""

    incident_id: str
    target: str = Field(description="what they are about: `department|product`")
    summary: str
    state: str
    response_level: int
    cases: int = Field(description="member cases opened in the period")
    people: int = Field(description="people behind those cases (head-count)")
    examples: list[Example] = Field(description="the earliest members, at most three")


class RisingTopic(BaseModel):
    """A category about a target (the product, or the department without one) that rose
    against the previous period."""

    category: str
    target: str | None
    count: int
    previous: int
    change: int
    change_pct: float | None


class ClockOutcome(BaseModel):
    met: int = Field(description="work done by the deadline")
    missed: int = Field(description="done late, or undone past the deadline")
    pending: int = Field(description="undone, deadline still ahead")


class LevelSla(BaseModel):
    response_level: int
    cases: int
    clocks: dict[ClockName, ClockOutcome]
    compliance: float | None = Field(
        description="met / (met + missed) over the four clocks; null when none is decided")
    followed_up: int = Field(description="cases with a follow-up call (回访)")
    satisfaction: float | None = Field(description="average satisfaction, 1 to 5")


class Satisfaction(BaseModel):
    followed_up: int
    average: float | None = Field(description="1 to 5; null without a follow-up")


class RepeatComplainants(BaseModel):
    """Complainants with two or more cases in the period, counted by their keyed hash
    (the only trace of a person triage keeps)."""

    complainants: int
    cases: int = Field(description="cases they filed in the period")
    most_cases: int = Field(description="the most cases one complainant filed")


class HotspotReport(BaseModel):
    period: PeriodOut
    previous_period: PeriodOut
    group_by: GroupBy
    drill: bool = Field(description="true: drill cases only; false: real cases only")
    total: GroupCount
    groups: list[GroupCount] = Field(description="most cases first")
    repeated_issues: list[RepeatedIssue]
    rising_topics: list[RisingTopic] = Field(description="largest rise first")
    sla: list[LevelSla] = Field(description="per response level, 1 (most severe) first")
    satisfaction: Satisfaction
    repeat_complainants: RepeatComplainants
