"""Drill scenarios (应急演练方案): what is injected when, and what each role is expected to do.

A scenario is a TOML file under `drills/` (versioned with the code), or the same shape given
inline as JSON when a run starts. Times are drill time ("0m", "90s", "1h30m"): a run at
`speed` 60 plays an hour in a minute. A bad file is refused naming its line and key.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator

from shared import patterns
from shared.schemas import RequestModel
from shared.toml_lines import TomlLines

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "drills"
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,79}$"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_DRILL_LENGTH = timedelta(days=7)
MAX_INJECTIONS = 1000  # complaints and mention posts (repeats counted) of one run


class ScenarioError(ValueError):
    """A scenario that cannot run, in one line (`file:line: key: problem`)."""


def parse_duration(text: str) -> timedelta:
    """'1h30m', '15m', '90s' (each part optional, in that order; at least one)."""
    found = _DURATION.match(text.strip())
    if not text.strip() or found is None or not any(found.groups()):
        raise ValueError("a duration is written like 15m, 90s or 1h30m")
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    span = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if span > MAX_DRILL_LENGTH:
        raise ValueError("a drill lasts at most 7 days")
    return span


def _duration(text: str) -> str:
    parse_duration(text)
    return text.strip()


Duration = Annotated[str, AfterValidator(_duration),
                     Field(description="drill time: 15m, 90s, 1h30m", max_length=20)]
Ref = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$",
                           description="the scenario's own name for it")]
Channel = Literal["hotline", "email", "web", "wechat", "app", "sms", "letter", "onsite", "media"]
MentionSource = Literal["news", "weibo", "wechat", "forum", "video", "blog", "hotline_board",
                        "other"]


class Target(RequestModel):
    department: str | None = Field(None, max_length=200)
    product: str | None = Field(None, max_length=200)


class ScenarioComplainant(RequestModel):
    """A made-up complainant (never a real person's data): groups need distinct people. The
    phone has intake's form, so that what a scenario accepts the public API accepts too."""

    name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9\- ]{4,19}$")


class ComplaintInjection(RequestModel):
    ref: Ref
    at: Duration
    channel: Channel = "hotline"
    content: str = Field(min_length=1, max_length=20000, pattern=patterns.NOT_BLANK)
    subject: str | None = Field(None, max_length=500)
    location: str | None = Field(None, max_length=500)
    target: Target | None = None
    people_count: int = Field(1, ge=1, le=1_000_000)
    media_involved: bool = False
    complainant: ScenarioComplainant | None = None


class Reach(RequestModel):
    followers: int = Field(0, ge=0)
    reposts: int = Field(0, ge=0)
    comments: int = Field(0, ge=0)
    likes: int = Field(0, ge=0)
    views: int = Field(0, ge=0)


class MentionInjection(RequestModel):
    """A media mention; `repeat` copies of it `every` apart make a viral spike (each copy
    its own post, numbered)."""

    ref: Ref
    at: Duration
    source: MentionSource = "weibo"
    content: str = Field(min_length=1, max_length=50000, pattern=patterns.NOT_BLANK)
    title: str | None = Field(None, max_length=500)
    author: str | None = Field(None, max_length=200)
    reach: Reach = Field(default_factory=Reach)
    language: Literal["zh", "en"] | None = None
    repeat: int = Field(1, ge=1, le=200)
    every: Duration = "0s"


ExpectationKind = Literal["level", "acknowledge", "first_contact", "answer", "escalation",
                          "incident", "statement_drafted", "statement_approved",
                          "statement_distributed"]


class Expectation(RequestModel):
    """What a role is expected to do. `acknowledge`, `first_contact` and `answer` are due
    within `within` of the complaint's receipt, or by default the level's clock (acknowledge,
    first contact, resolve); `level` is the most lenient response level acceptable;
    `escalation` a step reached; `incident` one of `incident_kind` opened (within `within` of
    the start); the statement's stages within `within` of the start (drafted), of the draft
    (approved) and of the approval (distributed: 0.5 h unless said)."""

    role: str = Field(min_length=1, max_length=60,
                      description="who is expected to act, e.g. duty_officer, leader")
    do: ExpectationKind
    complaint: Ref | None = Field(None, description="the complaint's ref; none: every one")
    within: Duration | None = None
    level: int | None = Field(None, ge=1, le=4)
    step: int | None = Field(None, ge=1, le=10)
    incident_kind: Literal["group", "public_opinion"] | None = None
    note: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _complete(self) -> Expectation:
        if self.do == "level" and self.level is None:
            raise ValueError("an expectation of a level names the level")
        if self.do == "escalation" and self.step is None:
            raise ValueError("an expectation of an escalation names the step")
        if self.do == "incident" and self.incident_kind is None:
            raise ValueError("an expectation of an incident names its incident_kind")
        return self


