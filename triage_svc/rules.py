"""Loading and checking the rules file: a bad file stops the start with the line at fault.

The file is ops-editable TOML (see `rules.toml` for the format). The frozen dataclasses
below are what the engine reads and, with their checked field types, the schema pydantic
validates the file's tables by (`_File` holds the few tables shaped otherwise). A fault
raises `RulesError` naming the file, the line and the key, e.g.
`rules.toml:42: [[rule]] #7 (press): level must be 1, 2, 3 or 4`.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from shared.events.schemas import Category

CATEGORIES: tuple[Category, ...] = (
    "product_quality", "service_attitude", "after_sales", "billing", "contract", "process",
    "privacy", "safety", "legal", "other",
)
CLOCKS = ("acknowledge", "first_contact", "report", "resolve")
LEVELS = ("1", "2", "3", "4")  # as the file's keys spell them
# 接收部门 → 综合部 → 领导小组 → 上级主管部门 (DOMAIN.md, Escalation); roles of notify's roster.
DEFAULT_CHAIN = ("department_head", "general_affairs", "leadership_group", "superior_authority")
DEFAULT_RULES = Path(__file__).with_name("rules.toml")

_TRIGGERS = ("terms", "min_people", "media", "drill", "min_complainant_recent",
             "min_target_recent")
# "15m", "24h", "3wd" (working days), "30s" (drills and tests); a bare integer is minutes.
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|wd)\s*$")


CategoryTerms = tuple[tuple[Category, tuple[str, ...]], ...]


class RulesError(ValueError):
    pass


# How a fault is said: a PREDICATE follows the table and key ("[group] similarity must be
# in (0, 1]"); a STATEMENT follows the table alone and names the key itself if need be.
PREDICATE, STATEMENT = "rules_predicate", "rules_statement"


def _refuse(ok: Callable[[Any], bool], fault: str, kind: str = PREDICATE) -> BeforeValidator:
    """Refuse a value unless `ok(value)`; "{value}" in `fault` shows the value."""
    def check(value: Any) -> Any:
        if not ok(value):
            raise PydanticCustomError(kind, fault.replace("{value}", repr(value)))
        return value
    return BeforeValidator(check)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _words(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


# `+` after a set or a group reads as a regular expression's "one or more", which terms do not
# have (`+` is text, as in "十万+"): such a term would match only a literal "+", so never.
_REPEATED = re.compile(r"[\])]\+")


def _accented(term: str) -> bool:
    """An English term with a non-ASCII Latin letter ("façade"): it would be matched as a
    Chinese one (short gaps, no word starts), so its patterns quietly miss English text."""
    return (any(c.isascii() and c.isalpha() for c in term)
            and any(not c.isascii() and "LATIN" in unicodedata.name(c, "") for c in term))


def _compiled(terms: tuple[str, ...]) -> tuple[str, ...]:
    for term in terms:
        if _REPEATED.search(term):
            raise PydanticCustomError(
                PREDICATE, f"has a bad term {term!r} (`+` is text in a term, not \"one or "
                "more\": spell the repetition out, e.g. [0-9][0-9]?)")
        if _accented(term):
            raise PydanticCustomError(
                PREDICATE, f"has a bad term {term!r} (English terms are plain ASCII: an "
                "accented letter makes it match as Chinese; spell it without, e.g. facade)")
        try:
            compile_term(term)
        except re.error as exc:
            raise PydanticCustomError(PREDICATE, f"has a bad term {term!r} ({exc})") from exc
    return terms


def _zone(value: object) -> bool:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _exactly(keys: tuple[str, ...], fault: str) -> AfterValidator:
    def check(table: dict[str, Any]) -> dict[str, Any]:
        if set(table) != set(keys):
            raise PydanticCustomError(STATEMENT, fault)
        return table
    return AfterValidator(check)


# The file's value types: each refuses a bad value in words of its own.
Level = Annotated[int, _refuse(lambda v: _integer(v) and 1 <= v <= 4, "must be 1, 2, 3 or 4")]
LevelKey = Annotated[str, _refuse(lambda v: v in LEVELS, "is not a level (1, 2, 3 or 4)")]
Positive = Annotated[int, _refuse(lambda v: _integer(v) and v > 0,
                                  "must be a positive integer, got {value}")]
Count = Annotated[int | None, _refuse(lambda v: v is None or (_integer(v) and v > 0),
                                      "must be a positive integer, got {value}")]
Share = Annotated[float, _refuse(lambda v: (_integer(v) or isinstance(v, float)) and 0 < v <= 1,
                                 "must be in (0, 1]")]
Flag = Annotated[bool, _refuse(lambda v: isinstance(v, bool), "must be true or false")]
Text = Annotated[str, _refuse(lambda v: isinstance(v, str) and bool(v.strip()),
                              "is required (a non-empty string)")]
Words = Annotated[tuple[str, ...], _refuse(_words, "must be a list of non-empty strings"),
                  AfterValidator(lambda words: tuple(w.lower() for w in words))]
Terms = Annotated[Words, AfterValidator(_compiled)]
KnownCategory = Annotated[Category, _refuse(lambda v: v in CATEGORIES,
                                            "unknown category {value}", STATEMENT)]
MaybeCategory = Annotated[Category | None, _refuse(lambda v: v is None or v in CATEGORIES,
                                                   "unknown category {value}", STATEMENT)]
Zone = Annotated[str, _refuse(_zone, "must be a known time zone, got {value}")]
Dates = Annotated[frozenset[date], _refuse(lambda v: isinstance(v, list) and all(
    isinstance(d, date) and not isinstance(d, datetime) for d in v),
    "must be a list of dates (2026-10-09)")]
Chain = Annotated[tuple[str, ...], _refuse(lambda v: _words(v) and len(v) >= 2
                                           and len(set(v)) == len(v),
                                           "must list two or more distinct roles")]
KnownClock = Annotated[str, _refuse(lambda v: v in CLOCKS, "names an unknown clock {value} "
                                   f"(one of {', '.join(CLOCKS)})")]
T = TypeVar("T")
PerLevel = Annotated[dict[LevelKey, T], _exactly(LEVELS, "must set levels 1, 2, 3 and 4")]


@dataclass(frozen=True)
class Clock:
    """A deadline length: calendar minutes, or working days (see `triage_svc.clocks`)."""

    minutes: int = 0
    working_days: int = 0
    seconds: int = 0


def _clock(value: object) -> Clock:
    """An integer is minutes; a string is "<n>m", "<n>h", "<n>wd" (working days) or "<n>s"."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return Clock(minutes=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) <= 0:
        raise PydanticCustomError(PREDICATE, "must be a duration (positive minutes, or a string "
                                  f'like "15m", "24h", "3wd", "30s"), got {value!r}')
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "wd":
        return Clock(working_days=amount)
    if unit == "s":
        return Clock(seconds=amount)
    return Clock(minutes=amount * 60 if unit == "h" else amount)


