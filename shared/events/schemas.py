"""The payload schemas of every event type, one versioned model each.

Payloads carry no complainant personal data: history matching uses `complainant_key`,
a keyed hash (see shared.privacy), never the name, phone or e-mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.events.registry import register

Channel = Literal["hotline", "email", "web", "wechat", "app", "sms", "letter", "onsite", "media"]
Category = Literal[
    "product_quality",
    "service_attitude",
    "after_sales",
    "billing",
    "contract",
    "process",
    "privacy",
    "safety",
    "legal",
    "other",
]


class Target(BaseModel):
    department: str | None = None
    product: str | None = None


class Deadlines(BaseModel):
    acknowledge_by: datetime
    first_contact_by: datetime
    report_by: datetime
    resolve_by: datetime


@register("complaint.received", 1)
class ComplaintReceived(BaseModel):
    complaint_id: str
    channel: Channel
    content: str
    subject: str | None = None
    received_at: datetime
    occurred_at: datetime | None = None
    location: str | None = None
    target: Target = Field(default_factory=Target)
    people_count: int = 1
    media_involved: bool = False
    drill: bool = False
    complainant_key: str | None = None
    submitted_by: str | None = None


@register("complaint.triaged", 1)
class ComplaintTriaged(BaseModel):
    complaint_id: str
    case_id: str
    response_level: int = Field(ge=1, le=4)
    category: Category
    level_reasons: list[str]
    deadlines: Deadlines
    department: str | None = None
    drill: bool = False


@register("notification.sent", 1)
class NotificationSent(BaseModel):
    delivery_id: str
    complaint_id: str | None = None
    case_id: str | None = None
    recipient: str
    channel: str
    sent_at: datetime


@register("mention.scored", 1)
class MentionScored(BaseModel):
    mention_id: str
    source: str
    url: str | None = None
    sentiment_label: Literal["negative", "neutral", "positive"]
    sentiment_score: float = Field(ge=-1.0, le=1.0)
    published_at: datetime | None = None
