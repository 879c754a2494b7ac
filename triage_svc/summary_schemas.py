"""The post-event summary (总结评估) of an incident as the API answers and takes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.schemas import RequestModel
from triage_svc.report_schemas import ClockName, ClockOutcome
from triage_svc.schemas import IncidentOut, RectificationOut

SummaryStatus = Literal["draft", "approved", "archived"]


class SummaryCounts(BaseModel):
    complaints: int = Field(description="member complaints")
    mentions: int = Field(description="member media mentions")
    people: int = Field(description="head-count (人数) of the incident")
    by_level: dict[str, int] = Field(description="member cases per response level")
    by_state: dict[str, int] = Field(description="member cases per state, now")
    by_category: dict[str, int]


class SummaryClocks(BaseModel):
    """The member cases' four clocks: met, missed, pending (as the hotspot report counts)."""

    clocks: dict[ClockName, ClockOutcome]
    compliance: float | None = Field(description="met / (met + missed); null when none "
                                                 "is decided")


class SummaryEvent(BaseModel):
    at: datetime
    source: Literal["incident", "case", "notification", "statement"]
    action: str
    actor: str | None = None
    case_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class SummaryNotification(BaseModel):
    delivery_id: str
    complaint_id: str | None
    recipient: str
    channel: str | None
    sent_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class SummaryNotifications(BaseModel):
    """What triage learned from notify's events (it never reads notify's tables)."""

    sent: int
    acknowledged: int
    items: list[SummaryNotification]


class SummaryStatement(BaseModel):
    statement_id: str
    title: str
    text: str
    approved_by: str
    approved_at: datetime


class SummaryRectifications(BaseModel):
    """整改措施 of the incident and of its member cases, oldest first, with their counts."""

    items: list[RectificationOut] = Field(default_factory=list)
    open: int = 0
    overdue: int = 0
    verified: int = 0


class SummaryFigures(BaseModel):
    """What is drafted from the record; frozen at approval."""

    drafted_at: datetime
    incident: IncidentOut
    counts: SummaryCounts
    clocks: SummaryClocks
    timeline: list[SummaryEvent] = Field(description="oldest first")
    notifications: SummaryNotifications
    statements: list[SummaryStatement]
    rectifications: SummaryRectifications


class SummaryOut(SummaryFigures):
    incident_id: str
    status: SummaryStatus = Field(description="draft (editable), approved (by a leader: "
                                              "figures frozen), archived (read-only)")
    version: int = Field(description="edits so far; 0 before the first")
    assessment: str = Field(description="总体评估, free text")
    lessons: str = Field(description="经验教训, free text")
    edited_by: str | None = None
    edited_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    archived_by: str | None = None
    archived_at: datetime | None = None


class SummaryIn(RequestModel):
    assessment: str = Field("", max_length=20000, description="总体评估")
    lessons: str = Field("", max_length=20000, description="经验教训")
    version: int | None = Field(None, ge=0, description="the version this edit starts "
                                                        "from; another one answers 409")
