"""The dossier of a case (归档资料包括:投诉登记表、调查报告、处理意见、反馈记录,
plans-complaint-and-media-a.txt, 5. 投诉归档): registration, plans, investigation, opinion,
answers, follow-up with satisfaction, transfers, timeline, escalations, acknowledgements,
linked mentions and incident; as JSON, or laid out for print by `shared.pdf`.

Personal data: the complainant's identity never reaches triage (intake keeps it sealed),
but free text (the complaint, findings, answers, notes) may hold phone numbers, e-mail
addresses or ID numbers. Without `pii:read` those are masked everywhere in the dossier.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from shared import pdf
from shared.pii_text import mask_text
from triage_svc.models import Case, Registration
from triage_svc.queries import accountability_of, full_case, incident_view, rectifications_of
from triage_svc.schemas import DossierOut, FollowUpEntry, RecordOut, RegistrationOut

NOTIFICATIONS = ("notification deliveries are kept by notify (GET /api/v1/notifications"
                 "?case_id=…); triage receives only their acknowledgements, listed here")
# Keys whose values are identifiers or times, never free text.
_NOT_TEXT = re.compile(r"(^|_)(id|ids|at|by|url|kind|state|action|clock|status|role)$")


def mask_tree(value: Any, key: str = "") -> Any:
    """Every free-text string of a JSON tree, masked."""
    if isinstance(value, dict):
        return {k: mask_tree(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_tree(v, key) for v in value]
    if isinstance(value, str) and not _NOT_TEXT.search(key):
        return mask_text(value)
    return value


async def build(session: AsyncSession, case_id: str, *, pii: bool,
                accountability: bool = False) -> DossierOut | None:
    """The case's dossier, None if there is no such case. Its accountability records only
    for the leadership (`accountability`); once the retention period purged the
    complainant's data, free text is masked for everyone."""
    case = await session.get(Case, case_id)
    if case is None:
        return None
    purged = case.personal_data_purged_at is not None
    pii = pii and not purged
    full = await full_case(session, case)
    timeline, records = full.timeline or [], full.records or []
    registration = await session.get(Registration, case.id)
    incident = await incident_view(session, case.incident_id) if case.incident_id else None
    by_kind = {kind: [r for r in records if r.kind == kind] for kind in (
        "plan", "investigation", "opinion", "transfer", "no_follow_up", "cause_analysis",
        "interview")}
    rectifications = full.rectifications or []
    if case.incident_id:
        rectifications += await rectifications_of(session, incident_id=case.incident_id)
    dossier = DossierOut(
        generated_at=datetime.now(UTC),
        personal_data="purged" if purged else "shown" if pii else "masked",
        case=full.model_copy(update={"timeline": None, "answers": None, "escalations": None,
                                     "mentions": None, "records": None,
                                     "rectifications": None}),
        registration=None if registration is None else RegistrationOut.model_validate(
            registration, from_attributes=True).model_copy(update={"channel": case.channel}),
        plans=by_kind["plan"], investigations=by_kind["investigation"],
        opinions=by_kind["opinion"], answers=full.answers or [],
        follow_ups=[FollowUpEntry(at=t.at, actor=t.actor, note=t.reason,
                                  satisfaction=t.detail.get("satisfaction"))
                    for t in timeline if t.action == "followed_up"],
        follow_up_impossible=by_kind["no_follow_up"], transfers=by_kind["transfer"],
        timeline=timeline, escalations=full.escalations or [],
        acknowledgements=[t for t in timeline
                          if t.action in ("notification_acknowledged", "acknowledged")],
        mentions=full.mentions or [], incident=incident, notifications=NOTIFICATIONS,
        cause_analyses=by_kind["cause_analysis"], rectifications=rectifications,
        accountability=await accountability_of(session, case.id) if accountability else None,
        interviews=by_kind["interview"])
    if pii:
        return dossier
    masked = DossierOut.model_validate(mask_tree(dossier.model_dump(mode="json")))
    # A corrective action's `action` is its text (mask_tree leaves `action` keys alone).
    return masked.model_copy(update={"rectifications": [
        r.model_copy(update={"action": mask_text(r.action)}) for r in masked.rectifications]})


