from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["news", "weibo", "wechat", "forum", "video", "blog", "hotline_board", "other"]


class Reach(BaseModel):
    model_config = ConfigDict(extra="forbid")

    followers: int = Field(0, ge=0)
    reposts: int = Field(0, ge=0)
    comments: int = Field(0, ge=0)
    likes: int = Field(0, ge=0)
    views: int = Field(0, ge=0)


class MentionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Source
    content: str = Field(min_length=1, max_length=50000, pattern=r"\S")
    title: str | None = Field(None, max_length=500)
    url: str | None = Field(None, max_length=2000)
    author: str | None = Field(None, max_length=200)
    published_at: datetime | None = None
    reach: Reach = Field(default_factory=Reach)
    language: Literal["zh", "en"] | None = None


class MentionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentions: list[MentionIn] = Field(min_length=1, max_length=1000)


class MentionsAccepted(BaseModel):
    accepted: int
    ids: list[str]


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
    cluster_id: str | None = None
    linked_complaint_ids: list[str] = Field(default_factory=list)
