from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from shared import patterns
from shared.paging import NEXT_CURSOR_DESCRIPTION
from shared.schemas import RequestModel
from triage_svc.workflow import State


class TimelineOut(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    reason: str | None


class EscalationOut(BaseModel):
    """One step of the case's escalation ladder (逐级上报): who is told, when, who answered."""

    step: int
    role: str
    clock: str
    due_at: datetime
    status: str = Field(description="pending, fired or cancelled")
    reason: str | None = None
    skipped_role: str | None = None
    fired_at: datetime | None = None
    ack_due: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


class MediaLinkOut(BaseModel):
    """A media mention matched to the case's complaint (媒体投诉)."""

    mention_id: str
    source: str
    url: str | None = None
    similarity: float
    linked_at: datetime


class AnswerOut(BaseModel):
    """One version of the answer to the complainant (反馈); versions are never overwritten."""

    version: int = Field(description="1 for the first answer, then 2, 3 ...")
    text: str
    author: str
    at: datetime


class FollowUpOut(BaseModel):
    """The latest follow-up call (回访)."""

    satisfaction: int = Field(description="1 to 5")
    at: datetime


class AppealOut(BaseModel):
    """复议: whether the complainant disputed an answer, and whether it was answered again."""

    state: Literal["none", "pending", "answered"] = Field(
        description="none: never appealed; pending: appealed and not answered since; "
        "answered: a new answer version followed the last appeal")
    count: int = Field(0, description="how many appeals")
    reason: str | None = Field(None, description="the last appeal's reason")
    at: datetime | None = Field(None, description="when the last appeal was recorded")


class RecordOut(BaseModel):
    """One version of a case-file record; `body` by `kind`: plan {method, owner, due_at},
    investigation {findings, root_cause, evidence}, opinion {text}, transfer
    {from_department, from_owner, to_department, to_owner, out_of_jurisdiction},
    no_follow_up {reason}, cause_analysis {cause, prevention} (重复投诉的原因分析),
    interview {at, place, reporter, outlet, answers, topic}."""

    kind: Literal["plan", "investigation", "opinion", "transfer", "no_follow_up",
                  "cause_analysis", "interview"]
    version: int
    body: dict[str, Any]
    author: str
    at: datetime


class RectificationOut(BaseModel):
    """A corrective action (整改措施) of a case or an incident."""

    id: str
    case_id: str | None = None
    incident_id: str | None = None
    action: str
    owner: str
    due_at: datetime
    created_by: str
    created_at: datetime
    status: Literal["open", "overdue", "verified"] = Field(
        description="open; overdue: past due_at unverified; verified")
    verified_at: datetime | None = None
    verified_by: str | None = None
    verify_note: str | None = None
    reminded_at: datetime | None = Field(None, description="when the overdue reminder went out")


class AccountabilityOut(BaseModel):
    """An accountability record (追责问责), shown to the leadership only."""

    id: str
    case_id: str
    department: str
    person: str | None = None
    finding: str
    measure: str
    recorded_by: str
    recorded_at: datetime


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
    media: bool = Field(False, description="a media complaint (媒体投诉)")
    people_count: int = 1
    escalation_step: int = Field(0, description="highest escalation chain step reached")
    overdue: bool = Field(False, description="a clock ran out with its work undone")
    assignee: str | None = None
    answer: str | None = None
    satisfaction: int | None = None
    channel: str | None = Field(None, description="how the complaint reached us")
    owner: str | None = Field(None, description=(
        "首问责任制: who owns the case (the first person to acknowledge it) until a transfer"))
    plan_due_at: datetime | None = Field(
        None, description="the handling plan's deadline (处理时限), once there is a plan")
    archived_at: datetime | None = Field(None, description="归档: read-only from then on")
    media_at: datetime | None = Field(
        None, description="when it became a media complaint (媒体投诉); its media clocks run "
        "from then")
    timeline: list[TimelineOut] | None = None
    answers: list[AnswerOut] | None = Field(
        None, description="every answer version, oldest first, on the single-case view")
    escalations: list[EscalationOut] | None = Field(
        None, description="the escalation ladder, on the single-case view")
    mentions: list[MediaLinkOut] | None = Field(
        None, description="linked media mentions, on the single-case view")
    records: list[RecordOut] | None = Field(
        None, description="the case file's records (plans, investigations, opinions, "
        "transfers, follow-up impossible), oldest first, on the single-case view")
    missing: list[str] | None = Field(
        None, description="what the record still lacks before the case may close "
        "(registration, investigation, opinion, answer, follow_up, and cause_analysis for "
        "a repeated complaint), on the single-case view")
    repeat_reason: str | None = Field(
        None, description="重复投诉: why this counts as a repeated complaint (null: it does "
        "not); its cause analysis is needed before it may close")
    personal_data_purged_at: datetime | None = Field(
        None, description="retention: when intake purged the complainant's personal data")
    rectifications: list[RectificationOut] | None = Field(
        None, description="corrective actions (整改措施), on the single-case view")


class ComplaintCaseOut(BaseModel):
    """The case as the complaint's filer (a hotline) may see it: status, level, deadlines,
    every answer, the follow-up and the appeal; no timeline, no internal people."""

    id: str
    response_level: int
    category: str
    level_reasons: list[str]
    state: str
    deadlines: dict[str, datetime]
    incident_id: str | None
    answers: list[AnswerOut]
    follow_up: FollowUpOut | None = None
    appeal: AppealOut


class CaseList(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = Field(
        None, description="pass as `cursor` for the next page; null on the last page")
    total: int | None = Field(None, description="how many cases match, when `total=true`")


class _Action(RequestModel):
    """A case action's body."""


class AcknowledgeIn(_Action):
    note: str | None = Field(None, max_length=2000)


class AssignIn(_Action):
    assignee: str = Field(min_length=1, max_length=100, pattern=patterns.NOT_BLANK)
    department: str | None = Field(None, max_length=200)


class LevelIn(_Action):
    response_level: int = Field(ge=1, le=4)
    reason: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK)


class StateIn(_Action):
    state: State
    reason: str | None = Field(None, max_length=2000)


class AnswerIn(_Action):
    text: str = Field(min_length=1, max_length=5000, pattern=patterns.NOT_BLANK)


class FollowUpIn(_Action):
    satisfaction: int = Field(ge=1, le=5)
    note: str | None = Field(None, max_length=2000)


class RevealIn(_Action):
    reason: str | None = Field(None, max_length=500)


class AppealIn(_Action):
    reason: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK)


