from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.inbox import inbox_table
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData()


class Case(Base):
    __tablename__ = "triage_cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(32), unique=True)
    response_level: Mapped[int] = mapped_column(Integer, index=True)
    category: Mapped[str] = mapped_column(String(30))
    level_reasons: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), index=True)
    department: Mapped[str | None] = mapped_column(String(200))
    drill: Mapped[bool] = mapped_column(default=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledge_by: Mapped[datetime] = mapped_column(UtcDateTime)
    first_contact_by: Mapped[datetime] = mapped_column(UtcDateTime)
    report_by: Mapped[datetime] = mapped_column(UtcDateTime)
    resolve_by: Mapped[datetime] = mapped_column(UtcDateTime)
    incident_id: Mapped[str | None] = mapped_column(String(32), index=True)
    rules_version: Mapped[int] = mapped_column(Integer)
    # History inputs: a keyed hash of the complainant (never their data) and the product.
    complainant_key: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(200))
    # How it reached us (hotline, email, onsite ...): the board filters and shows it.
    channel: Mapped[str | None] = mapped_column(String(20))
    # Workflow: who handles it (首问责任制), what the complainant was told, how satisfied.
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    # The filing caller's own reference, carried on every event for its callbacks.
    external_ref: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(100))
    # The latest answer; every version is kept in triage_answers (an appeal needs them).
    answer: Mapped[str | None] = mapped_column(String(5000))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    # Escalation: the highest chain step reached (0: still with the receiving department).
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    # A complaint that reached the press (媒体投诉): filed by the media or linked to a mention.
    media: Mapped[bool] = mapped_column(default=False)
    # Group detection: head-count, and a fingerprint of the text (hashes, not the text).
    people_count: Mapped[int] = mapped_column(Integer, default=1)
    fingerprint: Mapped[list[int]] = mapped_column(JSON, default=list)
    # 首问责任制: who owns the case (the first person to acknowledge it) until a transfer.
    owner: Mapped[str | None] = mapped_column(String(100))
    # The handling plan's deadline (处理时限): a clock like the others (escalation "plan").
    plan_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # 归档: a closed case made read-only.
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # 重复投诉: why this complaint counts as a repeated one (None: it does not); closing
    # then needs its cause analysed ("对重复投诉,分析原因,制定预防措施").
    repeat_reason: Mapped[str | None] = mapped_column(String(500))
    # Retention: when intake purged the complainant's personal data (complaint.purged).
    personal_data_purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When it became a media complaint (媒体投诉): the media clocks ([[media.steps]]) run
    # from here.
    media_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_triage_cases_complainant_opened", "complainant_key", "opened_at"),
        Index("ix_triage_cases_target_opened", "department", "product", "opened_at"),
        Index("ix_triage_cases_level_opened", "response_level", "opened_at", "id"),
        # Reports over a period (triage_svc/reports.py), real cases or drills.
        Index("ix_triage_cases_drill_opened", "drill", "opened_at"),
    )


class Escalation(Base):
    """A durable timer: one chain step of one case, fired at most once.

    pending → fired (case.escalated published; `ack_due` set until someone acknowledges) or
    cancelled (the clock's work was done in time). Replicas claim due rows under the case's
    row lock and re-check `status`, so each step fires exactly once.
    """

    __tablename__ = "triage_escalations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("triage_cases.id"))
    step: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(100))
    clock: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(String(20))
    skipped_role: Mapped[str | None] = mapped_column(String(100))
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ack_due: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        # One timer per step and clock: the plan's deadline may reach a step a level clock
        # also reaches.
        UniqueConstraint("case_id", "step", "clock", name="uq_triage_escalations_case_step"),
        Index("ix_triage_escalations_status_due", "status", "due_at"),
        Index("ix_triage_escalations_ack_due", "ack_due"),
    )


class Incident(Base):
    """A group complaint (群体投诉) or a public-opinion event (舆情事件)."""

    __tablename__ = "triage_incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    response_level: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    summary: Mapped[str] = mapped_column(String(500))
    # group: the target ("department|product"); public_opinion: the alert's scope/topic.
    key: Mapped[str] = mapped_column(String(300))
    people_count: Mapped[int] = mapped_column(Integer, default=0)
    drill: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    close_reason: Mapped[str | None] = mapped_column(String(2000))

    __table_args__ = (Index("ix_triage_incidents_kind_key", "kind", "key", "state"),)


class IncidentMember(Base):
    __tablename__ = "triage_incident_members"

    incident_id: Mapped[str] = mapped_column(ForeignKey("triage_incidents.id"),
                                             primary_key=True)
    member_kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # complaint, mention
    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_triage_incident_members_member", "member_kind", "member_id"),)


class TimelineEntry(Base):
    """Every change to a case: who, when, what, why."""

    __tablename__ = "triage_timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("triage_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(2000))


