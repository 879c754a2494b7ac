"""Retention on triage's side: intake purged an archived complaint's personal data
(`complaint.purged`). The case stays (statistics count it), but what triage holds of the
complainant's words goes masked for good: the registration, the answers, the case-file
records and the timeline's notes, so no later dossier can show a number typed into them.
The case notes when it happened; its dossier says `personal_data: purged`."""

from __future__ import annotations

from sqlalchemy import select

from shared.events.schemas import ComplaintPurged
from shared.pii_text import mask_optional, mask_text
from shared.runtime import Unit
from triage_svc import actions
from triage_svc.dossier import mask_tree
from triage_svc.models import (
    AnswerVersion,
    Case,
    CaseRecord,
    Rectification,
    Registration,
    TimelineEntry,
)


async def on_purged(unit: Unit, purged: ComplaintPurged) -> Case | None:
    """Mask the case's free text and note the purge; a repeated event changes nothing."""
    case = await unit.session.scalar(select(Case).where(
        Case.complaint_id == purged.complaint_id).with_for_update())
    if case is None or case.personal_data_purged_at is not None:
        return case
    case.personal_data_purged_at = purged.purged_at
    case.answer = mask_optional(case.answer)
    registration = await unit.session.get(Registration, case.id)
    if registration is not None:
        registration.subject = mask_optional(registration.subject)
        registration.content = mask_text(registration.content)
    for answer in await unit.session.scalars(select(AnswerVersion).where(
            AnswerVersion.case_id == case.id)):
        answer.text = mask_text(answer.text)
    for record in await unit.session.scalars(select(CaseRecord).where(
            CaseRecord.case_id == case.id)):
        record.body = mask_tree(record.body)
    for entry in await unit.session.scalars(select(TimelineEntry).where(
            TimelineEntry.case_id == case.id)):
        entry.reason, entry.detail = mask_optional(entry.reason), mask_tree(entry.detail)
    for rectification in await unit.session.scalars(select(Rectification).where(
            Rectification.case_id == case.id)):
        rectification.action = mask_text(rectification.action)
        rectification.verify_note = mask_optional(rectification.verify_note)
    await actions.record(unit, case, "intake", "personal_data_purged", at=purged.purged_at,
                         detail={"archived_at": purged.archived_at.isoformat()},
                         reason="retention period passed since the archive")
    return case
