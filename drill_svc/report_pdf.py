"""The drill's evaluation report laid out for print (shared/pdf.py: A4, CJK font embedded)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from drill_svc.schemas import DrillReport, Tally
from shared import pdf

VERDICTS = {"met": "达成 met", "missed": "未达成 missed", "pending": "进行中 pending"}


def _score(tally: Tally) -> str:
    score = "—" if tally.score is None else f"{tally.score:g}"
    return f"{score}（达成 {tally.met}，未达成 {tally.missed}，进行中 {tally.pending}）"


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:g} min"


def render_pdf(report: DrillReport, timezone: str = "Asia/Shanghai") -> bytes:
    zone = ZoneInfo(timezone)

    def at(value: datetime | None) -> str:
        return "—" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    run, speed = report.run, report.response_speed
    coordination, statement = report.coordination, report.statement
    sections = [
        pdf.Section("演练概况 Drill", rows=[
            ("演练编号", run.id), ("方案", run.scenario), ("状态", run.state),
            ("时间倍速", f"× {run.speed:g}"), ("开始", at(run.started_at)),
            ("结束", at(run.ended_at)), ("发起人", run.started_by),
            ("演练时长", f"{report.drill_time_min:g} min（演练时间）"),
            ("总体得分", "—" if report.overall is None else f"{report.overall:g}")]),
        pdf.Section("响应速度 Response speed", rows=[("得分", _score(speed)), *[
            (f"角色 {role}", _score(tally)) for role, tally in speed.by_role.items()]],
            table=pdf.Table(
                ["投诉", "级别", "确认 用时/时限", "首次联系 用时/时限", "答复 用时/时限"],
                [[c.ref, str(c.response_level or "—"), *[
                    f"{_minutes(m.took_min)} / {_minutes(m.allowed_min)} "
                    f"{VERDICTS[m.verdict]}" for m in c.measures]] for c in speed.cases],
                widths=[3, 1, 4, 4, 4])),
        pdf.Section("处理效率 Handling efficiency", rows=[
            ("时限内答复", _score(report.handling_efficiency))]),
        pdf.Section("协同配合 Coordination", rows=[
            ("得分", _score(coordination)),
            ("逐级上报", f"{coordination.escalations} 次，最高第 {coordination.highest_step} 级"),
            ("跨级上报", str(coordination.skip_levels)),
            ("通知确认", f"{coordination.acknowledgements}（" + "，".join(
                f"{role} {n}" for role, n in coordination.acknowledgements_by_role.items())
             + "）"),
            ("事件", "，".join(coordination.incidents) or "—")]),
        pdf.Section("统一口径 Statement", rows=[
            ("得分", _score(statement)), ("起草", f"{statement.drafted_by or '—'} "
                                                f"{at(statement.drafted_at)}"),
            ("批准", f"{statement.approved_by or '—'} {at(statement.approved_at)}"),
            ("下发", at(statement.distributed_at)),
            ("0.5 小时内下发", {True: "是", False: "否", None: "—"}[
                statement.distributed_within_half_hour])]),
        pdf.Section("预期与结果 Expectations", table=pdf.Table(
            ["角色", "预期", "结果", "依据"],
            [[e.role, f"{e.do} {e.complaint or ''}".strip(), VERDICTS[e.verdict], e.evidence]
             for e in report.expectations], widths=[2, 3, 2, 7]), empty="（方案未列预期）"),
        pdf.Section("问题清单 Findings", table=pdf.Table(
            ["角色", "未达成的预期", "依据"],
            [[f.role, f.expectation, f.evidence] for f in report.findings],
            widths=[2, 4, 8]), empty="（全部达成）"),
        pdf.Section("过程记录 Timeline", paragraphs=report.timeline, empty="（无）"),
    ]
    return pdf.render(f"应急演练评估报告 {run.title}", sections,
                      subtitle=f"DRILL 演练 · {run.id}", footer=f"Beacon drill {run.id}")