Duration = Annotated[Clock, BeforeValidator(_clock)]
ClockSet = Annotated[dict[str, Duration], _exactly(CLOCKS, f"must set exactly {', '.join(CLOCKS)}")]


@dataclass(frozen=True)
class Rule:
    name: Text
    level: Level
    reason: Text
    terms: Terms = ()
    requires: Terms = ()
    unless_before: Words = ()
    not_within: Words = ()
    category: MaybeCategory = None
    min_people: Count = None
    media: Flag = False
    drill: Flag = False
    min_complainant_recent: Count = None
    min_target_recent: Count = None
    unless_resolved: Flag = False  # a term in a sentence saying it was fixed does not fire
    # The terms do not fire when one of these is said anywhere: the writer says the matter
    # is not one the organisation caused ("是我自己没看路", labelling clarification 7).
    unless_said: Terms = ()
    # A complaint this rule fires on is a media complaint (媒体投诉) from the start: "客户打算
    # 或已向媒体报告,但尚未引起媒体报道的相关投诉" (plan-media-complaint-duties-and-timelines.txt).
    marks_media: Flag = False


@dataclass(frozen=True)
class Resolved:
    """A sentence saying the matter was already fixed ("上次漏气已经修好了") cancels the
    terms of rules with `unless_resolved`, unless it also says it is not ("修好了又坏了")."""

    cues: Words = ()
    still: Words = ()