class IncidentRecordOut(BaseModel):
    """One version of an incident's record; `body` by `kind`: registration {core_demands,
    place, emotional_state, note, representatives}, work_group {leader, deputy, teams}."""

    kind: Literal["registration", "work_group"]
    version: int
    body: dict[str, Any]
    author: str
    at: datetime


class IncidentOut(BaseModel):
    id: str
    kind: str
    response_level: int
    state: str
    opened_at: datetime
    updated_at: datetime
    summary: str
    people_count: int
    drill: bool
    complaint_ids: list[str]
    mention_ids: list[str]
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    registration: IncidentRecordOut | None = Field(
        None, description="a group complaint's latest registration (核心诉求、发生地点、当前情绪"
        "状态、推选代表)")
    work_group: IncidentRecordOut | None = Field(
        None, description="a group complaint's latest work group (应急小组)")
    records: list[IncidentRecordOut] | None = Field(
        None, description="every registration and work-group version, oldest first, on the "
        "single-incident view")


class IncidentList(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)
    total: int | None = Field(None, description="how many incidents match, when `total=true`")


class LevelCounts(BaseModel):
    open: dict[str, int] = Field(description="open cases (not closed) per response level")
    overdue: dict[str, int] = Field(description="open cases past a clock, per level")
    escalated: dict[str, int] = Field(description="open cases escalated, per level")


class CaseStats(BaseModel):
    """Counts for dashboards and reports; drills are counted only when asked for."""

    drill: bool
    by_level: LevelCounts
    by_state: dict[str, int]
    by_category: dict[str, int]
    open_incidents: dict[str, int]


