"""The roster, duty schedule and hotline callbacks in the database: the roster seeded once
from the file, all edited through the admin API; read by routing on every event, from a
cache (`RosterCache`) that every edit invalidates, on every replica."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.models import CallbackRow, DutyRow, MemberRow, MetaRow
from notify_svc.roster import DutySlot, Endpoint, Member, Roster

SEEDED = "roster_seeded_from"
# A token every edit of the members, the schedule or the callbacks sets anew, in the edit's
# transaction: a cache holding another token (or none) reads them again.
VERSION = "roster_version"
_MEMO = "notify.roster"  # session.info: the snapshot this transaction routes by


@dataclass(frozen=True)
class Snapshot:
    """The members, the duty schedule and the hotline callbacks (owner -> url, secret) as
    of `version`."""

    version: str | None
    members: list[Member]
    duty: Mapping[tuple[dt.date, str], list[DutySlot]]  # (date, role) -> slots
    callbacks: Mapping[str, tuple[str, str]]

    def on_duty(self, roles: Iterable[str], local: dt.datetime) -> dict[str, set[str]]:
        """{role: members on duty} for the roles the schedule covers at this local hour
        (today's slots, and yesterday's: a night shift runs into today)."""
        holders: dict[str, set[str]] = {}
        days = (local.date(), local.date() - dt.timedelta(days=1))
        for role in roles:
            for day in days:
                for slot in self.duty.get((day, role), ()):
                    if slot.covers(local):
                        holders.setdefault(role, set()).add(slot.member)
        return holders


class RosterCache:
    """What routing reads on every event, kept in memory: a transaction reads the version
    token once (one short statement, then remembered in the session) and the rest only when
    the token differs from the cached one, i.e. after an edit on any replica. (A database
    seeded before the token existed has none until its first edit: cached as such.)"""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self.loads = 0  # how often the tables were read (tests, metrics)

    async def get(self, session: AsyncSession) -> Snapshot:
        memo = session.info.get(_MEMO)
        if isinstance(memo, Snapshot):
            return memo
        version = await session.scalar(select(MetaRow.value).where(MetaRow.key == VERSION))
        snapshot = self._snapshot
        if snapshot is None or snapshot.version != version:
            snapshot = await _load(session, version)
            self.loads += 1
            self._snapshot = snapshot
        session.info[_MEMO] = snapshot
        return snapshot


async def _load(session: AsyncSession, version: str | None) -> Snapshot:
    duty: dict[tuple[dt.date, str], list[DutySlot]] = {}
    for slot in await load_duty(session):
        duty.setdefault((slot.on_date, slot.role), []).append(slot)
    callbacks = {row.owner: (row.url, row.secret)
                 for row in (await session.scalars(select(CallbackRow)))}
    return Snapshot(version, await load_members(session), duty, callbacks)


async def changed(session: AsyncSession) -> None:
    """Mark the roster, schedule or callbacks changed (in the edit's transaction), so every
    replica's cache reads them again."""
    session.info.pop(_MEMO, None)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    token = uuid.uuid4().hex
    await session.execute(insert(MetaRow).values(key=VERSION, value=token)
                          .on_conflict_do_update(index_elements=["key"], set_={"value": token}))


def member_from_row(row: MemberRow) -> Member:
    return Member(
        row.id, row.name, frozenset(row.roles),
        {ch: Endpoint(str(v["address"]), v.get("secret")) for ch, v in row.channels.items()},
        row.department, row.language,
    )


def row_from_member(member: Member, now: dt.datetime) -> MemberRow:
    return MemberRow(
        id=member.id, name=member.name, roles=sorted(member.roles),
        channels={ch: {"address": e.address, "secret": e.secret}
                  for ch, e in sorted(member.channels.items())},
        department=member.department, language=member.language, updated_at=now,
    )


def duty_row(slot: DutySlot) -> DutyRow:
    return DutyRow(on_date=slot.on_date, start_hour=slot.start_hour, end_hour=slot.end_hour,
                   role=slot.role, member_id=slot.member)


async def seed_once(session: AsyncSession, roster: Roster, source: str) -> bool:
    """Copy the file's members and schedule into empty tables, once per database: a later
    start (or a replica starting alongside) finds the marker and leaves edits alone."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    claimed = await session.execute(insert(MetaRow).values(
        key=SEEDED, value=source[:500]).on_conflict_do_nothing())
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await replace_members(session, roster.members)
    await replace_duty(session, roster.duty)
    return True


async def load_members(session: AsyncSession) -> list[Member]:
    rows = (await session.scalars(select(MemberRow).order_by(MemberRow.id))).all()
    return [member_from_row(r) for r in rows]


async def replace_members(session: AsyncSession, members: Sequence[Member]) -> None:
    await changed(session)
    await session.execute(delete(MemberRow))
    now = dt.datetime.now(dt.UTC)
    session.add_all([row_from_member(m, now) for m in members])


async def upsert_member(session: AsyncSession, member: Member) -> None:
    await changed(session)
    await session.merge(row_from_member(member, dt.datetime.now(dt.UTC)))


async def delete_member(session: AsyncSession, member_id: str) -> bool:
    """False when there was no such member."""
    await changed(session)
    gone = await session.execute(delete(MemberRow).where(MemberRow.id == member_id))
    return bool(gone.rowcount)  # type: ignore[attr-defined]


async def load_duty(session: AsyncSession, on_date: dt.date | None = None) -> list[DutySlot]:
    query = select(DutyRow).order_by(DutyRow.on_date, DutyRow.start_hour, DutyRow.role)
    if on_date is not None:
        query = query.where(DutyRow.on_date == on_date)
    return [DutySlot(r.on_date, r.start_hour, r.end_hour, r.role, r.member_id)
            for r in (await session.scalars(query)).all()]


async def replace_duty(session: AsyncSession, slots: Sequence[DutySlot]) -> None:
    await changed(session)
    await session.execute(delete(DutyRow))
    session.add_all([duty_row(s) for s in slots])


async def put_callback(session: AsyncSession, owner: str, url: str,
                       secret: str) -> CallbackRow:
    await changed(session)
    row = CallbackRow(owner=owner, url=url, secret=secret, updated_at=dt.datetime.now(dt.UTC))
    await session.merge(row)
    return row


async def delete_callback(session: AsyncSession, owner: str) -> bool:
    """False when the owner had no callback."""
    await changed(session)
    gone = await session.execute(delete(CallbackRow).where(CallbackRow.owner == owner))
    return bool(gone.rowcount)  # type: ignore[attr-defined]
