"""The case file (案件档案) beyond level and answer: the handling plan, the investigation,
the handling opinion, transfers, a follow-up that was impossible, and the archive.

Each entry is a `CaseRecord` version (never overwritten), goes on the timeline and
publishes `case.updated` (`actions.record`). The caller holds the case's row lock
(`actions.writable_case`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from shared.runtime import Unit
from triage_svc import actions, escalation, media, rectification
from triage_svc.errors import Conflict
from triage_svc.models import Case, CaseRecord
from triage_svc.rules import Rules


async def add_record(unit: Unit, case: Case, kind: str, body: dict[str, Any],
                     author: str, at: datetime) -> int:
    """A new version of the case's `kind` record; returns its version."""
    last = await unit.session.scalar(select(func.max(CaseRecord.version)).where(
        CaseRecord.case_id == case.id, CaseRecord.kind == kind))
    version = (last or 0) + 1
    unit.session.add(CaseRecord(case_id=case.id, kind=kind, version=version, body=body,
                                author=author, at=at))
    return version


async def plan(unit: Unit, case: Case, actor: str, method: str, owner: str,
               due_at: datetime, rules: Rules) -> None:
    """处理方案 "应包括:处理方式、处理时限、责任人" (plans-complaint-and-media-a.txt). A later
    plan is a new version; its deadline is a clock like the level's: missed with the
    case unanswered, it escalates (`escalation.schedule_plan`)."""
    now = datetime.now(UTC)
    body = {"method": method, "owner": owner, "due_at": due_at.isoformat()}
    version = await add_record(unit, case, "plan", body, actor, now)
    case.plan_by = due_at
    timer = escalation.schedule_plan(unit.session, case, rules,
                                     await escalation.timers_of(unit.session, case.id))
    await actions.record(unit, case, actor, "planned", at=now, detail={
        **body, "version": version, "escalates_to": timer.role})


async def investigate(unit: Unit, case: Case, actor: str, findings: str, root_cause: str,
                      evidence: list[dict[str, str]]) -> None:
    """调查核实: "对投诉事件进行调查核实,查明事实真相" (plans-complaint-and-media-a.txt)."""
    now = datetime.now(UTC)
    body = {"findings": findings, "root_cause": root_cause, "evidence": evidence}
    version = await add_record(unit, case, "investigation", body, actor, now)
    await actions.record(unit, case, actor, "investigated", at=now,
                         detail={"version": version, "evidence": len(evidence)})


async def give_opinion(unit: Unit, case: Case, actor: str, text: str) -> None:
    """处理意见: "根据调查结果,提出处理意见,报投诉处理办公室" (plans-complaint-and-media-a.txt)."""
    now = datetime.now(UTC)
    version = await add_record(unit, case, "opinion", {"text": text}, actor, now)
    await actions.record(unit, case, actor, "opinion_given", at=now,
                         detail={"version": version, "text": text})


async def transfer(unit: Unit, case: Case, actor: str, to_department: str,
                   to_owner: str | None, reason: str, *,
                   out_of_jurisdiction: bool = False) -> None:
    """首问责任制: the owner hands the case over explicitly ("转告相应部门"); the new
    department (and owner, when named) takes it. The clocks run on: a transfer changes no
    deadline and cancels no timer.

    Out of jurisdiction ("对不属于我单位管辖范围的举报投诉,应告知举报投诉人转交相关单位处理",
    plans-complaint-and-media-a.txt): `to_department` is the outside unit; the case stays
    with its department and owner, who follow it up, and `case.updated` says
    `out_of_jurisdiction`, so the filing hotline's callback tells the complainant where it
    went."""
    now = datetime.now(UTC)
    body = {"from_department": case.department, "from_owner": case.owner,
            "to_department": to_department, "to_owner": to_owner,
            "out_of_jurisdiction": out_of_jurisdiction}
    version = await add_record(unit, case, "transfer", body, actor, now)
    if not out_of_jurisdiction:
        case.department, case.owner = to_department, to_owner
    await actions.record(unit, case, actor, "transferred", reason=reason, at=now,
                         detail={**body, "version": version})


async def follow_up_impossible(unit: Unit, case: Case, actor: str, reason: str) -> None:
    """Why no follow-up call (回访) could be made, which the record then accepts instead."""
    if case.state not in escalation.ANSWERED:
        raise Conflict(f"a {case.state} case has no answer to follow up yet")
    now = datetime.now(UTC)
    version = await add_record(unit, case, "no_follow_up", {"reason": reason}, actor, now)
    await actions.record(unit, case, actor, "follow_up_impossible", reason=reason, at=now,
                         detail={"version": version})


async def analyse_cause(unit: Unit, case: Case, actor: str, cause: str,
                        prevention: str) -> None:
    """对重复投诉,分析原因,制定预防措施 (plans-complaint-and-media-b.txt): a repeated
    complaint closes only with it (`closing.missing_parts`)."""
    now = datetime.now(UTC)
    version = await add_record(unit, case, "cause_analysis",
                               {"cause": cause, "prevention": prevention}, actor, now)
    await actions.record(unit, case, actor, "cause_analysed", at=now,
                         detail={"version": version, "cause": cause,
                                 "prevention": prevention})


async def archive(unit: Unit, case: Case, actor: str) -> None:
    """归档: "投诉处理结束后,投诉处理办公室将相关资料归档" (plans-complaint-and-media-a.txt):
    only a closed case, which is read-only from then on."""
    if case.state != "closed":
        raise Conflict(f"only a closed case can be archived; this one is {case.state}")
    # 整改措施 "确保问题得到有效解决": the case is filed once its corrections were checked.
    pending = await rectification.unverified(unit, case)
    if pending:
        raise Conflict(f"rectifications not verified yet: {', '.join(r.id for r in pending)}")
    now = datetime.now(UTC)
    case.archived_at = now
    await actions.record(unit, case, actor, "archived", at=now, detail={})


async def interview(unit: Unit, case: Case, actor: str, body: dict[str, Any],
                    rules: Rules) -> None:
    """采访记录: "记录内容应包括:采访的时间和地点、接待人员姓名、职务;采访记者的单位、部门、姓名、
    联系方式;采访的议题、消息来源、请示情况、答复内容等,以备将来与新闻媒体核实"
    (plans-complaint-and-media-a.txt, 5.11). A reporter asking makes the case a media complaint
    ("媒体人员对公司…的投诉", plan-media-complaint-duties-and-timelines.txt), whose clocks
    start now if they had not."""
    now = datetime.now(UTC)
    version = await add_record(unit, case, "interview", body, actor, now)
    became = media.mark(unit.session, case, rules, now)
    await actions.record(unit, case, actor, "interviewed", at=now, detail={
        "version": version, "outlet": body["outlet"], "reporter": body["reporter"],
        "at": body["at"], "media_clocks_started": became})
