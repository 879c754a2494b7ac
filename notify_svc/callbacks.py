"""Hotline callbacks: the system that filed a complaint hears of each change of its
status, each callback of a complaint numbered in order (`sequence`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import rosterdb
from notify_svc.models import CallbackSequence, ComplaintOwner, Delivery
from notify_svc.recording import Recipient, Recorder, Refs
from shared.complaint_status import complaint_status
from shared.events import Envelope
from shared.events.schemas import CaseUpdated, ComplaintTriaged
from shared.runtime import Unit


async def next_sequence(session: AsyncSession, complaint_id: str) -> int:
    """The complaint's next callback sequence (1, 2, ...), taken by one upsert: the row
    stays locked until the transaction ends, so two replicas never take the same number,
    and a rolled-back transaction gives its number back."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(CallbackSequence).values(complaint_id=complaint_id, last_sequence=1)
    taken = await session.scalar(statement.on_conflict_do_update(
        index_elements=["complaint_id"],
        set_={"last_sequence": CallbackSequence.last_sequence + 1},
    ).returning(CallbackSequence.last_sequence))
    return int(taken or 0)


_OWNERS = "notify.owners"  # session.info: owners remembered in a batch, not yet written


async def remember_owner(session: AsyncSession, complaint_id: str, owner: str | None) -> None:
    """Which hotline filed the complaint (the events say), for its status callbacks; the
    first one named stays. Within `deferred_owners` it is written with the others."""
    if not owner:
        return
    pending = session.info.get(_OWNERS)
    if isinstance(pending, dict):
        pending.setdefault(complaint_id, owner)
        return
    await _write_owners(session, {complaint_id: owner})


async def _write_owners(session: AsyncSession, owners: dict[str, str]) -> None:
    if not owners:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(ComplaintOwner).values(
        [{"complaint_id": c, "owner": o} for c, o in owners.items()]).on_conflict_do_nothing())


async def write_owners(session: AsyncSession) -> None:
    """Write the owners remembered so far (one statement); deferring goes on."""
    pending = session.info.get(_OWNERS)
    if isinstance(pending, dict) and pending:
        await _write_owners(session, dict(pending))
        pending.clear()


@contextlib.asynccontextmanager
async def deferred_owners(session: AsyncSession) -> AsyncIterator[None]:
    """Within the block owners are remembered in memory, and written in one statement at
    its end (or before a callback reads them)."""
    session.info[_OWNERS] = {}
    try:
        yield
        await write_owners(session)
    finally:
        session.info.pop(_OWNERS, None)


async def call_back(recorder: Recorder, roster: rosterdb.RosterCache, unit: Unit,
                    event: Envelope, data: ComplaintTriaged | CaseUpdated, state: str,
                    action: str) -> None:
    """Tell the hotline that filed the complaint, so it can tell the complainant. Each
    callback of a complaint takes the next `sequence` (see `next_sequence`)."""
    session = unit.session
    callbacks = (await roster.get(session)).callbacks
    if not callbacks:  # no hotline has one: nothing to look up
        return
    await write_owners(session)
    owner = await session.get(ComplaintOwner, data.complaint_id)
    if owner is None:
        return
    if owner.owner not in callbacks:
        return
    url, _ = callbacks[owner.owner]
    recorded = await session.scalar(select(Delivery.id).where(
        Delivery.cause_event_id == event.id, Delivery.channel == "callback"))
    if recorded is not None:  # a redelivered event: its callback has its sequence
        return
    answer = data.answer if isinstance(data, CaseUpdated) else None
    context = {
        "complaint_id": data.complaint_id, "case_id": data.case_id,
        "external_ref": data.external_ref, "sequence": await next_sequence(
            session, data.complaint_id),
        "status": complaint_status(state) or "in_progress", "state": state,
        "action": action, "response_level": data.response_level,
        "answer": answer, "answer_version": (
            data.answer_version if isinstance(data, CaseUpdated) else None),
        "drill": data.drill, "event_type": event.type, "at": event.time.isoformat()}
    if isinstance(data, CaseUpdated) and data.out_of_jurisdiction:
        # 不属于管辖范围: "应告知举报投诉人转交相关单位处理" — the hotline tells the complainant
        # which unit has it now.
        context.update(out_of_jurisdiction=True, transferred_to=data.to_department)
    hotline = Recipient(f"hotline:{owner.owner}", ("hotline",), "callback", url, "zh")
    await recorder.record(unit, event, [hotline],
                          Refs(data.complaint_id, data.complaint_id, data.case_id), context)
