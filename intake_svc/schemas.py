from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared import dates, patterns
from shared.events.schemas import Channel
from shared.paging import NEXT_CURSOR_DESCRIPTION
from shared.schemas import RequestModel


class Complainant(RequestModel):
    name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9\- ]{4,19}$")
    # A pattern the published schema states exactly (EmailStr would also refuse reserved
    # domains, which no schema can express).
    email: str | None = Field(None, max_length=254, pattern=patterns.EMAIL)
    id_number: str | None = Field(None, pattern=r"^[0-9A-Za-z]{6,30}$")


class TargetIn(RequestModel):
    department: str | None = Field(None, max_length=200)
    product: str | None = Field(None, max_length=200)


class Attachment(RequestModel):
    name: str = Field(max_length=300)
    url: str = Field(max_length=2000)


class ComplaintIn(RequestModel):
    """API.md's complaint; unknown fields are refused so a typo never silently drops data."""

    channel: Channel
    content: str = Field(min_length=1, max_length=20000, pattern=patterns.NOT_BLANK,
                         description="The complaint's text; at least one non-space character")
    subject: str | None = Field(None, max_length=500)
    external_ref: str | None = Field(None, min_length=1, max_length=200, pattern=patterns.NOT_BLANK)
    complainant: Complainant | None = None
    occurred_at: dates.InputDateTime | None = dates.field()
    location: str | None = Field(None, max_length=500)
    target: TargetIn | None = None
    people_count: int = Field(1, ge=1, le=1_000_000)
    media_involved: bool = False
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    drill: bool = False


class ComplaintAccepted(BaseModel):
    id: str
    status: Literal["received"] = "received"
    status_url: str


class ComplainantOut(BaseModel):
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None


MASKED_TEXT = ("Phone, ID, e-mail and bank card numbers typed into the text are masked "
               "unless the caller holds pii:read")


class ComplaintOut(BaseModel):
    id: str
    status: str
    channel: str
    subject: str | None = Field(description=MASKED_TEXT)
    content: str = Field(description=MASKED_TEXT)
    external_ref: str | None
    received_at: datetime
    occurred_at: datetime | None
    location: str | None
    target: TargetIn
    people_count: int
    media_involved: bool
    drill: bool
    complainant: ComplainantOut | None
    purged_at: datetime | None = Field(None, description=(
        "retention: when the complainant's personal data was purged (the case was archived "
        "PII_RETENTION_DAYS before); `complainant` is null from then on"))
    case: dict[str, object] | None = None


class ComplaintRef(BaseModel):
    """A complaint found by the caller's own reference; `status_url` has its status."""

    id: str
    external_ref: str
    channel: str
    received_at: datetime
    drill: bool
    status_url: str


class ComplaintRefList(BaseModel):
    items: list[ComplaintRef] = Field(description="the caller's complaint with this "
                                      "reference, or none")


MAX_BATCH = 500


class ComplaintBatchIn(RequestModel):
    """Up to 500 complaints; each is validated on its own, so one bad item spoils nothing."""

    complaints: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class FieldError(BaseModel):
    field: str
    message: str


class BatchItemResult(BaseModel):
    index: int
    status: int = Field(description="202 accepted, 200 replay, 409 conflict, 422 invalid")
    id: str | None = None
    status_url: str | None = None
    detail: str | None = None
    errors: list[FieldError] | None = None


class BatchResult(BaseModel):
    accepted: int
    replayed: int
    rejected: int
    results: list[BatchItemResult]


class AtRiskIn(RequestModel):
    """易造成升级投诉…提前报备: the complainant's contact (hashed, never stored), or the
    complaint whose complainant it is, and why."""

    phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9\- ]{4,19}$")
    email: str | None = Field(None, max_length=254, pattern=patterns.EMAIL)
    complaint_id: str | None = Field(
        None, min_length=1, max_length=32, pattern=r"^[0-9a-f]+$",
        description="instead of a contact: the complaint whose complainant's phone and "
        "e-mail are hashed (the console's case page)")
    note: str = Field(min_length=1, max_length=1000, pattern=patterns.NOT_BLANK,
                      description="why this complainant may escalate")


class AtRiskOut(BaseModel):
    """A pre-registration as stored: which contacts were hashed, never the contacts."""

    id: str
    contacts: list[Literal["phone", "email"]] = Field(
        description="the contacts whose keyed hash is kept")
    note: str = Field(description="masked: numbers typed into it are hidden")
    registered_by: str
    registered_at: datetime
    used_by: str | None = Field(None, description="the complaint whose level it raised")
    used_at: datetime | None = None


class AtRiskList(BaseModel):
    items: list[AtRiskOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)
