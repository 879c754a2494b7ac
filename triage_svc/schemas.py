from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class TimelineOut(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    reason: str | None


class CaseOut(BaseModel):
    id: str
    complaint_id: str
    response_level: int
    category: str
    level_reasons: list[str]
    state: str
    department: str | None
    drill: bool
    opened_at: datetime
    deadlines: dict[str, datetime]
    incident_id: str | None
    timeline: list[TimelineOut] | None = None


class CaseList(BaseModel):
    items: list[CaseOut]