class PlanIn(_Action):
    """处理方案: 处理方式、处理时限、责任人."""

    method: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK,
                        description="处理方式: how the case will be handled")
    owner: str = Field(min_length=1, max_length=100, pattern=patterns.NOT_BLANK,
                       description="责任人: who answers for the handling")
    due_at: AwareDatetime = Field(description="处理时限: in the future, with its time zone")


class Evidence(_Action):
    name: str = Field(min_length=1, max_length=200, pattern=patterns.NOT_BLANK)
    url: str = Field(max_length=2000, pattern=patterns.HTTP_URL,
                     description="where the evidence is kept (http or https only)")


class InvestigationIn(_Action):
    """调查核实: what was found, why it happened, and the evidence."""

    findings: str = Field(min_length=1, max_length=10000, pattern=patterns.NOT_BLANK)
    root_cause: str = Field(min_length=1, max_length=5000, pattern=patterns.NOT_BLANK)
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)


class OpinionIn(_Action):
    """处理意见."""

    text: str = Field(min_length=1, max_length=5000, pattern=patterns.NOT_BLANK)


class TransferIn(_Action):
    """首问责任制: an explicit handover to another department (and owner)."""

    to_department: str = Field(min_length=1, max_length=200, pattern=patterns.NOT_BLANK)
    to_owner: str | None = Field(None, min_length=1, max_length=100,
                                 pattern=patterns.NOT_BLANK)
    reason: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK)
    out_of_jurisdiction: bool = Field(
        False, description="不属于管辖范围: `to_department` is the outside unit (相关单位) it goes "
        "to; the case keeps its department and owner, and the filing hotline is called back")


class NoFollowUpIn(_Action):
    reason: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK,
                        description="why no follow-up call was possible")


class CloseIn(_Action):
    reason: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK)


class CauseAnalysisIn(_Action):
    """对重复投诉,分析原因,制定预防措施 (plans-complaint-and-media-b.txt)."""

    cause: str = Field(min_length=1, max_length=5000, pattern=patterns.NOT_BLANK,
                       description="why the complainant had to come back")
    prevention: str = Field(min_length=1, max_length=5000, pattern=patterns.NOT_BLANK,
                            description="what prevents it happening again")


class RectificationIn(_Action):
    """整改措施: what is to be corrected, who answers for it, by when."""

    action: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK)
    owner: str = Field(min_length=1, max_length=100, pattern=patterns.NOT_BLANK,
                       description="a roster member's id or name: the overdue reminder "
                       "reaches them")
    due_at: AwareDatetime = Field(description="in the future, with its time zone")


class VerifyIn(_Action):
    note: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK,
                      description="how the correction was checked")


class AccountabilityIn(_Action):
    """追责问责: the department (and person) held to account, the finding, the measure."""

    department: str = Field(min_length=1, max_length=200, pattern=patterns.NOT_BLANK)
    person: str | None = Field(None, min_length=1, max_length=100,
                               pattern=patterns.NOT_BLANK)
    finding: str = Field(min_length=1, max_length=5000, pattern=patterns.NOT_BLANK)
    measure: str = Field(min_length=1, max_length=2000, pattern=patterns.NOT_BLANK)


class RegistrationOut(BaseModel):
    """投诉登记表 as triage received it; the complainant's identity stays in intake."""

    received_at: datetime
    channel: str | None = None
    subject: str | None = None
    content: str
    occurred_at: datetime | None = None
    location: str | None = None
    target_department: str | None = None
    target_product: str | None = None
    people_count: int = 1


class FollowUpEntry(BaseModel):
    """One follow-up call (回访)."""

    at: datetime
    actor: str
    satisfaction: int | None = None
    note: str | None = None


