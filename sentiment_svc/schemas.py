from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared import dates, patterns
from shared.schemas import RequestModel

Source = Literal["news", "weibo", "wechat", "forum", "video", "blog", "hotline_board", "other"]
MAX_BATCH = 1000


class Reach(RequestModel):
    followers: int = Field(0, ge=0)
    reposts: int = Field(0, ge=0)
    comments: int = Field(0, ge=0)
    likes: int = Field(0, ge=0)
    views: int = Field(0, ge=0)


class MentionIn(RequestModel):
    source: Source
    content: str = Field(min_length=1, max_length=50000, pattern=patterns.NOT_BLANK)
    title: str | None = Field(None, max_length=500)
    url: str | None = Field(None, max_length=2000, pattern=patterns.HTTP_URL,
                            description="http or https only")
    author: str | None = Field(None, max_length=200)
    published_at: dates.InputDateTime | None = dates.field()
    reach: Reach = Field(default_factory=Reach)
    language: Literal["zh", "en"] | None = None
    drill: bool = Field(False, description="a drill's mention (应急演练): scored and kept, "
                        "but out of the public-opinion report, the trends, the real alerts "
                        "and links to real complaints")


class MentionBatch(RequestModel):
    """Up to 1,000 mentions, each validated on its own: a bad one is refused with its reason
    and the rest are accepted."""

    mentions: list[Any] = Field(
        min_length=1, max_length=MAX_BATCH,
        description="each item a mention as in the single form (MentionIn)")


class FieldError(BaseModel):
    field: str
    message: str


class ItemResult(BaseModel):
    index: int
    status: int = Field(description="202 accepted, 200 known URL (the earlier id), 422 invalid")
    id: str | None = None
    detail: str | None = None
    errors: list[FieldError] | None = None


class MentionsAccepted(BaseModel):
    accepted: int = Field(description="new mentions stored (duplicates are not counted here)")
    ids: list[str] = Field(description="the ids of the items not rejected (new and duplicate), "
                                       "in order")
    duplicates: int = Field(0, description="items whose URL was already known: answered with "
                                           "the earlier id, stored nothing (like `replayed` in "
                                           "the complaints batch)")
    rejected: int = Field(0, description="items refused as invalid (422 results)")
    results: list[ItemResult] = Field(default_factory=list,
                                      description="one per item, in order")


class Sentiment(BaseModel):
    label: Literal["negative", "neutral", "positive"]
    score: float


class MentionOut(BaseModel):
    id: str
    source: str
    url: str | None
    title: str | None
    content: str
    author: str | None
    published_at: datetime | None
    received_at: datetime
    reach: Reach
    language: str
    sentiment: Sentiment
    risk_level: int | None = None
    risk_reasons: list[str] = Field(default_factory=list,
                                    description="each contribution to the risk level")
    cluster_id: str | None = None
    topic_id: str | None = None
    linked_complaint_ids: list[str] = Field(default_factory=list)
    drill: bool = False


class TrendPoint(BaseModel):
    bucket_start: datetime
    total: int
    negative: int
    negative_share: float


class TopicCount(BaseModel):
    topic_id: str
    label: str
    mentions: int
    negative: int
    negative_share: float


class AlertOut(BaseModel):
    id: str
    scope: str
    topic_id: str | None
    warning_level: int
    raised_at: datetime
    evidence: dict[str, Any]


class Trends(BaseModel):
    since: datetime
    until: datetime
    bucket_s: int
    series: list[TrendPoint]
    top_topics: list[TopicCount]
    alerts: list[AlertOut]
