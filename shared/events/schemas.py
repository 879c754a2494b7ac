"""The payload schemas of every event type, one versioned model each.

Payloads carry no complainant personal data: history matching uses `complainant_key`,
a keyed hash (see shared.privacy), never the name, phone or e-mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.events.registry import EventPayload, register

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


class ComplaintTarget(BaseModel):
    """What a complaint is about: a department and/or a product (field `target`)."""

    department: str | None = None
    product: str | None = None


class Deadlines(BaseModel):
    acknowledge_by: datetime
    first_contact_by: datetime
    report_by: datetime
    resolve_by: datetime


class ClockDue(BaseModel):
    """A case clock whose work is not done yet (triage decides which), with its deadline."""

    clock: Literal["acknowledge", "first_contact", "report", "resolve"]
    due_at: datetime


@register("complaint.received", 1)
class ComplaintReceived(EventPayload):
    complaint_id: str
    channel: Channel
    content: str
    subject: str | None = None
    received_at: datetime
    occurred_at: datetime | None = None
    location: str | None = None
    target: ComplaintTarget = Field(default_factory=ComplaintTarget)
    people_count: int = 1
    media_involved: bool = False
    drill: bool = False
    complainant_key: str | None = None
    submitted_by: str | None = None
    external_ref: str | None = Field(None, description="the filing caller's own reference")
    at_risk: str | None = Field(
        None, description="the complainant was pre-registered as at risk of escalating "
        "(易造成升级投诉…提前报备): the pre-registration's note, masked; null when not")


@register("complaint.triaged", 1)
class ComplaintTriaged(EventPayload):
    complaint_id: str
    case_id: str
    response_level: int = Field(ge=1, le=4)
    category: Category
    level_reasons: list[str]
    deadlines: Deadlines
    department: str | None = None
    drill: bool = False
    submitted_by: str | None = Field(None, description="the caller (hotline) that filed it")
    external_ref: str | None = Field(None, description="the filing caller's own reference")
    outstanding: list[ClockDue] | None = Field(
        None, description="the clocks whose work is not done yet (null from older producers)")


@register("notification.sent", 1)
class NotificationSent(EventPayload):
    delivery_id: str
    complaint_id: str | None = None
    case_id: str | None = None
    recipient: str
    channel: str
    sent_at: datetime
    # Added: the incident a message was about (incident.opened/updated), for triage's
    # post-event summary; older events have none.
    incident_id: str | None = None


@register("mention.scored", 1)
class MentionScored(EventPayload):
    mention_id: str
    source: str
    url: str | None = None
    sentiment_label: Literal["negative", "neutral", "positive"]
    sentiment_score: float = Field(ge=-1.0, le=1.0)
    published_at: datetime | None = None
    language: Literal["zh", "en"] | None = None
    risk_level: int | None = Field(None, ge=1, le=4, description="1 most severe")
    cluster_id: str | None = None
    topic_id: str | None = None
    drill: bool = Field(False, description="a drill's mention (应急演练): kept out of real "
                        "figures")


CaseState = Literal["received", "triaged", "acknowledged", "investigating", "responded",
                    "follow_up", "closed", "reopened"]


@register("case.updated", 1)
class CaseUpdated(EventPayload):
    """Any change to a case: state, level, assignment, answer, follow-up."""

    case_id: str
    complaint_id: str
    action: str = Field(description="e.g. acknowledged, assigned, level_changed, state_changed, "
                        "planned, investigated, opinion_given, transferred, "
                        "follow_up_impossible, archived, cause_analysed (重复投诉的原因分析), "
                        "rectification_added, rectification_verified, rectification_overdue "
                        "(整改措施), accountability_recorded (追责问责), "
                        "personal_data_purged (retention)")
    state: CaseState
    response_level: int = Field(ge=1, le=4)
    actor: str
    reason: str | None = None
    at: datetime
    department: str | None = None
    assignee: str | None = None
    drill: bool = False
    submitted_by: str | None = Field(None, description="the caller (hotline) that filed it")
    external_ref: str | None = Field(None, description="the filing caller's own reference")
    answer: str | None = Field(None, description="the latest answer to the complainant")
    answer_version: int | None = Field(None, ge=1, description="its version (1, 2, ...)")
    outstanding: list[ClockDue] | None = Field(
        None, description="the clocks whose work is not done yet (null from older producers)")
    owner: str | None = Field(None, description="who owns the case (首问责任制) until a transfer")
    plan_due_at: datetime | None = Field(
        None, description="the handling plan's deadline (处理时限), once there is a plan")
    to_department: str | None = Field(None, description="on a transfer: where it went")
    archived: bool | None = Field(None, description="true once the case is archived (归档)")
    media: bool | None = Field(
        None, description="true once the case is a media complaint (媒体投诉)")
    out_of_jurisdiction: bool | None = Field(
        None, description="on a transfer: true when it went outside the organisation "
        "(不属于管辖范围, 转交相关单位); `to_department` names where")


class MediaMention(BaseModel):
    source: str
    url: str | None = None


class MediaInterview(BaseModel):
    """采访记录: "采访的时间和地点…采访记者的单位…答复内容" (plans-complaint-and-media-a.txt)."""

    at: datetime
    place: str
    reporter: str
    outlet: str
    answers: str
    topic: str | None = None


class MediaForm(BaseModel):
    """媒体投诉登记表: the full account general affairs receives by e-mail ("投诉内容、接收部门、
    接收人员…", plan-media-complaint-duties-and-timelines.txt). Free text is masked: no
    complainant personal data travels."""

    received_at: datetime
    media_since: datetime = Field(description="when it became a media complaint")
    channel: str | None = None
    subject: str | None = None
    content: str
    location: str | None = None
    occurred_at: datetime | None = None
    people_count: int = 1
    category: str
    receiving_department: str | None = None
    receiver: str | None = Field(None, description="接收人员: the case's owner or assignee")
    state: CaseState
    mentions: list[MediaMention] = Field(default_factory=list)
    interviews: list[MediaInterview] = Field(default_factory=list)


@register("case.escalated", 1)
class CaseEscalated(EventPayload):
    """A clock ran out (or the step's recipients stayed silent): the case goes up a step."""

    escalation_id: str
    case_id: str
    complaint_id: str
    response_level: int = Field(ge=1, le=4)
    step: int = Field(ge=0, description="index in the level's chain; 0 receiving department")
    step_role: str = Field(description="the roster role to reach, e.g. general_affairs")
    clock: str = Field(description="acknowledge, first_contact, report, resolve, plan "
                       "(the handling plan's deadline), or a media complaint's media_report, "
                       "media_account, media_solution, media_company_team")
    reason: Literal["deadline_missed", "not_acknowledged"]
    deadline: datetime
    escalated_at: datetime
    skipped_role: str | None = Field(None, description="set on skip-level escalation")
    drill: bool = False
    media_form: MediaForm | None = Field(
        None, description="on a media complaint's full-account clock (media_account): the "
        "媒体投诉登记表, which notify renders and e-mails")


@register("incident.opened", 1)
class IncidentOpened(EventPayload):
    incident_id: str
    kind: Literal["group", "public_opinion"]
    response_level: int = Field(ge=1, le=4)
    summary: str
    opened_at: datetime
    complaint_ids: list[str] = Field(default_factory=list)
    mention_ids: list[str] = Field(default_factory=list)
    drill: bool = False


@register("incident.updated", 1)
class IncidentUpdated(EventPayload):
    """An incident changed: its level rose (`raised`), members joined it, an operator
    closed it (`closed`: it takes no more members), recorded a group complaint's
    registration (`registered`) or assigned its work group (`work_group_assigned`)."""

    incident_id: str
    kind: Literal["group", "public_opinion"]
    action: Literal["raised", "members_added", "closed", "registered", "work_group_assigned"]
    response_level: int = Field(ge=1, le=4)
    previous_level: int = Field(ge=1, le=4)
    summary: str
    opened_at: datetime
    updated_at: datetime
    complaint_count: int = Field(ge=0)
    mention_count: int = Field(ge=0)
    added_complaint_ids: list[str] = Field(default_factory=list)
    added_mention_ids: list[str] = Field(default_factory=list)
    drill: bool = False
    actor: str | None = Field(None, description="who registered or assigned (null otherwise)")
    record_version: int | None = Field(
        None, ge=1, description="on registered / work_group_assigned: the record's version")


@register("notification.failed", 1)
class NotificationFailed(EventPayload):
    delivery_id: str
    complaint_id: str | None = None
    case_id: str | None = None
    incident_id: str | None = None
    recipient: str
    channel: str
    attempts: int
    error: str
    failed_at: datetime


@register("notification.acknowledged", 1)
class NotificationAcknowledged(EventPayload):
    """A recipient confirmed a delivery; triage uses it to stop skip-level escalation."""

    delivery_id: str
    cause_event_id: str
    cause_type: str
    complaint_id: str | None = None
    case_id: str | None = None
    incident_id: str | None = None
    escalation_id: str | None = None
    recipient: str
    roles: list[str] = Field(default_factory=list)
    acknowledged_at: datetime
    acknowledged_by: str | None = Field(
        None, description="who acknowledged: the recipient (by token) or the operator who "
        "recorded it; null from older producers (read as the recipient)")


@register("opinion.alert", 1)
class OpinionAlert(EventPayload):
    """A rise of negative mentions (舆情预警), with the evidence that raised it."""

    alert_id: str
    warning_level: int = Field(ge=1, le=4, description="1 most severe")
    scope: Literal["overall", "topic"]
    topic_id: str | None = None
    summary: str
    window_start: datetime
    window_end: datetime
    negative_count: int
    baseline: float
    negative_share: float = Field(ge=0.0, le=1.0)
    top_mention_ids: list[str] = Field(default_factory=list)
    raised_at: datetime
    drill: bool = Field(False, description="raised by drill mentions alone (their own scope)")


@register("mention.linked", 1)
class MentionLinked(EventPayload):
    """A mention matched open complaints (same target, similar text; never personal data)."""

    mention_id: str
    complaint_ids: list[str] = Field(min_length=1)
    similarity: float = Field(ge=0.0, le=1.0)
    source: str
    url: str | None = None
    risk_level: int | None = Field(None, ge=1, le=4)
    linked_at: datetime


@register("statement.approved", 1)
class StatementApproved(EventPayload):
    """The unified external statement (统一口径), approved and ready to distribute."""

    statement_id: str
    incident_id: str | None = None
    title: str
    text: str
    language: Literal["zh", "en"] = "zh"
    approved_by: str
    approved_at: datetime
    drafted_by: str | None = Field(None, description="null from older producers")
    drafted_at: datetime | None = Field(None, description="null from older producers")
    drill: bool = Field(False, description="for a drill's incident (应急演练): kept out of "
                        "real reports; false from older producers")


@register("complaint.purged", 1)
class ComplaintPurged(EventPayload):
    """Intake purged an archived complaint's personal data once its retention period ran
    out (the sealed fields and text are gone, so nothing can decrypt them again)."""

    complaint_id: str
    archived_at: datetime
    purged_at: datetime


@register("rectification.overdue", 1)
class RectificationOverdue(EventPayload):
    """A corrective action (整改措施) passed its deadline unverified; published once."""

    rectification_id: str
    case_id: str | None = None
    complaint_id: str | None = None
    incident_id: str | None = None
    action: str = Field(description="the corrective action, masked")
    owner: str = Field(description="who answers for it (a roster member's id or name)")
    department: str | None = None
    due_at: datetime
    overdue_at: datetime
    drill: bool = False


@register("statement.distributed", 1)
class StatementDistributed(EventPayload):
    """The approved statement's deliveries to every liaison are recorded (统一口径 sent)."""

    statement_id: str
    incident_id: str | None = None
    approved_at: datetime
    distribute_by: datetime = Field(description="approval + 0.5 h")
    distributed_at: datetime
    recipients: int = Field(ge=0, description="deliveries recorded")
    drill: bool = Field(False, description="for a drill's incident (应急演练); false from "
                        "older producers")


@register("brief.requested", 1)
class BriefRequested(EventPayload):
    """Notify claimed a scheduled brief (日报 daily, 周报 weekly) for a period, once across
    its replicas; triage and sentiment answer with their figures for it (brief.figures)."""

    brief_id: str
    kind: Literal["daily", "weekly"]
    period_start: datetime
    period_end: datetime
    requested_at: datetime


@register("brief.figures", 1)
class BriefFigures(EventPayload):
    """A service's figures for a requested brief: named numbers and short lists, no
    personal data (the same aggregates as its report)."""

    brief_id: str
    source: Literal["triage", "sentiment"]
    figures: dict[str, int | float | str | list[str] | None]
