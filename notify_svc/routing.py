"""Routing: who an event reaches. Roles from the routing rules, narrowed by the duty
schedule (值班) and the department; every channel of everyone reached gets a delivery."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from notify_svc import rosterdb
from notify_svc.models import Delivery
from notify_svc.recording import Recipient, Recorder, Refs
from notify_svc.roster import Member
from shared.events import Envelope
from shared.runtime import Unit

log = logging.getLogger("beacon.notify")


class Router:
    def __init__(self, recorder: Recorder, zone: ZoneInfo) -> None:
        self.recorder, self.zone = recorder, zone
        self.roster = rosterdb.RosterCache()

    async def members_for(self, unit: Unit, roles: Sequence[str],
                          department: str | None) -> list[tuple[Member, tuple[str, ...]]]:
        """Everyone holding one of `roles`. Where the duty schedule covers a role at this
        hour, only those on duty (值班); where a department is named and some holders belong
        to it, only those (the department's own head or 接口人)."""
        snapshot = await self.roster.get(unit.session)
        members = snapshot.members
        on_duty = snapshot.on_duty(roles, dt.datetime.now(self.zone))
        chosen: dict[str, set[str]] = {}
        for role in roles:
            holders = [m for m in members if role in m.roles]
            if role in on_duty:
                holders = [m for m in members if m.id in on_duty[role]]
            same = [m for m in holders if department and m.department == department]
            for member in same or holders:
                chosen.setdefault(member.id, set()).add(role)
        return [(m, tuple(sorted(chosen[m.id]))) for m in members if m.id in chosen]

    async def route(self, unit: Unit, event: Envelope, roles: Sequence[str], refs: Refs,
                    department: str | None, *, batched: bool = False) -> list[Delivery]:
        """Record a delivery on every channel of everyone the roles reach (level 1: 立即,
        all channels at once)."""
        reached = await self.members_for(unit, roles, department)
        if not reached:
            log.warning("%s %s reaches nobody: no roster member holds %s",
                        event.type, event.id, ", ".join(roles))
        recipients = [Recipient(m.id, matched, channel, endpoint.address, m.language)
                      for m, matched in reached
                      for channel, endpoint in sorted(m.channels.items())]
        return await self.recorder.record(unit, event, recipients, refs, event.data,
                                          batched=batched)

    async def route_to_owner(self, unit: Unit, event: Envelope, owner: str,
                             roles: Sequence[str], refs: Refs,
                             department: str | None) -> list[Delivery]:
        """`route`, plus the roster member the owner names (by id or name; role `owner`):
        an overdue corrective action reaches whoever answers for it."""
        members = (await self.roster.get(unit.session)).members
        reached = dict((m.id, (m, matched))
                       for m, matched in await self.members_for(unit, roles, department))
        for member in members:
            if owner in (member.id, member.name):
                _, matched = reached.get(member.id, (member, ()))
                reached[member.id] = (member, tuple(sorted({*matched, "owner"})))
        if not reached:
            log.warning("%s %s reaches nobody: no roster member is %s or holds %s",
                        event.type, event.id, owner, ", ".join(roles))
        recipients = [Recipient(m.id, matched, channel, endpoint.address, m.language)
                      for m, matched in reached.values()
                      for channel, endpoint in sorted(m.channels.items())]
        return await self.recorder.record(unit, event, recipients, refs, event.data)