class Scenario(RequestModel):
    name: str = Field(pattern=NAME_PATTERN, description="lower-case letters, digits, dashes")
    title: str = Field(min_length=1, max_length=200)
    summary: str | None = Field(None, max_length=2000)
    source: str | None = Field(None, max_length=500, description="the plan it was taken from")
    length: Duration = Field(description="how long the drill lasts, in drill time")
    complaints: list[ComplaintInjection] = Field(default_factory=list, max_length=500)
    mentions: list[MentionInjection] = Field(default_factory=list, max_length=500)
    expect: list[Expectation] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.complaints and not self.mentions:
            raise ValueError("a scenario injects at least one complaint or mention")
        if self.injection_count() > MAX_INJECTIONS:
            raise ValueError(f"a drill injects at most {MAX_INJECTIONS} complaints and posts")
        refs = [c.ref for c in self.complaints] + [m.ref for m in self.mentions]
        if len(set(refs)) != len(refs):
            raise ValueError("each complaint and mention needs a ref of its own")
        known = {c.ref for c in self.complaints}
        for expectation in self.expect:
            if expectation.complaint is not None and expectation.complaint not in known:
                raise ValueError(f"an expectation names complaint {expectation.complaint!r}, "
                                 "which the scenario does not inject")
        length = self.length_delta
        timed: list[tuple[str, str]] = [(c.ref, c.at) for c in self.complaints]
        timed += [(m.ref, m.at) for m in self.mentions]
        for ref, at in timed:
            if parse_duration(at) > length:
                raise ValueError(f"{ref} comes at {at}, after the drill's length")
        return self

    @property
    def length_delta(self) -> timedelta:
        return parse_duration(self.length)

    def injection_count(self) -> int:
        return len(self.complaints) + sum(m.repeat for m in self.mentions)


class ScenarioSummary(BaseModel):
    name: str
    title: str
    summary: str | None
    source: str | None
    length: str = Field(description="drill time")
    length_s: int
    complaints: int
    mentions: int = Field(description="posts, repeats counted")
    expectations: int


def summary_of(scenario: Scenario) -> ScenarioSummary:
    return ScenarioSummary(
        name=scenario.name, title=scenario.title, summary=scenario.summary,
        source=scenario.source, length=scenario.length,
        length_s=int(scenario.length_delta.total_seconds()),
        complaints=len(scenario.complaints),
        mentions=sum(m.repeat for m in scenario.mentions), expectations=len(scenario.expect))


def parse_scenario(text: str, where: str) -> Scenario:
    """A scenario from TOML text; `where` names it in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: {exc}") from exc  # tomllib's message names the line
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_first_error(exc, where, TomlLines(text))) from exc


def load_scenarios(folder: Path) -> dict[str, Scenario]:
    """Every `*.toml` of the folder, by name; a bad file or a name used twice stops the
    start with the file at fault."""
    found: dict[str, Scenario] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{path}: {exc}") from exc
        scenario = parse_scenario(text, str(path))
        if scenario.name in found:
            raise ScenarioError(f"{path}: name {scenario.name!r} is used by another scenario")
        found[scenario.name] = scenario
    return found


def _first_error(exc: ValidationError, where: str, lines: TomlLines) -> str:
    error = exc.errors(include_url=False)[0]
    loc = error["loc"]
    line = lines.line(loc)
    place = f"{where}:{line}" if line is not None else where
    key = " ".join(f"#{part + 1}" if isinstance(part, int) else str(part) for part in loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{place}: {key}: {message}" if key else f"{place}: {message}"
