"""Retention: an archived complaint's personal data is purged once the retention period has
passed since triage archived its case (归档 "备查": kept for looking up, then let go).

Intake owns the personal data, triage owns the case; they meet on events only. Intake learns
of the archive from `case.updated` (archived), keeps when it happened, and a periodic job
purges what is due: the sealed complainant fields and the sealed text as typed are deleted
(crypto-shredding without a key per row: the ciphertext itself is gone, so no key of the
ring can ever open it again), the fingerprint and the attachments' links go too, and
`complaint.purged` tells triage. What remains is what statistics read: channel, times,
target, head-count, the masked text, and triage's own case.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from intake_svc.models import ArchivedComplaint, Complaint, SealedText
from shared.events.schemas import CaseUpdated, ComplaintPurged
from shared.runtime import Unit


async def remember_archive(unit: Unit, update: CaseUpdated, retention: timedelta) -> None:
    """The case of a complaint was archived: its personal data is due after `retention`.
    A repeated event keeps the first archive time."""
    if update.action != "archived":
        return
    if await unit.session.get(ArchivedComplaint, update.complaint_id) is not None:
        return
    unit.session.add(ArchivedComplaint(complaint_id=update.complaint_id, archived_at=update.at,
                                       purge_after=update.at + retention))


async def purge_due(unit: Unit, now: datetime | None = None, batch: int = 500) -> int:
    """Purge every archived complaint whose retention has passed; how many were purged.
    Replicas share the work: rows are claimed FOR UPDATE SKIP LOCKED and re-checked."""
    now = now or datetime.now(UTC)
    due = (await unit.session.scalars(
        select(ArchivedComplaint).where(ArchivedComplaint.purged_at.is_(None),
                                        ArchivedComplaint.purge_after <= now)
        .order_by(ArchivedComplaint.purge_after).limit(batch)
        .with_for_update(skip_locked=True))).all()
    for archived in due:
        await _purge(unit, archived, now)
    return len(due)


async def _purge(unit: Unit, archived: ArchivedComplaint, now: datetime) -> None:
    archived.purged_at = now
    complaint = await unit.session.get(Complaint, archived.complaint_id)
    if complaint is not None:
        complaint.complainant_name = complaint.complainant_phone = None
        complaint.complainant_email = complaint.complainant_id_number = None
        complaint.complainant_key = None
        complaint.attachments = []
        complaint.purged_at = now
    await unit.session.execute(delete(SealedText).where(
        SealedText.complaint_id == archived.complaint_id))
    await unit.emit(ComplaintPurged(complaint_id=archived.complaint_id,
                                    archived_at=archived.archived_at, purged_at=now),
                    subject=archived.complaint_id)
