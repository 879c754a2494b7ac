"""What a case needs before it closes (归档资料包括:投诉登记表、调查报告、处理意见、反馈记录,
plans-complaint-and-media-a.txt, 5. 投诉归档): its registration, an investigation, a handling
opinion, an answer, and a follow-up (回访) or a recorded reason why none was possible; and
for a repeated complaint its cause analysis ("对重复投诉,分析原因,制定预防措施",
plans-complaint-and-media-b.txt)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from triage_svc.errors import IncompleteRecord
from triage_svc.models import AnswerVersion, Case, CaseRecord, TimelineEntry

# The record's parts, in the order the plans list them.
PARTS = ("registration", "investigation", "opinion", "answer", "follow_up", "cause_analysis")


async def missing_parts(session: AsyncSession, case: Case) -> list[str]:
    await session.flush()
    actions = set((await session.scalars(select(TimelineEntry.action).where(
        TimelineEntry.case_id == case.id, TimelineEntry.action.in_(
            ("triaged", "followed_up"))))).all())
    kinds = set((await session.scalars(select(CaseRecord.kind).where(
        CaseRecord.case_id == case.id))).all())
    answered = await session.scalar(select(AnswerVersion.version).where(
        AnswerVersion.case_id == case.id).limit(1))
    have = {
        "registration": "triaged" in actions,
        "investigation": "investigation" in kinds,
        "opinion": "opinion" in kinds,
        "answer": answered is not None or case.answer is not None,
        "follow_up": "followed_up" in actions or "no_follow_up" in kinds,
        "cause_analysis": case.repeat_reason is None or "cause_analysis" in kinds,
    }
    return [part for part in PARTS if not have[part]]


async def require_complete(session: AsyncSession, case: Case) -> None:
    missing = await missing_parts(session, case)
    if missing:
        raise IncompleteRecord(missing)