@dataclass(frozen=True)
class Negation:
    cues: Words = ()
    exceptions: Words = ()
    window_chars: Positive = 4
    window_words: Positive = 3


@dataclass(frozen=True)
class Calendar:
    timezone: Zone = "Asia/Shanghai"
    extra_holidays: Dates = frozenset()
    extra_workdays: Dates = frozenset()


@dataclass(frozen=True)
class Step:
    """One step up the escalation chain: `role` is reached when the case's `clock` runs out
    with that clock's work undone (see `triage_svc.escalation`)."""

    step: int  # index in the chain; 0 is the receiving department
    role: str
    clock: str


@dataclass(frozen=True)
class EscalationPolicy:
    chain: tuple[str, ...] = DEFAULT_CHAIN
    steps: dict[int, tuple[Step, ...]] = field(default_factory=dict)
    # Skip-level (跨级上报): a step's recipients must acknowledge within this, per level.
    ack_within: dict[int, Clock] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupPolicy:
    """群体投诉: similar complaints about one target from several complainants."""

    window_hours: Positive = 24
    min_complainants: Positive = 5
    similarity: Share = 0.6
    min_people: Positive = 5  # one complaint speaking for this many people is a group by itself
    response_level: Level = 2
    large_people: Positive = 30  # from this head-count the incident is level 1
    max_candidates: Positive = 2000


@dataclass(frozen=True)
class OpinionPolicy:
    """舆情: how alerts and linked mentions change incidents and cases."""

    merge_hours: Positive = 24  # an alert on the same topic within this joins the open incident
    linked_level: Level = 2  # a complaint linked to a media mention is at least this severe


MEDIA_CLOCKS = ("media_report", "media_account", "media_solution", "media_company_team")


@dataclass(frozen=True)
class MediaStep:
    """One clock of a media complaint (媒体投诉): `role` is reached (chain `step`) when the
    clock runs out with its work undone. It runs from when the case became a media
    complaint, or, with `after`, from when that other media clock fired."""

    clock: str
    role: str
    within: Clock
    step: int
    after: str | None = None
    form: bool = False  # the step carries the 媒体投诉登记表 (rendered and e-mailed by notify)


@dataclass(frozen=True)
class MediaPolicy:
    steps: tuple[MediaStep, ...] = ()

    def step(self, clock: str) -> MediaStep | None:
        return next((s for s in self.steps if s.clock == clock), None)


@dataclass(frozen=True)
class Rules:
    version: int
    rules: tuple[Rule, ...]
    categories: CategoryTerms
    clocks: dict[int, dict[str, Clock]]
    negation: Negation = field(default_factory=lambda: Negation((), (), 0, 0))
    resolved: Resolved = field(default_factory=Resolved)
    calendar: Calendar = field(default_factory=Calendar)
    history_window_days: int = 30
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    group: GroupPolicy = field(default_factory=GroupPolicy)
    opinion: OpinionPolicy = field(default_factory=OpinionPolicy)
    media: MediaPolicy = field(default_factory=MediaPolicy)


def load_rules(path: Path = DEFAULT_RULES) -> Rules:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RulesError(f"{path}: no such rules file") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from exc  # tomllib's message names line and column
    return parse_rules(raw, str(path), text)


def parse_rules(raw: dict[str, Any], where: str, text: str = "") -> Rules:
    """The rules of a parsed file. RulesError names one fault: the first in the file, or
    when nothing written is at fault, the first key missing."""
    try:
        checked = _File.model_validate(raw)
    except ValidationError as exc:
        faults = [(tuple(e["loc"]), e["type"], e["msg"]) for e in exc.errors()]
    else:
        faults = list(_faults_across_tables(checked))
    if faults:
        lines = _Lines(text)
        _, line, said = min((_said(fault, raw, lines) for fault in faults), key=lambda s: s[:2])
        raise RulesError(f"{where}:{line}: {said}")
    return checked.rules()


