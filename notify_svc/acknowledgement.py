"""Acknowledgement: a recipient acknowledges a delivery with its link's token (once, before
it expires), or an operator records one given by other means; either is published, under
who gave it, for triage (the first acknowledges the case and stops skip-level escalation)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.ack_tokens import AckTokens
from notify_svc.digest import members_of
from notify_svc.models import DIGEST_EVENT_TYPE, CaseClocks, Delivery
from notify_svc.recording import refs_of
from shared.events.schemas import CaseUpdated, ComplaintTriaged, NotificationAcknowledged
from shared.runtime import Unit


class AckError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def token_expired_at(d: Delivery, ttl_s: float) -> dt.datetime | None:
    """When the delivery's token expired, or None while it still works."""
    ends = d.created_at + dt.timedelta(seconds=ttl_s)
    return ends if ends <= dt.datetime.now(dt.UTC) else None


async def acknowledge(unit: Unit, *, by: str | None, ttl_s: float, token: str | None = None,
                      delivery_id: str | None = None) -> Delivery:
    """Mark a delivery acknowledged and publish it under who gave it (triage stops
    skip-level escalation, and the first acknowledgement acknowledges the case).
    Unknown token or id: 404. Already acknowledged: 409 (a token works once). A
    token older than `ttl_s` (NOTIFY_ACK_TOKEN_TTL_S): 410."""
    query = select(Delivery)
    if token is not None:
        query = query.where(Delivery.ack_token_hash == AckTokens.hash(token))
    else:
        query = query.where(Delivery.id == delivery_id)
    row = (await unit.session.scalars(query.with_for_update())).first()
    if row is None:
        raise AckError(404, "unknown acknowledgement token" if token is not None
                       else f"no delivery {delivery_id}")
    if token is not None and (expired := token_expired_at(row, ttl_s)) is not None:
        raise AckError(410, f"this acknowledgement link expired at {expired.isoformat()}; "
                       "acknowledge in the command center or call the duty desk")
    if row.acknowledged_at is not None:
        once = "; a token works once" if token is not None else ""
        raise AckError(409, "this delivery was already acknowledged at "
                       f"{row.acknowledged_at.isoformat()} by {row.acknowledged_by}{once}")
    now = dt.datetime.now(dt.UTC)
    # A digest acknowledges every complaint it carried.
    for d in [row, *await members_of(unit, row)]:
        d.acknowledged_at, d.acknowledged_by = now, by or row.recipient
        if d.event_type != DIGEST_EVENT_TYPE:
            await _emit_ack(unit, d, now)
    return row


_CLOCKS = "notify.clocks"  # session.info: clocks remembered in a batch, not yet written


async def remember_clocks(session: AsyncSession, case_id: str, state: str,
                          data: ComplaintTriaged | CaseUpdated) -> None:
    """What is still due on the case, for the acknowledgement page; the latest event's
    wins. Within `deferred_clocks` it is written with the others."""
    if data.outstanding is None:
        return
    values = {"case_id": case_id, "state": state, "updated_at": dt.datetime.now(dt.UTC),
              "outstanding": [d.model_dump(mode="json") for d in data.outstanding]}
    pending = session.info.get(_CLOCKS)
    if isinstance(pending, dict):
        pending.pop(case_id, None)  # the latest last: one statement cannot set a row twice
        pending[case_id] = values
        return
    await _write_clocks(session, [values])


async def _write_clocks(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(CaseClocks).values(rows)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["case_id"],
        set_={k: statement.excluded[k] for k in ("state", "updated_at", "outstanding")}))


@contextlib.asynccontextmanager
async def deferred_clocks(session: AsyncSession) -> AsyncIterator[None]:
    """Within the block clocks are remembered in memory, and written in one statement at
    its end."""
    session.info[_CLOCKS] = {}
    try:
        yield
        await _write_clocks(session, list(session.info[_CLOCKS].values()))
    finally:
        session.info.pop(_CLOCKS, None)


async def _emit_ack(unit: Unit, d: Delivery, now: dt.datetime) -> None:
    await unit.emit(NotificationAcknowledged(
        delivery_id=d.id, cause_event_id=d.cause_event_id, cause_type=d.event_type,
        complaint_id=d.complaint_id, case_id=d.case_id, incident_id=d.incident_id,
        escalation_id=d.escalation_id, recipient=d.recipient, roles=list(d.roles),
        acknowledged_at=now, acknowledged_by=d.acknowledged_by,
    ), subject=refs_of(d).subject)
