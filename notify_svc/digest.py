"""The level-4 digest: what was batched for a recipient and channel since the last digest
goes out as one delivery, which settles (and acknowledges) the rows it carries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import select

from notify_svc.models import DIGEST_EVENT_TYPE, Delivery
from notify_svc.recording import Recipient, Recorder, Refs
from shared.runtime import Unit


async def make_digests(recorder: Recorder, unit: Unit) -> list[Delivery]:
    """One digest per recipient and channel for everything batched since the last."""
    query = (select(Delivery).where(Delivery.status == "batched",
                                    Delivery.digest_id.is_(None))
             .order_by(Delivery.created_at))
    if unit.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    groups: dict[tuple[str, str], list[Delivery]] = {}
    for row in (await unit.session.scalars(query)).all():
        groups.setdefault((row.recipient, row.channel), []).append(row)
    now = dt.datetime.now(dt.UTC)
    digests = []
    for (recipient, channel), rows in groups.items():
        roles = tuple(sorted({r for row in rows for r in row.roles}))
        to = Recipient(recipient, roles, channel, rows[-1].address, rows[-1].language)
        digest = recorder.new_delivery(f"digest:{uuid.uuid4().hex}", DIGEST_EVENT_TYPE, to,
                                       Refs(recipient), {"items": [r.context for r in rows]},
                                       now)
        unit.session.add(digest)
        for row in rows:
            row.digest_id = digest.id
        if channel == "log":
            await recorder.send_to_log(unit, digest, now)
            settle_members(rows, "sent", now, None)
        digests.append(digest)
    return digests


async def members_of(unit: Unit, digest: Delivery) -> list[Delivery]:
    """The rows a digest carries (none for any other delivery)."""
    if digest.event_type != DIGEST_EVENT_TYPE:
        return []
    return list((await unit.session.scalars(
        select(Delivery).where(Delivery.digest_id == digest.id))).all())


def settle_members(rows: Sequence[Delivery], status: str, now: dt.datetime,
                   error: str | None) -> None:
    """The rows a digest carries share its outcome."""
    for row in rows:
        row.status, row.last_error = status, error
        if status == "sent":
            row.sent_at = now