class DossierOut(BaseModel):
    """归档资料: 投诉登记表、调查报告、处理意见、反馈记录, with the timeline, escalations,
    acknowledgements, linked mentions and incident."""

    generated_at: datetime
    personal_data: Literal["shown", "masked", "purged"] = Field(
        description="masked: phone numbers, e-mail addresses and ID numbers in free text are "
        "masked (the caller lacks pii:read); purged: the retention period ran out, intake "
        "purged the complainant's data and free text is masked for everyone")
    case: CaseOut
    registration: RegistrationOut | None
    plans: list[RecordOut]
    investigations: list[RecordOut]
    opinions: list[RecordOut]
    answers: list[AnswerOut]
    follow_ups: list[FollowUpEntry]
    follow_up_impossible: list[RecordOut]
    transfers: list[RecordOut]
    timeline: list[TimelineOut]
    escalations: list[EscalationOut]
    acknowledgements: list[TimelineOut] = Field(
        description="acknowledgements of the case and of its notifications")
    mentions: list[MediaLinkOut]
    incident: IncidentOut | None
    notifications: str = Field(description="where the notification deliveries are")
    cause_analyses: list[RecordOut] = Field(
        default_factory=list, description="重复投诉的原因分析, when it is a repeated complaint")
    rectifications: list[RectificationOut] = Field(
        default_factory=list, description="整改措施 of the case and of its incident")
    accountability: list[AccountabilityOut] | None = Field(
        None, description="追责问责 records; null unless the caller holds accountability")
    interviews: list[RecordOut] = Field(
        default_factory=list, description="采访记录 of a media complaint, oldest first")


class InterviewIn(_Action):
    """采访记录: "采访的时间和地点…采访记者的单位、部门、姓名…采访的议题…答复内容"."""

    at: AwareDatetime = Field(description="when the interview took place (not in the future)")
    place: str = Field(min_length=1, max_length=500, pattern=patterns.NOT_BLANK)
    reporter: str = Field(min_length=1, max_length=200, pattern=patterns.NOT_BLANK,
                          description="the reporter (记者)")
    outlet: str = Field(min_length=1, max_length=200, pattern=patterns.NOT_BLANK,
                        description="the reporter's outlet (单位、部门)")
    answers: str = Field(min_length=1, max_length=10000, pattern=patterns.NOT_BLANK,
                         description="the answers given (答复内容)")
    topic: str | None = Field(None, max_length=2000, description="采访的议题")


EmotionalState = Literal["calm", "anxious", "agitated", "hostile"]
ComplaintId = Annotated[str, Field(min_length=1, max_length=64, pattern=patterns.NOT_BLANK)]
PersonName = Annotated[str, Field(min_length=1, max_length=100, pattern=patterns.NOT_BLANK)]


class GroupRegistrationIn(_Action):
    """群体投诉登记: "投诉人数、核心诉求、发生地点、当前情绪状态" and "2-3名代表"."""

    core_demands: str = Field(min_length=1, max_length=5000, pattern=patterns.NOT_BLANK,
                              description="核心诉求")
    place: str = Field(min_length=1, max_length=500, pattern=patterns.NOT_BLANK,
                       description="发生地点")
    emotional_state: EmotionalState = Field(
        description="当前情绪状态: calm 平稳, anxious 焦虑, agitated 激动, hostile 对立")
    note: str | None = Field(None, max_length=2000, description="how the state shows")
    representatives: list[ComplaintId] = Field(
        min_length=2, max_length=3, description="推选代表: 2 or 3 complaint ids, one per "
        "representative's own complaint (their identity stays in intake); a complaint not in "
        "the incident yet joins it")


class TeamIn(_Action):
    lead: str = Field(min_length=1, max_length=100, pattern=patterns.NOT_BLANK,
                      description="the team's 负责人")
    members: list[PersonName] = Field(default_factory=list, max_length=50)


class WorkGroupIn(_Action):
    """应急小组: a leader, a deputy, and the plan's 专项工作组, each with its lead."""

    leader: str = Field(min_length=1, max_length=100, pattern=patterns.NOT_BLANK,
                        description="组长")
    deputy: str | None = Field(None, max_length=100, description="副组长")
    on_site: TeamIn | None = Field(None, description="现场处置组")
    negotiation: TeamIn | None = Field(None, description="沟通谈判组")
    assessment: TeamIn | None = Field(None, description="问题研判组")
    information: TeamIn | None = Field(None, description="信息发布组")
    logistics: TeamIn | None = Field(None, description="后勤保障组")
