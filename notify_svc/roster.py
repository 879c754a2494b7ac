"""The roster file: members with roles and channel addresses, the duty schedule (值班表), and
routing rules (who hears of what). Members and the schedule seed the database on the first
start and are then edited through the admin API; the routing rules stay in the file."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ROSTER = Path(__file__).with_name("roster.toml")
# `callback` is not a member channel: hotline callbacks are configured per API-key owner.
CHANNELS = ("log", "webhook", "email", "sms", "dingtalk", "wecom", "feishu")
LANGUAGES = ("zh", "en")


class RosterError(ValueError):
    pass


@dataclass(frozen=True)
class Endpoint:
    """Where a member is reached on one channel; `secret` signs (webhook, DingTalk, Feishu)."""

    address: str
    secret: str | None = None


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    roles: frozenset[str]
    channels: dict[str, Endpoint]
    department: str | None = None
    language: str = "zh"


@dataclass(frozen=True)
class DutySlot:
    """`member` holds `role` on `on_date` from `start_hour` to `end_hour` (local time); an
    end not after the start is a night shift ending at end_hour the next day (20 → 8)."""

    def covers(self, local: dt.datetime) -> bool:
        day, hour = local.date(), local.hour
        if self.start_hour < self.end_hour:
            return day == self.on_date and self.start_hour <= hour < self.end_hour
        if day == self.on_date:
            return hour >= self.start_hour
        return day == self.on_date + dt.timedelta(days=1) and hour < self.end_hour

    on_date: dt.date
    start_hour: int
    end_hour: int
    role: str
    member: str


@dataclass(frozen=True)
class Routing:
    levels: dict[int, tuple[str, ...]]
    digest_levels: frozenset[int] = frozenset({4})
    incidents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    statement: tuple[str, ...] = ("department_liaison", "public_opinion_team")

    def roles_for_incident(self, kind: str, level: int) -> tuple[str, ...]:
        """A kind without a rule of its own (a group complaint) follows its level's roles."""
        return self.incidents.get(kind) or self.levels.get(level, ())


@dataclass(frozen=True)
class Roster:
    members: tuple[Member, ...]
    routing: dict[int, tuple[str, ...]]
    rules: Routing
    duty: tuple[DutySlot, ...] = ()

    def recipients_for_level(self, level: int) -> list[tuple[Member, str, str]]:
        """(member, channel, address) for everyone the level's roles reach, on every channel."""
        roles = set(self.routing.get(level, ()))
        return [
            (member, channel, endpoint.address)
            for member in self.members if member.roles & roles
            for channel, endpoint in sorted(member.channels.items())
        ]


def load_roster(path: Path = DEFAULT_ROSTER) -> Roster:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RosterError(f"{path}: {exc}") from exc
    return parse_roster(raw, str(path))


def parse_endpoint(channel: str, value: object, where: str) -> Endpoint:
    if isinstance(value, str) and value:
        return Endpoint(value)
    if isinstance(value, dict) and isinstance(value.get("address"), str) and value["address"]:
        secret = value.get("secret")
        return Endpoint(value["address"], str(secret) if secret else None)
    raise RosterError(f"{where}: channel {channel} needs an address (or {{address, secret}})")


def parse_member(m: dict[str, Any], where: str) -> Member:
    channels = m.get("channels", {})
    unknown = set(channels) - set(CHANNELS)
    if not m.get("id") or not m.get("roles") or unknown or not isinstance(m["roles"], list):
        raise RosterError(f"{where} needs id and roles, known channels only"
                          + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else ""))
    language = m.get("language", "zh")
    if language not in LANGUAGES:
        raise RosterError(f"{where}: language must be one of {', '.join(LANGUAGES)}")
    return Member(
        str(m["id"]), str(m.get("name", m["id"])), frozenset(str(r) for r in m["roles"]),
        {ch: parse_endpoint(ch, v, f"{where} {m['id']}") for ch, v in channels.items()},
        m.get("department"), language,
    )


def parse_duty(d: dict[str, Any], where: str) -> DutySlot:
    try:
        on_date = d["date"] if isinstance(d["date"], dt.date) else dt.date.fromisoformat(d["date"])
        slot = DutySlot(on_date, int(d.get("start_hour", 0)), int(d.get("end_hour", 24)),
                        str(d["role"]), str(d["member"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RosterError(f"{where} needs date, role and member ({exc})") from exc
    if not (0 <= slot.start_hour <= 23 and 1 <= slot.end_hour <= 24):
        raise RosterError(f"{where}: start_hour must be 0-23 and end_hour 1-24")
    return slot


def parse_roster(raw: dict[str, Any], where: str) -> Roster:
    members = [parse_member(m, f"{where}: member #{i + 1}")
               for i, m in enumerate(raw.get("member", []))]
    duty = [parse_duty(d, f"{where}: duty #{i + 1}") for i, d in enumerate(raw.get("duty", []))]
    levels = {int(level): tuple(roles) for level, roles in raw.get("routing", {}).items()}
    if set(levels) != {1, 2, 3, 4}:
        raise RosterError(f"{where}: [routing] must name roles for levels 1, 2, 3 and 4")
    rules = Routing(
        levels,
        frozenset(int(x) for x in raw.get("digest", {}).get("levels", [4])),
        {str(k): tuple(v) for k, v in raw.get("incident", {}).items()},
        tuple(raw.get("statement", {}).get(
            "roles", ["department_liaison", "public_opinion_team"])),
    )
    return Roster(tuple(members), levels, rules, tuple(duty))
