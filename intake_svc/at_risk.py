"""Pre-registration of complainants at risk of escalating: "针对容易出现问题及投诉的业主进行
安抚,对易造成升级投诉的业主要提前报备公司" (plans-complaint-and-media-a.txt, 4.1.1).

Only intake holds the fingerprint secret, so only intake can hash a contact: the
pre-registration keeps the keyed hash (`FieldCipher.fingerprint`) of the phone and of the
e-mail given, never the contact. A complaint whose phone or e-mail hashes to an unused
pre-registration uses it up and carries its note on `complaint.received` (`at_risk`);
triage raises that complaint's level by one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import bindparam, or_, select, update

from intake_svc.models import AtRiskComplainant, Complaint
from shared.pii_text import mask_text
from shared.privacy import FieldCipher
from shared.runtime import Unit


class NoSuchComplaint(LookupError):
    """The complaint named does not exist (404)."""


class NoContact(ValueError):
    """Nothing to hash: no phone or e-mail given, or the complaint named holds none."""


async def pre_register(unit: Unit, cipher: FieldCipher, *, phone: str | None,
                       email: str | None, complaint_id: str | None, note: str,
                       actor: str) -> AtRiskComplainant:
    """The pre-registration of the contact given, or of the complainant of `complaint_id`
    (their sealed phone and e-mail, unsealed here only to be hashed); the note is stored
    masked (it may name a number)."""
    if complaint_id is not None:
        complaint = await unit.session.get(Complaint, complaint_id)
        if complaint is None:
            raise NoSuchComplaint(f"no complaint {complaint_id}")
        context = complaint.id.encode()
        phone = cipher.decrypt(complaint.complainant_phone, context=context)
        email = cipher.decrypt(complaint.complainant_email, context=context)
        if not (phone or email):
            raise NoContact("the complaint holds no phone or email (never given, or purged "
                            "under the retention period)")
    if not (phone or email):
        raise NoContact("give the complainant's phone or email, or a complaint_id")
    row = AtRiskComplainant(id=uuid.uuid4().hex, phone_key=cipher.fingerprint(phone),
                            email_key=cipher.fingerprint(email), note=mask_text(note),
                            registered_by=actor, registered_at=datetime.now(UTC))
    unit.session.add(row)
    return row


# One statement for every complaint: a key that is None matches nothing (`= NULL` is never
# true), so the same compiled statement serves a phone, an e-mail or both.
_CANDIDATES = (
    select(AtRiskComplainant.id, AtRiskComplainant.note)
    .where(or_(AtRiskComplainant.phone_key == bindparam("phone_key"),
               AtRiskComplainant.email_key == bindparam("email_key")),
           AtRiskComplainant.used_by.is_(None))
    .order_by(AtRiskComplainant.registered_at, AtRiskComplainant.id))
_CLAIM = (
    update(AtRiskComplainant)
    .where(AtRiskComplainant.id == bindparam("candidate"), AtRiskComplainant.used_by.is_(None))
    .values(used_by=bindparam("complaint_id"), used_at=bindparam("now"))
    .execution_options(synchronize_session=False))


async def use_pre_registration(unit: Unit, cipher: FieldCipher, complaint_id: str,
                               phone: str | None, email: str | None) -> str | None:
    """The note of the oldest unused pre-registration matching the complaint's phone or
    e-mail, now used up by it; None when there is none. The conditional update claims it,
    so two complaints arriving together cannot both use one."""
    phone_key, email_key = cipher.fingerprint(phone), cipher.fingerprint(email)
    if phone_key is None and email_key is None:
        return None
    candidates = (await unit.session.execute(
        _CANDIDATES, {"phone_key": phone_key, "email_key": email_key})).all()
    for candidate, note in candidates:
        claimed = await unit.session.execute(
            _CLAIM, {"candidate": candidate, "complaint_id": complaint_id,
                     "now": datetime.now(UTC)})
        if claimed.rowcount:  # type: ignore[attr-defined]
            return str(note)
    return None