@dataclass(frozen=True)
class Term:
    """A compiled rule term: a plain string found with `str.find`, or a pattern.

    Patterns are a small part of regular expressions: `*`, a gap of a few characters inside
    one clause ("闻到*煤气" matches "闻到一股煤气"); `[...]`, one character of a set
    ("第[3-9三四五]次"); `(a|b)`, one of several; `?`, the character or group before it
    is optional. Every other character stands for itself. An English (ASCII) term, and each
    English word after a gap, must start a word: "sue" is not in "issue", but "12315" is in
    "打12315" (a Chinese character is no letter).
    """

    text: str
    english: bool
    pattern: re.Pattern[str] | None  # None: a plain string
    # Text every occurrence contains ("icu" for "进了?icu"; "" when none is sure): a term
    # whose `needs` is not in the text is skipped without running its pattern.
    needs: str = ""


_GAP_CHARS = {True: 40, False: 10}  # English words are longer than Chinese characters
_CLAUSE = "，。！？；,.!?;\n"
_WORD_START = "(?<![a-z0-9])"
_PATTERN_SIGNS = frozenset("*[]()|?")
_LITERAL_SIGNS = re.compile(r"([.^$+{}\\])")  # regular-expression signs that are text here


@cache  # a rules file holds a few thousand terms at most
def compile_term(term: str) -> Term:
    english = term.isascii()
    if not _PATTERN_SIGNS.intersection(term):
        return Term(term, english, None, term)
    gap = f"[^{_CLAUSE}]{{0,{_GAP_CHARS[english]}}}?"
    parts = []
    for i, part in enumerate(term.split("*")):
        part = part.strip() if english else part
        starts_word = english and i > 0 and part[:1].isalnum()
        parts.append((_WORD_START if starts_word else "") + _LITERAL_SIGNS.sub(r"\\\1", part))
    runs = [_sure_runs(part.strip() if english else part) for part in term.split("*")]
    needs = "" if None in runs else max(
        (run for part_runs in runs if part_runs for run in part_runs), key=len, default="")
    return Term(term, english, re.compile(gap.join(parts)), needs)


def _sure_runs(part: str) -> list[str] | None:
    """The runs of plain text that every match of one gap-free part contains: sets and
    groups are no plain text, `?` makes the character before it optional. None for a `|`
    outside a group: the whole pattern is then an alternation and nothing in it is sure."""
    runs, run, i = [], "", 0
    while i < len(part):
        sign = part[i]
        if sign in "[(":
            runs.append(run)
            run, i = "", _closing(part, i) + 1
        elif sign == "?":
            runs.append(run[:-1])
            run, i = "", i + 1
        elif sign == "|":
            return None
        else:
            run, i = run + sign, i + 1
    return [*runs, run]


