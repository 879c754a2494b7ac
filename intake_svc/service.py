"""Accepting complaints, in the caller's unit (which commits). No HTTP here: callers pass
plain values; reads are in queries.py."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from intake_svc import at_risk
from intake_svc.models import Complaint, IdempotencyKey, metadata
from intake_svc.schemas import ComplaintIn, TargetIn
from shared.events.schemas import ComplaintReceived, ComplaintTarget
from shared.pii_text import mask_optional, mask_text
from shared.privacy import FieldCipher
from shared.runtime import Unit

COMPLAINTS = metadata.tables["intake_complaints"]
SEALED_TEXT = metadata.tables["intake_sealed_text"]
IDEMPOTENCY_KEYS = metadata.tables["intake_idempotency_keys"]


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
    winner's row. A complaint with neither has nothing to replay or race on (its id is
    new), so it needs no look-up and no savepoint: its rows are inserted straight away.
    """
    digest = request_hash(complaint)
    if idempotency_key is None and complaint.external_ref is None:
        return await _create(unit, cipher, complaint, owner, digest, None)
    try:
        async with _attempt(unit):
            earlier = await _replay(unit, owner, idempotency_key, complaint, digest)
            if earlier is not None:
                return earlier
            return await _create(unit, cipher, complaint, owner, digest, idempotency_key)
    except IntegrityError:
        earlier = await _replay(unit, owner, idempotency_key, complaint, digest)
        if earlier is None:
            raise
        return earlier


async def _create(unit: Unit, cipher: FieldCipher, complaint: ComplaintIn, owner: str,
                  digest: str, idempotency_key: str | None) -> Accepted:
    """The complaint's rows (Core inserts: no ORM unit-of-work for rows nothing reads back
    in this unit) and its event."""
    row = _new_row(cipher, complaint, owner, digest)
    await unit.session.execute(insert(COMPLAINTS), row)
    sealed = _sealed_text(cipher, row, complaint)
    if sealed is not None:
        await unit.session.execute(insert(SEALED_TEXT), sealed)
    if idempotency_key is not None:
        await unit.session.execute(insert(IDEMPOTENCY_KEYS), {
            "owner": owner, "key": idempotency_key, "request_hash": digest,
            "complaint_id": row["id"], "created_at": row["received_at"]})
    note = await _at_risk(unit, cipher, row["id"], complaint)
    await unit.emit(received_event(row, note), subject=row["id"])
    return Accepted(row["id"], created=True)


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
    """One look-up of the refs already taken, then every new row in one statement per table."""
    refs = [item.external_ref for item in items if item.external_ref]
    seen: dict[str, tuple[str, str]] = {}  # external_ref -> (complaint id, request hash)
    if refs:
        earlier = await unit.session.execute(
            select(Complaint.external_ref, Complaint.id, Complaint.request_hash).where(
                Complaint.submitted_by == owner, Complaint.external_ref.in_(refs)))
        seen = {ref: (cid, digest) for ref, cid, digest in earlier.all() if ref}
    results: list[Accepted | IdempotencyConflict] = []
    rows: list[dict[str, Any]] = []
    sealed: list[dict[str, Any]] = []
    events: list[tuple[dict[str, Any], str | None]] = []
    for item in items:
        digest = request_hash(item)
        before = seen.get(item.external_ref) if item.external_ref else None
        if before is not None:
            results.append(Accepted(before[0], created=False) if before[1] == digest
                           else IdempotencyConflict("external_ref was used with a different body"))
            continue
        row = _new_row(cipher, item, owner, digest)
        rows.append(row)
        if (text := _sealed_text(cipher, row, item)) is not None:
            sealed.append(text)
        if item.external_ref:
            seen[item.external_ref] = (row["id"], digest)
        events.append((row, await _at_risk(unit, cipher, row["id"], item)))
        results.append(Accepted(row["id"], created=True))
    if rows:
        await unit.session.execute(insert(COMPLAINTS), rows)
    if sealed:
        await unit.session.execute(insert(SEALED_TEXT), sealed)
    for row, note in events:
        await unit.emit(received_event(row, note), subject=row["id"])
    return results


def _new_row(cipher: FieldCipher, complaint: ComplaintIn, owner: str,
             digest: str) -> dict[str, Any]:
    """The complaint's row, as the values of its insert."""
    person = complaint.complainant
    target = complaint.target or TargetIn()
    complaint_id = uuid.uuid4().hex
    context = complaint_id.encode()  # binds each sealed field to its complaint
    return {
        "id": complaint_id,
        "submitted_by": owner,
        "external_ref": complaint.external_ref,
        "request_hash": digest,
        "channel": complaint.channel,
        # Personal data typed into the text is masked here, so the row, the event and the
        # outbox never hold it; the text as typed is sealed beside it (_sealed_text).
        "subject": mask_optional(complaint.subject),
        "content": mask_text(complaint.content),
        "received_at": datetime.now(UTC),
        "occurred_at": complaint.occurred_at,
        "location": complaint.location,
        "target_department": target.department,
        "target_product": target.product,
        "people_count": complaint.people_count,
        "media_involved": complaint.media_involved,
        "drill": complaint.drill,
        "attachments": [a.model_dump() for a in complaint.attachments],
        "complainant_name": cipher.encrypt(person.name if person else None, context=context),
        "complainant_phone": cipher.encrypt(person.phone if person else None, context=context),
        "complainant_email": cipher.encrypt(str(person.email) if person and person.email
                                            else None, context=context),
        "complainant_id_number": cipher.encrypt(person.id_number if person else None,
                                                context=context),
        "complainant_key": cipher.fingerprint(person.phone, str(person.email or ""))
        if person else None,
    }


def _sealed_text(cipher: FieldCipher, row: dict[str, Any],
                 complaint: ComplaintIn) -> dict[str, Any] | None:
    """The text as typed, sealed, when masking changed it (pii:read callers see it)."""
    if row["content"] == complaint.content and row["subject"] == complaint.subject:
        return None
    context = row["id"].encode()
    return {"complaint_id": row["id"],
            "content": cipher.encrypt(complaint.content, context=context),
            "subject": cipher.encrypt(complaint.subject, context=context)}


async def _at_risk(unit: Unit, cipher: FieldCipher, complaint_id: str,
                   complaint: ComplaintIn) -> str | None:
    """The note of the complainant's pre-registration (提前报备), used up by this one."""
    person = complaint.complainant
    if person is None:
        return None
    return await at_risk.use_pre_registration(unit, cipher, complaint_id, person.phone,
                                              person.email)


def received_event(row: Mapping[str, Any], at_risk_note: str | None = None) -> ComplaintReceived:
    """What triage needs, and no complainant data: history matches on `complainant_key`."""
    return ComplaintReceived(
        complaint_id=row["id"],
        channel=row["channel"],
        content=row["content"],
        subject=row["subject"],
        received_at=row["received_at"],
        occurred_at=row["occurred_at"],
        location=row["location"],
        target=ComplaintTarget(department=row["target_department"],
                               product=row["target_product"]),
        people_count=row["people_count"],
        media_involved=row["media_involved"],
        drill=row["drill"],
        complainant_key=row["complainant_key"],
        submitted_by=row["submitted_by"],
        external_ref=row["external_ref"],
        at_risk=at_risk_note,
    )


async def purge_idempotency_keys(unit: Unit, ttl: timedelta) -> int:
    result = await unit.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < datetime.now(UTC) - ttl)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
