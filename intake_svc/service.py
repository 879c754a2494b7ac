"""Accepting complaints, in the caller's unit (which commits). No HTTP here: callers pass
plain values; reads are in queries.py."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from intake_svc import at_risk
from intake_svc.models import Complaint, IdempotencyKey, SealedText
from intake_svc.schemas import ComplaintIn, TargetIn
from shared.events.schemas import ComplaintReceived, ComplaintTarget
from shared.pii_text import mask_optional, mask_text
from shared.privacy import FieldCipher
from shared.runtime import Unit


class IdempotencyConflict(Exception):
    """The key (or external_ref) was used before with a different body."""


@dataclass(frozen=True)
class Accepted:
    complaint_id: str
    created: bool


def request_hash(complaint: ComplaintIn) -> str:
    return hashlib.sha256(complaint.model_dump_json().encode()).hexdigest()


async def _replay(
    unit: Unit, owner: str, key: str | None, complaint: ComplaintIn, digest: str
) -> Accepted | None:
    """The earlier answer for this key or external_ref, if any."""
    if key is not None:
        seen = await unit.session.get(IdempotencyKey, (owner, key))
        if seen is not None:
            if seen.request_hash != digest:
                raise IdempotencyConflict("Idempotency-Key was used with a different body")
            return Accepted(seen.complaint_id, created=False)
    if complaint.external_ref is not None:
        earlier = await unit.session.scalar(
            select(Complaint).where(
                Complaint.submitted_by == owner, Complaint.external_ref == complaint.external_ref
            )
        )
        if earlier is not None:
            if earlier.request_hash != digest:
                raise IdempotencyConflict("external_ref was used with a different body")
            return Accepted(earlier.id, created=False)
    return None


async def accept_complaint(
    unit: Unit,
    cipher: FieldCipher,
    complaint: ComplaintIn,
    *,
    owner: str,
    idempotency_key: str | None,
) -> Accepted:
    """Add the complaint and its `ComplaintReceived` event to the unit.

    Idempotent on (owner, Idempotency-Key) and on (owner, external_ref); a concurrent
    duplicate loses the insert race (its savepoint is undone) and is answered from the
    winner's row.
    """
    digest = request_hash(complaint)
    try:
        async with _attempt(unit):
            earlier = await _replay(unit, owner, idempotency_key, complaint, digest)
            if earlier is not None:
                return earlier
            row = _new_row(cipher, complaint, owner, digest)
            unit.session.add(row)
            _seal_text(unit, cipher, row, complaint)
            if idempotency_key is not None:
                unit.session.add(IdempotencyKey(
                    owner=owner, key=idempotency_key, request_hash=digest,
                    complaint_id=row.id, created_at=row.received_at,
                ))
            await unit.session.flush()
            note = await _at_risk(unit, cipher, row, complaint)
            await unit.emit(received_event(row, note), subject=row.id)
            return Accepted(row.id, created=True)
    except IntegrityError:
        earlier = await _replay(unit, owner, idempotency_key, complaint, digest)
        if earlier is None:
            raise
        return earlier


async def accept_batch(
    unit: Unit, cipher: FieldCipher, items: list[ComplaintIn], *, owner: str
) -> list[Accepted | IdempotencyConflict]:
    """Accept many in the unit; `external_ref` makes each item idempotent.

    If a concurrent request inserted one of the same refs first, the batch's savepoint is
    undone and each item is tried on its own, so each gets its own answer.
    """
    try:
        async with _attempt(unit):
            return await _accept_all(unit, cipher, items, owner)
    except IntegrityError:
        results: list[Accepted | IdempotencyConflict] = []
        for item in items:
            try:
                results.append(await accept_complaint(unit, cipher, item, owner=owner,
                                                      idempotency_key=None))
            except IdempotencyConflict as exc:
                results.append(exc)
        return results


@contextlib.asynccontextmanager
async def _attempt(unit: Unit) -> AsyncIterator[None]:
    """A savepoint: an insert that loses a race undoes its rows and events alone, and the
    unit goes on (to answer from the winner's row). Flushed inside, so the race shows here."""
    emitted = len(unit.emitted)
    try:
        async with unit.session.begin_nested():
            yield
            await unit.session.flush()
    except IntegrityError:
        del unit.emitted[emitted:]
        raise


async def _accept_all(
    unit: Unit, cipher: FieldCipher, items: list[ComplaintIn], owner: str
) -> list[Accepted | IdempotencyConflict]:
    refs = [item.external_ref for item in items if item.external_ref]
    seen: dict[str, Complaint] = {}
    if refs:
        earlier = await unit.session.scalars(select(Complaint).where(
            Complaint.submitted_by == owner, Complaint.external_ref.in_(refs)))
        seen = {row.external_ref: row for row in earlier if row.external_ref}
    results: list[Accepted | IdempotencyConflict] = []
    for item in items:
        digest = request_hash(item)
        before = seen.get(item.external_ref) if item.external_ref else None
        if before is not None:
            results.append(Accepted(before.id, created=False) if before.request_hash == digest
                           else IdempotencyConflict("external_ref was used with a different body"))
            continue
        row = _new_row(cipher, item, owner, digest)
        unit.session.add(row)
        _seal_text(unit, cipher, row, item)
        if item.external_ref:
            seen[item.external_ref] = row
        note = await _at_risk(unit, cipher, row, item)
        await unit.emit(received_event(row, note), subject=row.id)
        results.append(Accepted(row.id, created=True))
    return results


def _new_row(cipher: FieldCipher, complaint: ComplaintIn, owner: str, digest: str) -> Complaint:
    person = complaint.complainant
    target = complaint.target or TargetIn()
    complaint_id = uuid.uuid4().hex
    context = complaint_id.encode()  # binds each sealed field to its complaint
    return Complaint(
        id=complaint_id,
        submitted_by=owner,
        external_ref=complaint.external_ref,
        request_hash=digest,
        channel=complaint.channel,
        # Personal data typed into the text is masked here, so the row, the event and the
        # outbox never hold it; the text as typed is sealed beside it (_seal_text).
        subject=mask_optional(complaint.subject),
        content=mask_text(complaint.content),
        received_at=datetime.now(UTC),
        occurred_at=complaint.occurred_at,
        location=complaint.location,
        target_department=target.department,
        target_product=target.product,
        people_count=complaint.people_count,
        media_involved=complaint.media_involved,
        drill=complaint.drill,
        attachments=[a.model_dump() for a in complaint.attachments],
        complainant_name=cipher.encrypt(person.name if person else None, context=context),
        complainant_phone=cipher.encrypt(person.phone if person else None, context=context),
        complainant_email=cipher.encrypt(str(person.email) if person and person.email else None,
                                         context=context),
        complainant_id_number=cipher.encrypt(person.id_number if person else None,
                                             context=context),
        complainant_key=cipher.fingerprint(person.phone, str(person.email or "")) if person
        else None,
    )


def _seal_text(unit: Unit, cipher: FieldCipher, row: Complaint, complaint: ComplaintIn) -> None:
    """Keep the text as typed, sealed, when masking changed it (pii:read callers see it)."""
    if row.content == complaint.content and row.subject == complaint.subject:
        return
    context = row.id.encode()
    unit.session.add(SealedText(
        complaint_id=row.id, content=cipher.encrypt(complaint.content, context=context),
        subject=cipher.encrypt(complaint.subject, context=context)))


async def _at_risk(unit: Unit, cipher: FieldCipher, row: Complaint,
                   complaint: ComplaintIn) -> str | None:
    """The note of the complainant's pre-registration (提前报备), used up by this one."""
    person = complaint.complainant
    if person is None:
        return None
    return await at_risk.use_pre_registration(unit, cipher, row.id, person.phone,
                                              person.email)


def received_event(row: Complaint, at_risk_note: str | None = None) -> ComplaintReceived:
    """What triage needs, and no complainant data: history matches on `complainant_key`."""
    return ComplaintReceived(
        complaint_id=row.id,
        channel=row.channel,
        content=row.content,
        subject=row.subject,
        received_at=row.received_at,
        occurred_at=row.occurred_at,
        location=row.location,
        target=ComplaintTarget(department=row.target_department, product=row.target_product),
        people_count=row.people_count,
        media_involved=row.media_involved,
        drill=row.drill,
        complainant_key=row.complainant_key,
        submitted_by=row.submitted_by,
        external_ref=row.external_ref,
        at_risk=at_risk_note,
    )


async def purge_idempotency_keys(unit: Unit, ttl: timedelta) -> int:
    result = await unit.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < datetime.now(UTC) - ttl)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
