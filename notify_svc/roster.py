"""The roster file: members with roles and channel addresses, and routing by level."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_ROSTER = Path(__file__).with_name("roster.toml")
CHANNELS = ("log", "webhook", "email", "sms", "dingtalk", "wecom", "feishu")


class RosterError(ValueError):
    pass


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    roles: frozenset[str]
    channels: dict[str, str]


@dataclass(frozen=True)
class Roster:
    members: tuple[Member, ...]
    routing: dict[int, tuple[str, ...]]

    def recipients_for_level(self, level: int) -> list[tuple[Member, str, str]]:
        """(member, channel, address) for everyone the level's roles reach, on every channel."""
        roles = self.routing.get(level, ())
        return [
            (member, channel, address)
            for member in self.members if member.roles & set(roles)
            for channel, address in sorted(member.channels.items())
        ]


def load_roster(path: Path = DEFAULT_ROSTER) -> Roster:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RosterError(f"{path}: {exc}") from exc
    return parse_roster(raw, str(path))


def parse_roster(raw: dict[str, Any], where: str) -> Roster:
    members = []
    for i, m in enumerate(raw.get("member", [])):
        unknown = set(m.get("channels", {})) - set(CHANNELS)
        if not m.get("id") or not m.get("roles") or unknown:
            raise RosterError(f"{where}: member #{i + 1} needs id and roles, known channels only")
        members.append(Member(m["id"], m.get("name", m["id"]), frozenset(m["roles"]),
                              dict(m.get("channels", {}))))
    routing = {int(level): tuple(roles) for level, roles in raw.get("routing", {}).items()}
    if set(routing) != {1, 2, 3, 4}:
        raise RosterError(f"{where}: [routing] must name roles for levels 1, 2, 3 and 4")
    return Roster(tuple(members), routing)