class AnswerVersion(Base):
    """One answer to the complainant (反馈), never overwritten: a new answer is a new
    version, so an appeal (复议) can read what was said before."""

    __tablename__ = "triage_answers"

    case_id: Mapped[str] = mapped_column(ForeignKey("triage_cases.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(String(5000))
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


metadata = Base.metadata
outbox = outbox_table(metadata, "triage")
inbox = inbox_table(metadata, "triage")


class MediaLink(Base):
    """A media mention sentiment matched to a complaint (mention.linked); kept until the
    complaint's case exists when the link arrives first, and as the case's media record."""

    __tablename__ = "triage_media_links"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mention_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(30))
    url: Mapped[str | None] = mapped_column(String(2000))
    similarity: Mapped[float]
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied: Mapped[bool] = mapped_column(default=False, index=True)


class Registration(Base):
    """The registration form (投诉登记表) as triage received it: what, where, when, about
    whom, how many people. The complainant's identity stays sealed in intake."""

    __tablename__ = "triage_registrations"

    case_id: Mapped[str] = mapped_column(ForeignKey("triage_cases.id"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    subject: Mapped[str | None] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    location: Mapped[str | None] = mapped_column(String(500))
    target_department: Mapped[str | None] = mapped_column(String(200))
    target_product: Mapped[str | None] = mapped_column(String(200))
    people_count: Mapped[int] = mapped_column(Integer, default=1)


class CaseRecord(Base):
    """One entry of the case file, never overwritten: a handling plan (处理方案), an
    investigation (调查核实), a handling opinion (处理意见), a transfer (转交) or the reason a
    follow-up was impossible. A later one of a kind is a new version."""

    __tablename__ = "triage_case_records"

    case_id: Mapped[str] = mapped_column(ForeignKey("triage_cases.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Rectification(Base):
    """A corrective action (整改措施: "对存在的问题,制定整改措施,确保问题得到有效解决") of a
    case or an incident: what, who, by when, then verified with a note. Missed unverified,
    it is reminded once (`reminded_at`, set under the row's lock with the event)."""

    __tablename__ = "triage_rectifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("triage_cases.id"), index=True)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("triage_incidents.id"),
                                                    index=True)
    action: Mapped[str] = mapped_column(String(2000))
    owner: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(100))
    verify_note: Mapped[str | None] = mapped_column(String(2000))
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # The reminder check: unverified, unreminded, due.
        Index("ix_triage_rectifications_open_due", "verified_at", "reminded_at", "due_at"),
    )


class Accountability(Base):
    """An accountability record (追责问责: "对相关责任人员进行追责"), for the leadership only:
    which department (and person), what was found, what measure was taken."""

    __tablename__ = "triage_accountability"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("triage_cases.id"), index=True)
    department: Mapped[str] = mapped_column(String(200))
    person: Mapped[str | None] = mapped_column(String(100))
    finding: Mapped[str] = mapped_column(String(5000))
    measure: Mapped[str] = mapped_column(String(2000))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
class IncidentRecord(Base):
    """One entry of an incident's file, never overwritten: a group complaint's registration
    (核心诉求、发生地点、当前情绪状态、推选代表) or its work group (应急小组). A later one of a
    kind is a new version; together they are the incident's record of who did what."""

    __tablename__ = "triage_incident_records"

    incident_id: Mapped[str] = mapped_column(ForeignKey("triage_incidents.id"),
                                             primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
class IncidentSummary(Base):
    """The post-event summary (总结评估) of an incident: drafted from the record, edited
    (each edit a version in triage_incident_summary_versions), approved by a leader, then
    archived with the incident. Approval freezes the drafted figures in `snapshot`, so later
    events never change what the leader signed."""

    __tablename__ = "triage_incident_summaries"

    incident_id: Mapped[str] = mapped_column(ForeignKey("triage_incidents.id"),
                                             primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # approved, archived
    version: Mapped[int] = mapped_column(Integer, default=0)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    archived_by: Mapped[str | None] = mapped_column(String(100))


class IncidentSummaryVersion(Base):
    """One edit of a summary's free text, never overwritten."""

    __tablename__ = "triage_incident_summary_versions"

    incident_id: Mapped[str] = mapped_column(ForeignKey("triage_incidents.id"),
                                             primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    assessment: Mapped[str] = mapped_column(Text)
    lessons: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class NotificationSeen(Base):
    """A delivery as triage learned of it from notify's events (notification.sent,
    notification.acknowledged): triage never reads notify's tables. Either may come first."""

    __tablename__ = "triage_notifications_seen"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    complaint_id: Mapped[str | None] = mapped_column(String(32), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(32), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(20))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))


class StatementSeen(Base):
    """An approved unified statement (统一口径), from notify's statement.approved."""

    __tablename__ = "triage_statements_seen"

    statement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[datetime] = mapped_column(UtcDateTime)
