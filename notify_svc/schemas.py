from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from notify_svc.roster import CHANNELS, DutySlot, Endpoint, Member
from shared import patterns
from shared.paging import NEXT_CURSOR_DESCRIPTION
from shared.schemas import RequestModel

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]
Language = Literal["zh", "en"]


class DeliveryOut(BaseModel):
    id: str
    event_type: str
    complaint_id: str | None
    case_id: str | None
    incident_id: str | None
    statement_id: str | None
    escalation_id: str | None
    digest_id: str | None
    recipient: str
    roles: list[str]
    channel: str
    status: str = Field(description="pending, batched (waits for its digest), sent, dead")
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    ack_url: str | None = Field(
        None, description="the acknowledgement link the message carried; shown only to "
        "callers with cases:write (it acknowledges in the recipient's name), and null for "
        "hotline callbacks")


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)
    total: int | None = Field(None, description="how many match, when `total=true`")


class AckIn(RequestModel):
    token: str = Field(min_length=1, max_length=200)


class ChannelIn(RequestModel):
    address: str = Field(min_length=1, max_length=500)
    secret: str | None = Field(None, min_length=1, max_length=200,
                               description="signing secret (webhook, DingTalk, Feishu)")


class UrlChannelIn(ChannelIn):
    address: str = Field(min_length=8, max_length=500, pattern=patterns.HTTP_URL)


class EmailChannelIn(ChannelIn):
    address: str = Field(min_length=3, max_length=500, pattern=patterns.LOOSE_EMAIL)


class ChannelsIn(RequestModel):
    """A member's channels; each address in the form its channel needs."""

    log: ChannelIn | None = None
    webhook: UrlChannelIn | None = None
    email: EmailChannelIn | None = None
    sms: ChannelIn | None = None
    dingtalk: UrlChannelIn | None = None
    wecom: UrlChannelIn | None = None
    feishu: UrlChannelIn | None = None

    def endpoints(self) -> dict[str, Endpoint]:
        return {name: Endpoint(value.address, value.secret)
                for name in CHANNELS if (value := getattr(self, name)) is not None}


class ChannelOut(BaseModel):
    address: str | None = Field(
        description="null unless the caller holds admin: staff contact data is personal data")
    signed: bool = Field(description="a signing secret is set (never shown)")


class MemberBody(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    roles: list[Name] = Field(min_length=1, max_length=20)
    channels: ChannelsIn = Field(default_factory=ChannelsIn)
    department: str | None = Field(None, max_length=200)
    language: Language = "zh"

    def to_member(self, member_id: str) -> Member:
        return Member(member_id, self.name, frozenset(self.roles), self.channels.endpoints(),
                      self.department, self.language)


class MemberIn(MemberBody):
    id: Name


class MemberOut(BaseModel):
    id: str
    name: str
    roles: list[str]
    channels: dict[str, ChannelOut]
    department: str | None
    language: str

    @classmethod
    def of(cls, m: Member, *, addresses: bool = True) -> MemberOut:
        return cls(id=m.id, name=m.name, roles=sorted(m.roles),
                   channels={ch: ChannelOut(address=e.address if addresses else None,
                                            signed=bool(e.secret))
                             for ch, e in sorted(m.channels.items())},
                   department=m.department, language=m.language)


class DutySlotIn(RequestModel):
    """On `date` from `start_hour`; an end_hour not after start_hour is a night shift that
    ends at end_hour on the next day (20 → 8)."""

    date: dt.date
    start_hour: int = Field(0, ge=0, le=23)
    end_hour: int = Field(24, ge=1, le=24)
    role: Name
    member: Name

    def to_slot(self) -> DutySlot:
        return DutySlot(self.date, self.start_hour, self.end_hour, self.role, self.member)

    @classmethod
    def of(cls, s: DutySlot) -> DutySlotIn:
        return cls(date=s.on_date, start_hour=s.start_hour, end_hour=s.end_hour, role=s.role,
                   member=s.member)


class RosterOut(BaseModel):
    members: list[MemberOut]
    routing: dict[str, list[str]] = Field(description="roles by level (from the roster file)")
    digest_levels: list[int]
    incidents: dict[str, list[str]]
    statement: list[str]


class DutyList(RequestModel):
    items: list[DutySlotIn] = Field(max_length=10000)


class CallbackIn(RequestModel):
    url: str = Field(min_length=8, max_length=1000, pattern=patterns.HTTP_URL)
    secret: str = Field(min_length=16, max_length=200,
                        description="signs each callback (X-Beacon-Signature)")


class CallbackOut(BaseModel):
    owner: str
    url: str
    updated_at: dt.datetime


class CallbackList(BaseModel):
    items: list[CallbackOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)


class StatementIn(RequestModel):
    title: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=20000)
    language: Language = "zh"
    incident_id: str | None = Field(None, max_length=32)


class StatementOut(BaseModel):
    id: str
    incident_id: str | None
    title: str
    text: str
    language: str
    status: str = Field(description="draft, approved, distributed")
    drafted_by: str
    drafted_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    distribute_by: dt.datetime | None = Field(
        description="approval + 0.5 h: when liaisons must have it (统一口径)")
    distributed_at: dt.datetime | None


class StatementList(BaseModel):
    items: list[StatementOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)


class BriefOut(BaseModel):
    """A scheduled brief (日报, 周报): its period, what came in, and when it went out."""

    id: str
    kind: Literal["daily", "weekly"]
    period_start: dt.datetime
    period_end: dt.datetime
    requested_at: dt.datetime
    wait_until: dt.datetime = Field(description="sent by then with what came")
    status: Literal["requested", "delivered"]
    figures: dict[str, dict[str, Any]] = Field(
        description="per source (triage, sentiment), as each answered")
    delivered_at: dt.datetime | None


class BriefList(BaseModel):
    items: list[BriefOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)
