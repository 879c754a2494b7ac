"""Reading complaints, as the caller may see them."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.models import AtRiskComplainant, Complaint, SealedText
from intake_svc.schemas import AtRiskOut, ComplainantOut, ComplaintOut, TargetIn
from shared.caller import Caller
from shared.paging import page_of
from shared.privacy import FieldCipher, mask_email, mask_id_number, mask_name, mask_phone


async def get_complaint(
    session: AsyncSession, cipher: FieldCipher, complaint_id: str, caller: Caller
) -> ComplaintOut | None:
    """The complaint as this caller may see it; None when absent or not theirs."""
    reveal = caller.has("pii:read")
    row = await session.get(Complaint, complaint_id)
    sealed = await session.get(SealedText, complaint_id) if row and reveal else None
    if row is None or not _may_read(caller, row):
        return None
    subject, content = row.subject, row.content
    if sealed is not None:
        context = row.id.encode()
        subject = cipher.decrypt(sealed.subject, context=context)
        content = cipher.decrypt(sealed.content, context=context) or content
    return ComplaintOut(
        id=row.id, status="received", channel=row.channel, subject=subject,
        content=content, external_ref=row.external_ref, received_at=row.received_at,
        occurred_at=row.occurred_at, location=row.location,
        target=TargetIn(department=row.target_department, product=row.target_product),
        people_count=row.people_count, media_involved=row.media_involved, drill=row.drill,
        complainant=_complainant(cipher, row, reveal=reveal), purged_at=row.purged_at,
    )


async def find_by_external_ref(session: AsyncSession, caller: Caller,
                               external_ref: str) -> list[Complaint]:
    """The caller's own complaint filed under its `external_ref` (at most one: the pair is
    unique); another owner's reference is never found, whatever the caller's scopes."""
    if caller.owner is None:
        return []
    rows = await session.scalars(select(Complaint).where(
        Complaint.submitted_by == caller.owner, Complaint.external_ref == external_ref))
    return list(rows.all())


def _may_read(caller: Caller, row: Complaint) -> bool:
    """Operators read every complaint; a hotline key reads only its own."""
    own = caller.owner is not None and caller.owner == row.submitted_by
    return own or caller.has("cases:read")


def _complainant(cipher: FieldCipher, row: Complaint, *, reveal: bool) -> ComplainantOut | None:
    context = row.id.encode()
    sealed = (row.complainant_name, row.complainant_phone, row.complainant_email,
              row.complainant_id_number)
    if not any(sealed):
        return None
    name, phone, email, id_number = (cipher.decrypt(v, context=context) for v in sealed)
    if reveal:
        return ComplainantOut(name=name, phone=phone, email=email, id_number=id_number)
    return ComplainantOut(name=mask_name(name), phone=mask_phone(phone), email=mask_email(email),
                          id_number=mask_id_number(id_number))


def at_risk_out(row: AtRiskComplainant) -> AtRiskOut:
    contacts: list[Literal["phone", "email"]] = []
    if row.phone_key:
        contacts.append("phone")
    if row.email_key:
        contacts.append("email")
    return AtRiskOut(id=row.id, contacts=contacts, note=row.note,
                     registered_by=row.registered_by, registered_at=row.registered_at,
                     used_by=row.used_by, used_at=row.used_at)


async def pre_registrations(session: AsyncSession, limit: int, cursor: str | None
                            ) -> tuple[list[AtRiskOut], str | None]:
    """A page of pre-registrations, newest first, and the next page's cursor."""
    rows, next_cursor = await page_of(session, select(AtRiskComplainant),
                                      AtRiskComplainant.registered_at, AtRiskComplainant.id,
                                      limit, cursor)
    return [at_risk_out(row) for row in rows], next_cursor
