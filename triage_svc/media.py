"""Media complaints (媒体投诉, plan-media-complaint-duties-and-timelines.txt): when a case
becomes one, its media clocks ([[media.steps]] in rules.toml) go on the same durable
escalation timers as the level's, and the full account's step carries the
媒体投诉登记表 (`MediaForm`), which notify renders and e-mails to general affairs.

A case becomes a media complaint once: filed by or involving the media, a rule that
`marks_media` fired (a journalist asking, a complainant saying they will go to the media:
"客户打算或已向媒体报告,但尚未引起媒体报道的相关投诉"), a mention linked to it, or an
interview (采访) recorded on it. The caller holds the case's row lock.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.schemas import CaseState, MediaForm, MediaInterview, MediaMention
from shared.pii_text import mask_optional, mask_text
from triage_svc import clocks, timers
from triage_svc.models import Case, CaseRecord, Escalation, MediaLink, Registration
from triage_svc.rules import MediaStep, Rules


def mark(session: AsyncSession, case: Case, rules: Rules, at: datetime) -> bool:
    """Make the case a media complaint from `at` and start its media clocks; False when it
    already was one (its clocks run from the first time)."""
    case.media = True
    if case.media_at is not None:
        return False
    case.media_at = at
    for step in rules.media.steps:
        if step.after is None:
            _add_timer(session, case, step, clocks.due(at, step.within, rules.calendar))
    return True


async def schedule_after(session: AsyncSession, case: Case, fired: Escalation, rules: Rules,
                         now: datetime) -> None:
    """A media clock fired: start the clocks that run from it ("如果不能在综合部权限范围内
    解决,则必须在1小时内…召集成立…公司级媒体投诉处理小组": an hour from general affairs'
    receiving the full account), once (a skip-level timer on the same clock starts none)."""
    following = [step for step in rules.media.steps if step.after == fired.clock]
    if not following:
        return
    await session.flush()
    existing = set((await session.scalars(select(Escalation.clock).where(
        Escalation.case_id == case.id))).all())
    for step in following:
        if step.clock not in existing:
            _add_timer(session, case, step, clocks.due(now, step.within, rules.calendar))


def _add_timer(session: AsyncSession, case: Case, step: MediaStep, due_at: datetime) -> None:
    timers.add(session, Escalation(
        id=uuid.uuid4().hex, case_id=case.id, step=step.step, role=step.role,
        clock=step.clock, status="pending", due_at=due_at))


async def form_if_due(session: AsyncSession, case: Case, timer: Escalation,
                      rules: Rules) -> MediaForm | None:
    """The 媒体投诉登记表 when the firing timer is the media step that carries it."""
    step = rules.media.step(timer.clock)
    if step is None or not step.form:
        return None
    return await form(session, case)


async def form(session: AsyncSession, case: Case) -> MediaForm:
    """投诉内容、接收部门、接收人员…: the registration, the linked mentions and the
    interviews, free text masked."""
    registration = await session.get(Registration, case.id)
    links = (await session.scalars(select(MediaLink).where(
        MediaLink.complaint_id == case.complaint_id).order_by(MediaLink.linked_at))).all()
    interviews = (await session.scalars(select(CaseRecord).where(
        CaseRecord.case_id == case.id, CaseRecord.kind == "interview",
    ).order_by(CaseRecord.version))).all()
    content = registration.content if registration else ""
    return MediaForm(
        received_at=registration.received_at if registration else case.opened_at,
        media_since=case.media_at or case.opened_at, channel=case.channel,
        subject=mask_optional(registration.subject if registration else None),
        content=mask_text(content),
        location=mask_optional(registration.location if registration else None),
        occurred_at=registration.occurred_at if registration else None,
        people_count=case.people_count, category=case.category,
        receiving_department=case.department, receiver=case.owner or case.assignee,
        state=cast(CaseState, case.state),
        mentions=[MediaMention(source=link.source, url=link.url) for link in links],
        interviews=[MediaInterview.model_validate(
            {**r.body, "answers": mask_text(str(r.body.get("answers", "")))})
            for r in interviews])