def _closing(part: str, start: int) -> int:
    """Where the set or group opened at `start` closes (the loader refuses unbalanced ones)."""
    if part[start] == "[":
        return part.index("]", start)
    depth = 0
    for i in range(start, len(part)):
        depth += {"(": 1, ")": -1}.get(part[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced group in {part!r}")




class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is refused, not ignored


class _Step(_Table):
    role: str
    clock: KnownClock


class _Escalation(_Table):
    chain: Chain = DEFAULT_CHAIN
    steps: dict[LevelKey, list[_Step]] = {}
    ack_within: PerLevel[Duration]


KnownMediaClock = Annotated[str, _refuse(
    lambda v: v in MEDIA_CLOCKS,
    f"names an unknown media clock {{value}} (one of {', '.join(MEDIA_CLOCKS)})")]
StepIndex = Annotated[int, _refuse(lambda v: _integer(v) and v >= 0,
                                   "must be a chain index (0 or more), got {value}")]


class _MediaStep(_Table):
    clock: KnownMediaClock
    role: Text
    within: Duration
    step: StepIndex
    after: KnownMediaClock | None = None
    form: Flag = False


class _Media(_Table):
    steps: list[_MediaStep] = []


class _History(_Table):
    window_days: Positive = 30


def _some(rules: list[Rule]) -> list[Rule]:
    if not rules:
        raise PydanticCustomError(STATEMENT, "no [[rule]] entries")
    return rules


class _File(_Table):
    """The file's top level; its dataclass tables take no unknown keys either."""

    version: Positive = 1
    # Checked even when absent, and first: a file without rules is told so before all else.
    rule: Annotated[list[Rule], AfterValidator(_some)] = Field([], validate_default=True)
    categories: dict[KnownCategory, Terms] = {}
    clocks: PerLevel[ClockSet]
    negation: Negation = Negation()
    resolved: Resolved = Resolved()
    calendar: Calendar = Calendar()
    history: _History = _History()
    escalation: _Escalation
    group: GroupPolicy = GroupPolicy()
    public_opinion: OpinionPolicy = OpinionPolicy()
    media: _Media = _Media()

    def rules(self) -> Rules:
        chain, steps = self.escalation.chain, self.escalation.steps
        return Rules(
            version=self.version, rules=tuple(self.rule),
            categories=tuple(self.categories.items()),
            clocks={int(level): self.clocks[level] for level in LEVELS},
            negation=self.negation, resolved=self.resolved, calendar=self.calendar,
            history_window_days=self.history.window_days,
            escalation=EscalationPolicy(chain=chain, steps={
                int(level): tuple(Step(chain.index(s.role), s.role, s.clock)
                                  for s in steps.get(level, [])) for level in LEVELS},
                ack_within={int(level): self.escalation.ack_within[level] for level in LEVELS}),
            group=self.group, opinion=self.public_opinion,
            media=MediaPolicy(tuple(MediaStep(s.clock, s.role, s.within, s.step, s.after,
                                              s.form) for s in self.media.steps)))


Location = tuple[int | str, ...]


def _faults_across_tables(checked: _File) -> Iterator[tuple[Location, str, str]]:
    """What the types alone do not say: a rule has a trigger, names are unique, steps go
    up the chain."""
    for i, rule in enumerate(checked.rule):
        if not any(getattr(rule, key) for key in _TRIGGERS):
            yield ("rule", i), STATEMENT, f"needs one of {', '.join(_TRIGGERS)}"
        if (rule.requires or rule.unless_before or rule.not_within
                or rule.unless_said) and not rule.terms:
            yield ("rule", i), STATEMENT, "requires/unless_before/not_within/unless_said need terms"
        if rule.name in [r.name for r in checked.rule[:i]]:
            yield ("rule", i, "name"), STATEMENT, f"duplicate name {rule.name!r}"
    chain = checked.escalation.chain
    media = checked.media.steps
    for i, media_step in enumerate(media):
        earlier = [m.clock for m in media[:i]]
        if media_step.step >= len(chain):
            yield ("media", "steps", i, "step"), PREDICATE, (
                f"must be an index of the chain (0 to {len(chain) - 1})")
        if media_step.clock in earlier:
            yield ("media", "steps", i, "clock"), PREDICATE, "names a clock listed before"
        if media_step.after is not None and media_step.after not in earlier:
            yield ("media", "steps", i, "after"), PREDICATE, (
                "must name a media clock listed before this one")
    for level, steps in checked.escalation.steps.items():
        indices = [chain.index(s.role) if s.role in chain[1:] else -1 for s in steps]
        where = ("escalation", "steps", level)
        if -1 in indices:
            role = steps[indices.index(-1)].role
            yield where, STATEMENT, (f"{level}: {role!r} is not a step above the first of "
                                     f"the chain ({', '.join(chain[1:])})")
        elif indices != sorted(set(indices)):
            yield where, STATEMENT, f"{level}: steps must go up the chain in order"


def _said(fault: tuple[Location, str, str], raw: dict[str, Any], lines: _Lines
          ) -> tuple[bool, int, str]:
    """Whether the key is missing, the fault's line, and the fault in words to follow
    "<file>:<line>: "."""
    loc, kind, message = fault
    table, path = _place(loc, raw)
    missing = kind in ("missing", "missing_argument")
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):  # perhaps a whole table
        (table, path), kind = _place(loc[:-1], raw), STATEMENT
        path, message = (*path, loc[-1]), f"unknown key {loc[-1]!r}"
    elif missing:
        kind, message = PREDICATE, "is required"
    elif kind not in (PREDICATE, STATEMENT):  # the shape: a table or list where one belongs
        kind, message = PREDICATE, _SHAPES.get(kind, f"is not valid ({message})")
    # A predicate follows the key's path ("4.1.clock"); a statement names the key itself,
    # so it follows the path to the key's table, if the key is deeper than the TOML table.
    shown = ".".join(str(p + 1) if isinstance(p, int) else p
                     for p in (path if kind == PREDICATE else path[:-1]))
    subject = [_label(table, raw), f"{shown}:" if kind == STATEMENT and shown else shown]
    line = lines.line(table, str(path[0]) if path else None)
    return missing, line, " ".join(part for part in (*subject, message) if part)


_SHAPES = {"dict_type": "must be a table", "model_type": "must be a table",
           "dataclass_type": "must be a table", "list_type": "must be a list"}


def _place(loc: Location, raw: dict[str, Any]) -> tuple[str, Location]:
    """The TOML table a pydantic location is in ("rule#3", "clocks.2"; "" at the top) and
    the rest of the location, from the key on ("resolve"; "4", 0, "clock")."""
    table, node = "", cast(Any, raw)
    for i, part in enumerate(loc):
        rest, after = tuple(p for p in loc[i:] if p != "[key]"), loc[i + 1:i + 2]
        if isinstance(part, int):  # an entry of [[rule]] (an array of tables), or of a list
            if table != "rule" or not isinstance(node, list):
                return table, rest
            table, node = f"rule#{part + 1}", node[part]
            continue
        child = node.get(part) if isinstance(node, dict) else None
        into_rules = not table and part == "rule" and isinstance(child, list) \
            and bool(after) and isinstance(after[0], int)
        if not (isinstance(child, dict) or into_rules) or after == ("[key]",):
            return table, rest
        table, node = f"{table}.{part}" if table else part, child
    return table, ()


def _label(table: str, raw: dict[str, Any]) -> str:
    if table.startswith("rule#"):
        number = int(table.removeprefix("rule#"))
        entry = raw["rule"][number - 1]
        name = entry.get("name") if isinstance(entry, dict) else None
        return f"[[rule]] #{number}" + (f" ({name})" if isinstance(name, str) else "") + ":"
    return f"[{table}]" if table else ""


class _Lines:
    """Maps TOML tables and keys to line numbers (tomllib keeps none after a successful parse)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"']+)\s*=")

    def __init__(self, text: str) -> None:
        self.tables: dict[str, int] = {}
        self.keys: dict[tuple[str, str], int] = {}
        counts: dict[str, int] = {}
        section = ""
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                name = header.group(2).replace('"', "").replace("'", "")
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, 0) + 1
                    name = f"{name}#{counts[name]}"
                section = name
                self.tables.setdefault(section, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.keys.setdefault((section, key.group(1).strip("\"'")), number)

    def line(self, table: str, key: str | None = None) -> int:
        """The key's line; else the line of the table the key names ([clocks.5]), of its
        own table, or of that table's first subtable ([clocks.1] for [clocks])."""
        if key is not None:
            if (table, key) in self.keys:
                return self.keys[(table, key)]
            if (named := f"{table}.{key}" if table else key) in self.tables:
                return self.tables[named]
        if table in self.tables:
            return self.tables[table]
        return min((n for name, n in self.tables.items() if name.startswith(f"{table}.")),
                   default=1)
