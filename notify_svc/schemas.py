from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class DeliveryOut(BaseModel):
    id: str
    event_type: str
    complaint_id: str | None
    case_id: str | None
    recipient: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