def render_pdf(dossier: DossierOut, timezone: str = "Asia/Shanghai") -> bytes:
    """The dossier laid out for print (A4, CJK font embedded)."""
    zone = ZoneInfo(timezone)

    def at(value: datetime | str | None) -> str:
        if value is None:
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    case, reg = dossier.case, dossier.registration
    sections = [
        pdf.Section("案件概况 Case", rows=[
            ("案件编号", case.id), ("投诉编号", case.complaint_id),
            ("响应级别", f"{case.response_level} 级"), ("类别", case.category),
            ("状态", case.state), ("部门", case.department or "—"),
            ("首问责任人", case.owner or "—"), ("承办人", case.assignee or "—"),
            ("立案时间", at(case.opened_at)), ("归档时间", at(case.archived_at)),
            ("定级理由", "；".join(case.level_reasons))]),
        pdf.Section("投诉登记表 Registration", rows=[] if reg is None else [
            ("受理时间", at(reg.received_at)), ("渠道", reg.channel or "—"),
            ("标题", reg.subject or "—"), ("内容", reg.content),
            ("发生时间", at(reg.occurred_at)), ("地点", reg.location or "—"),
            ("投诉对象", " ".join(filter(None, [reg.target_department, reg.target_product]))
             or "—"), ("人数", str(reg.people_count))], empty="（无登记记录）"),
        _records("处理方案 Handling plan", dossier.plans, lambda b: [
            ("处理方式", b["method"]), ("责任人", b["owner"]), ("处理时限", at(b["due_at"]))], at),
        _records("调查报告 Investigation", dossier.investigations, lambda b: [
            ("调查结果", b["findings"]), ("原因", b["root_cause"]),
            *[("证据", f"{e['name']} {e['url']}") for e in b.get("evidence", [])]], at),
        _records("处理意见 Opinion", dossier.opinions, lambda b: [("意见", b["text"])], at),
        pdf.Section("反馈记录 Answers", table=pdf.Table(
            ["版本", "时间", "答复人", "内容"],
            [[f"v{a.version}", at(a.at), a.author, a.text] for a in dossier.answers],
            widths=[1, 3, 2, 8]), empty="（无）"),
        pdf.Section("回访 Follow-up", table=pdf.Table(
            ["时间", "回访人", "满意度", "备注"],
            [[at(f.at), f.actor, str(f.satisfaction or "—"), f.note or ""]
             for f in dossier.follow_ups]
            + [[at(r.at), r.author, "无法回访", r.body["reason"]]
               for r in dossier.follow_up_impossible], widths=[3, 2, 2, 7]), empty="（无）"),
        _records("转交 Transfers", dossier.transfers, lambda b: [
            ("转出", f"{b.get('from_department') or '—'} / {b.get('from_owner') or '—'}"),
            ("转入", f"{b['to_department']} / {b.get('to_owner') or '—'}"),
            *([("管辖", "不属于管辖范围，转交相关单位")] if b.get("out_of_jurisdiction") else [])],
            at),
        _records("采访记录 Interviews", dossier.interviews, lambda b: [
            ("时间地点", f"{at(b['at'])} {b['place']}"),
            ("记者", f"{b['outlet']} {b['reporter']}"), ("议题", b.get("topic") or "—"),
            ("答复内容", b["answers"])], at),
        _records("重复投诉原因分析 Cause analysis", dossier.cause_analyses, lambda b: [
            ("原因", b["cause"]), ("预防措施", b["prevention"])], at),
        pdf.Section("整改措施 Rectifications", table=pdf.Table(
            ["措施", "责任人", "期限", "状态", "验证"],
            [[r.action, r.owner, at(r.due_at), r.status,
              f"{r.verified_by or ''} {r.verify_note or ''}".strip()]
             for r in dossier.rectifications], widths=[5, 2, 3, 2, 4]), empty="（无）"),
        *([] if dossier.accountability is None else [pdf.Section(
            "追责问责 Accountability", table=pdf.Table(
                ["部门", "责任人", "调查结论", "处理措施"],
                [[a.department, a.person or "—", a.finding, a.measure]
                 for a in dossier.accountability], widths=[3, 2, 6, 5]), empty="（无）")]),
        pdf.Section("升级记录 Escalations", table=pdf.Table(
            ["步骤", "角色", "时钟", "到期", "状态", "确认人"],
            [[str(e.step), e.role, e.clock, at(e.due_at), e.status, e.acknowledged_by or ""]
             for e in dossier.escalations], widths=[1, 3, 2, 3, 2, 3]), empty="（无）"),
        pdf.Section("关联舆情与事件 Mentions and incident", rows=[
            *[("舆情", f"{m.source} {m.url or m.mention_id}") for m in dossier.mentions],
            *([("事件", f"{dossier.incident.kind} {dossier.incident.id} "
                        f"{dossier.incident.summary}")] if dossier.incident else [])],
            empty="（无）"),
        pdf.Section("时间线 Timeline", table=pdf.Table(
            ["时间", "操作人", "操作", "说明"],
            [[at(t.at), t.actor, t.action, t.reason or ""] for t in dossier.timeline],
            widths=[3, 2, 3, 7])),
        pdf.Section("通知 Notifications", paragraphs=[dossier.notifications]),
    ]
    privacy = {"shown": "个人信息已显示", "masked": "个人信息已隐藏",
               "purged": "个人信息已按保存期限清除"}[dossier.personal_data]
    return pdf.render(f"投诉案件档案 {case.id}", sections,
                      subtitle=f"生成于 {at(dossier.generated_at)} · {privacy}",
                      footer=f"Beacon 案件档案 {case.id}")


def _records(heading: str, records: list[RecordOut],
             rows: Callable[[dict[str, Any]], list[tuple[str, str]]],
             at: Callable[[datetime], str]) -> pdf.Section:
    found: list[tuple[str, str]] = []
    for record in records:
        found.append(("版本", f"v{record.version} · {record.author} · {at(record.at)}"))
        found.extend(rows(record.body))
    return pdf.Section(heading, rows=found, empty="（无）")
