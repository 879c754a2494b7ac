"""The public-opinion report (舆情监测报告) as the API answers it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sentiment_svc.schemas import AlertOut
from shared.periods import PeriodOut


class Volume(BaseModel):
    mentions: int = Field(description="received in the period")
    negative: int
    negative_share: float = Field(description="negative / mentions, 0 when none")
    previous: int = Field(description="mentions in the previous period of the same length")
    previous_negative_share: float
    change_pct: float | None = Field(description="in percent; null when previous is 0")


class SourceCount(BaseModel):
    source: str
    mentions: int
    negative: int
    negative_share: float


class StoryCount(BaseModel):
    """Near-copies of one text (a story: the mention's `cluster_id`)."""

    story_id: str
    topic_id: str | None
    topic: str | None = Field(description="the topic's label")
    headline: str = Field(description="the title of the story's first mention, or the "
                                      "start of its text")
    mentions: int = Field(description="in the period")
    negative: int
    first_seen: datetime
    last_seen: datetime
    max_risk_level: int = Field(description="1 is the most severe")


class LinkedMention(BaseModel):
    mention_id: str
    source: str
    received_at: datetime
    complaint_ids: list[str]


class Linked(BaseModel):
    """Mentions of the period matched to complaints (媒体投诉)."""

    mentions: int
    complaints: int = Field(description="distinct complaints they were matched to")
    items: list[LinkedMention] = Field(description="the most recent, at most 20")


class StatementIssued(BaseModel):
    """A unified statement approved in the period (from notify's events)."""

    statement_id: str
    incident_id: str | None
    title: str
    approved_by: str
    approved_at: datetime
    distributed_at: datetime | None = Field(description="its deliveries recorded; null until")
    recipients: int | None


class PublicOpinionReport(BaseModel):
    period: PeriodOut
    previous_period: PeriodOut
    volume: Volume
    sources: list[SourceCount] = Field(description="most mentions first")
    top_stories: list[StoryCount] = Field(description="most mentions first, at most 10")
    alerts: list[AlertOut] = Field(description="raised in the period, newest first, at most "
                                               "100")
    alerts_by_level: dict[str, int] = Field(
        description="alerts raised in the period per warning level (1 is the most severe)")
    linked: Linked
    statements: list[StatementIssued] = Field(
        default_factory=list,
        description="统一口径 approved in the period, newest first, at most 50")
