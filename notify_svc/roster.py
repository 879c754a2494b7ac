"""The roster file: members with roles and channel addresses, the duty schedule (值班表), and
routing rules (who hears of what). Members and the schedule seed the database on the first
start and are then edited through the admin API; the routing rules stay in the file.

The file is checked by the pydantic models at the end of this module; a bad one stops the
start with `RosterError` naming the file, the line and the key, e.g.
`roster.toml:22: member #2 channels: unknown channel fax; known: log, webhook, ...`.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from shared.events.schemas import Category
from shared.toml_lines import TomlLines

DEFAULT_ROSTER = Path(__file__).with_name("roster.toml")
# `callback` is not a member channel: hotline callbacks are configured per API-key owner.
CHANNELS = ("log", "webhook", "email", "sms", "dingtalk", "wecom", "feishu")
LANGUAGES = ("zh", "en")
CATEGORIES: tuple[str, ...] = get_args(Category)


class RosterError(ValueError):
    """A roster file that cannot be used: the message names file, line and key."""


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


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class BriefSchedule:
    """When the daily brief (日报) and the weekly report (周报) go out (local time), to whom,
    and how long to wait for triage's and sentiment's figures. None: not sent."""

    roles: tuple[str, ...] = ("leadership_group",)
    daily: dt.time | None = None
    weekly: tuple[int, dt.time] | None = None  # (weekday, 0 is Monday; time)
    wait_s: float = 600.0


@dataclass(frozen=True)
class Routing:
    levels: dict[int, tuple[str, ...]]
    digest_levels: frozenset[int] = frozenset({4})
    incidents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    statement: tuple[str, ...] = ("department_liaison", "public_opinion_team")
    # Who besides its owner hears of an overdue corrective action (整改措施).
    rectification: tuple[str, ...] = ("general_affairs",)
    # By category as well as by level: "对涉及法律问题的投诉,由法务部协助处理"
    # (plans-complaint-and-media-a.txt); privacy to the data-protection officer, safety to
    # the safety officer ([category] in roster.toml).
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    briefs: BriefSchedule = field(default_factory=BriefSchedule)

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
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RosterError(f"{path}: {exc}") from exc  # tomllib's message names the line
    return parse_roster(raw, str(path), text)


def parse_roster(raw: dict[str, Any], where: str, text: str = "") -> Roster:
    """The roster in `raw` (a parsed TOML file); `where` names the file, and `text`, its
    source, gives errors their line."""
    try:
        parsed = RosterFile.model_validate(raw)
    except ValidationError as exc:
        raise RosterError(_first_error(exc, where, TomlLines(text))) from exc
    return parsed.to_roster()


# -- the file's shape ---------------------------------------------------------------------

Text = Annotated[str, StringConstraints(min_length=1)]


class _Table(BaseModel):
    # Unknown keys are ignored, as they always were; unknown channels are refused.
    model_config = ConfigDict(extra="ignore", frozen=True)


class EndpointTable(_Table):
    address: Text
    secret: str | None = None


class MemberTable(_Table):
    id: Text
    name: str | None = None
    roles: list[Text] = Field(min_length=1)
    channels: dict[str, EndpointTable] = Field(default_factory=dict)
    department: str | None = None
    language: str = "zh"

    @field_validator("channels", mode="before")
    @classmethod
    def known_channels(cls, value: object) -> object:
        """Known channels only, each `name = "address"` or `name = {address, secret}`."""
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel {', '.join(unknown)}; known: "
                             f"{', '.join(CHANNELS)}")
        for channel, endpoint in value.items():
            if not isinstance(endpoint, str | dict):
                raise ValueError(f"channel {channel} needs an address (or {{address, secret}})")
        return {channel: {"address": endpoint} if isinstance(endpoint, str) else endpoint
                for channel, endpoint in value.items()}

    @field_validator("language")
    @classmethod
    def known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        return value

    def to_member(self) -> Member:
        channels = {ch: Endpoint(v.address, v.secret or None) for ch, v in self.channels.items()}
        return Member(self.id, self.name or self.id, frozenset(self.roles), channels,
                      self.department, self.language)


class DutyTable(_Table):
    date: dt.date
    start_hour: int = Field(0, ge=0, le=23)
    end_hour: int = Field(24, ge=1, le=24)
    role: Text
    member: Text

    def to_slot(self) -> DutySlot:
        return DutySlot(self.date, self.start_hour, self.end_hour, self.role, self.member)


class DigestTable(_Table):
    levels: list[int] = Field(default_factory=lambda: [4])


class StatementTable(_Table):
    roles: list[Text] = Field(default_factory=lambda: ["department_liaison",
                                                       "public_opinion_team"])


class RectificationTable(_Table):
    roles: list[Text] = Field(default_factory=lambda: ["general_affairs"])
def _clock(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day like \"08:30\"") from None


class BriefTable(_Table):
    roles: list[Text] = Field(default_factory=lambda: ["leadership_group"], min_length=1)
    daily: str | None = None  # "08:30"
    weekly: str | None = None  # "monday 09:00"
    wait_s: float = Field(600.0, gt=0, le=86400)

    @field_validator("daily")
    @classmethod
    def daily_time(cls, value: str | None) -> str | None:
        if value is not None:
            _clock(value)
        return value

    @field_validator("weekly")
    @classmethod
    def weekly_time(cls, value: str | None) -> str | None:
        if value is not None:
            day, _, time = value.strip().partition(" ")
            if day.lower() not in WEEKDAYS:
                raise ValueError(f"{value!r}: start with a weekday ({', '.join(WEEKDAYS)}), "
                                 "then the time, like \"monday 09:00\"")
            _clock(time.strip())
        return value

    def to_schedule(self) -> BriefSchedule:
        weekly = None
        if self.weekly is not None:
            day, _, time = self.weekly.strip().partition(" ")
            weekly = (WEEKDAYS.index(day.lower()), _clock(time.strip()))
        return BriefSchedule(tuple(self.roles), _clock(self.daily) if self.daily else None,
                             weekly, self.wait_s)


class RosterFile(_Table):
    member: list[MemberTable] = Field(default_factory=list)
    duty: list[DutyTable] = Field(default_factory=list)
    routing: dict[int, list[Text]] = Field(default_factory=dict, validate_default=True)
    digest: DigestTable = Field(default_factory=DigestTable)
    incident: dict[str, list[Text]] = Field(default_factory=dict)
    statement: StatementTable = Field(default_factory=StatementTable)
    rectification: RectificationTable = Field(default_factory=RectificationTable)
    category: dict[str, list[Text]] = Field(default_factory=dict)
    brief: BriefTable = Field(default_factory=BriefTable)

    @field_validator("category")
    @classmethod
    def known_categories(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown category {', '.join(unknown)}; known: "
                             f"{', '.join(CATEGORIES)}")
        return value

    @field_validator("routing")
    @classmethod
    def every_level_routed(cls, value: dict[int, list[str]]) -> dict[int, list[str]]:
        if set(value) != {1, 2, 3, 4}:
            raise ValueError("[routing] must name roles for levels 1, 2, 3 and 4")
        return value

    def to_roster(self) -> Roster:
        levels = {level: tuple(roles) for level, roles in self.routing.items()}
        rules = Routing(levels, frozenset(self.digest.levels),
                        {kind: tuple(roles) for kind, roles in self.incident.items()},
                        tuple(self.statement.roles), tuple(self.rectification.roles),
                        {name: tuple(roles) for name, roles in self.category.items()},
                        self.brief.to_schedule())
        return Roster(tuple(m.to_member() for m in self.member), levels, rules,
                      tuple(d.to_slot() for d in self.duty))


def _first_error(exc: ValidationError, where: str, lines: TomlLines) -> str:
    """`file:line: key: message` for the first problem (the key as the file spells it:
    `member #2 channels`; the line of the key, else of its table)."""
    error = exc.errors(include_url=False)[0]
    loc = error["loc"]
    loc = tuple(part for part in loc if part != "[key]")  # (a dict's key is the key)
    line = lines.line(loc)
    place = f"{where}:{line}" if line is not None else where
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{place}: {_key(loc)}: {message}" if loc else f"{place}: {message}"


def _key(loc: tuple[str | int, ...]) -> str:
    """("member", 1, "channels", "fax") -> "member #2 channels.fax"; ("member", 0, "roles",
    2) -> "member #1 roles[2]"."""
    words, rest = [], list(loc)
    if len(rest) >= 2 and isinstance(rest[1], int):
        words, rest = [f"{rest[0]} #{rest[1] + 1}"], rest[2:]
    dotted = ""
    for part in rest:
        dotted += f"[{part}]" if isinstance(part, int) else f".{part}" if dotted else part
    return " ".join([*words, dotted] if dotted else words)
