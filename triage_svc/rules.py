"""Loading and checking the rules file: a bad file stops the start with the line at fault.

The file is ops-editable TOML (see `rules.toml` for the format). Every check that fails
raises `RulesError` naming the file, the line and the key, e.g.
`rules.toml:42: [[rule]] #7 (press): level must be 1, 2, 3 or 4`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from shared.events.schemas import Category

CATEGORIES: tuple[Category, ...] = (
    "product_quality", "service_attitude", "after_sales", "billing", "contract", "process",
    "privacy", "safety", "legal", "other",
)
CLOCKS = ("acknowledge", "first_contact", "report", "resolve")
# 接收部门 → 综合部 → 领导小组 → 上级主管部门 (DOMAIN.md, Escalation); roles of notify's roster.
DEFAULT_CHAIN = ("department_head", "general_affairs", "leadership_group", "superior_authority")
DEFAULT_RULES = Path(__file__).with_name("rules.toml")

_RULE_KEYS = {
    "name", "level", "reason", "terms", "requires", "unless_before", "not_within", "category",
    "min_people", "media", "drill", "min_complainant_recent", "min_target_recent",
    "unless_resolved",
}
_TRIGGERS = ("terms", "min_people", "media", "drill", "min_complainant_recent",
             "min_target_recent")
# "15m", "24h", "3wd" (working days), "30s" (drills and tests); a bare integer is minutes.
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|wd)\s*$")


CategoryTerms = tuple[tuple[Category, tuple[str, ...]], ...]


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class Clock:
    """A deadline length: calendar minutes, or working days (see `triage_svc.clocks`)."""

    minutes: int = 0
    working_days: int = 0
    seconds: int = 0


@dataclass(frozen=True)
class Rule:
    name: str
    level: int
    reason: str
    terms: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    unless_before: tuple[str, ...] = ()
    not_within: tuple[str, ...] = ()
    category: Category | None = None
    min_people: int | None = None
    media: bool = False
    drill: bool = False
    min_complainant_recent: int | None = None
    min_target_recent: int | None = None
    unless_resolved: bool = False  # a term in a sentence saying it was fixed does not fire


@dataclass(frozen=True)
class Resolved:
    """A sentence saying the matter was already fixed ("上次漏气已经修好了") cancels the
    terms of rules with `unless_resolved`, unless it also says it is not ("修好了又坏了")."""

    cues: tuple[str, ...] = ()
    still: tuple[str, ...] = ()


@dataclass(frozen=True)
class Negation:
    cues: tuple[str, ...]
    exceptions: tuple[str, ...]
    window_chars: int
    window_words: int


@dataclass(frozen=True)
class Calendar:
    timezone: str = "Asia/Shanghai"
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Step:
    """One step up the escalation chain: `role` is reached when the case's `clock` runs out
    with that clock's work undone (see `triage_svc.escalation`)."""

    step: int  # index in the chain; 0 is the receiving department
    role: str
    clock: str


@dataclass(frozen=True)
class Escalation:
    chain: tuple[str, ...] = DEFAULT_CHAIN
    steps: dict[int, tuple[Step, ...]] = field(default_factory=dict)
    # Skip-level (跨级上报): a step's recipients must acknowledge within this, per level.
    ack_within: dict[int, Clock] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupPolicy:
    """群体投诉: similar complaints about one target from several complainants."""

    window_hours: int = 24
    min_complainants: int = 5
    similarity: float = 0.6
    min_people: int = 5  # one complaint speaking for this many people is a group by itself
    response_level: int = 2
    large_people: int = 30  # from this head-count the incident is level 1
    max_candidates: int = 2000


@dataclass(frozen=True)
class OpinionPolicy:
    """舆情: how alerts and linked mentions change incidents and cases."""

    merge_hours: int = 24  # an alert on the same topic within this joins the open incident
    linked_level: int = 2  # a complaint linked to a media mention is at least this severe


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
    escalation: Escalation = field(default_factory=Escalation)
    group: GroupPolicy = field(default_factory=GroupPolicy)
    opinion: OpinionPolicy = field(default_factory=OpinionPolicy)


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
        if key is not None and (table, key) in self.keys:
            return self.keys[(table, key)]
        return self.tables.get(table, 1)


class _Checker:
    def __init__(self, where: str, lines: _Lines) -> None:
        self.where = where
        self.lines = lines

    def fail(self, table: str, key: str | None, message: str) -> RulesError:
        return RulesError(f"{self.where}:{self.lines.line(table, key)}: {message}")


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
    check = _Checker(where, _Lines(text))
    rules = tuple(_rule(r, i + 1, check) for i, r in enumerate(raw.get("rule", [])))
    if not rules:
        raise check.fail("", None, "no [[rule]] entries")
    names = [r.name for r in rules]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise check.fail(f"rule#{i + 1}", "name", f"[[rule]] #{i + 1}: duplicate name {name!r}")
    return Rules(
        version=_positive(raw.get("version", 1), check, "", "version"),
        rules=rules,
        categories=_categories(raw.get("categories", {}), check),
        clocks={level: _clock_table(raw, level, check) for level in (1, 2, 3, 4)},
        negation=_negation(raw.get("negation", {}), check),
        resolved=_resolved(raw.get("resolved", {}), check),
        calendar=_calendar(raw.get("calendar", {}), check),
        history_window_days=_positive(
            raw.get("history", {}).get("window_days", 30), check, "history", "window_days"),
        escalation=_escalation(raw.get("escalation", {}), check),
        group=_group(raw.get("group", {}), check),
        opinion=_opinion(raw.get("public_opinion", {}), check),
    )


def _positive(value: object, check: _Checker, table: str, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        label = f"[{table}] {key}" if table else key
        raise check.fail(table, key, f"{label} must be a positive integer, got {value!r}")
    return value


def _strings(value: object, check: _Checker, table: str, key: str, label: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise check.fail(table, key, f"{label}: {key} must be a list of non-empty strings")
    return tuple(v.lower() for v in value)


def _terms(value: object, check: _Checker, table: str, key: str, label: str) -> tuple[str, ...]:
    terms = _strings(value, check, table, key, label)
    for term in terms:
        try:
            compile_term(term)
        except re.error as exc:
            raise check.fail(table, key, f"{label}: {key}: bad term {term!r} ({exc})") from exc
    return terms


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


_GAP_CHARS = {True: 40, False: 10}  # English words are longer than Chinese characters
_CLAUSE = "，。！？；,.!?;\n"
_WORD_START = "(?<![a-z0-9])"
_PATTERN_SIGNS = frozenset("*[]()|?")
_LITERAL_SIGNS = re.compile(r"([.^$+{}\\])")  # regular-expression signs that are text here


@cache  # a rules file holds a few thousand terms at most
def compile_term(term: str) -> Term:
    english = term.isascii()
    if not _PATTERN_SIGNS.intersection(term):
        return Term(term, english, None)
    gap = f"[^{_CLAUSE}]{{0,{_GAP_CHARS[english]}}}?"
    parts = []
    for i, part in enumerate(term.split("*")):
        part = part.strip() if english else part
        starts_word = english and i > 0 and part[:1].isalnum()
        parts.append((_WORD_START if starts_word else "") + _LITERAL_SIGNS.sub(r"\\\1", part))
    return Term(term, english, re.compile(gap.join(parts)))


def _rule(raw: dict[str, Any], number: int, check: _Checker) -> Rule:
    table = f"rule#{number}"
    name = raw.get("name")
    label = f"[[rule]] #{number}" + (f" ({name})" if isinstance(name, str) else "")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise check.fail(table, unknown[0], f"{label}: unknown key {unknown[0]!r}")
    if raw.get("level") not in (1, 2, 3, 4) or isinstance(raw.get("level"), bool):
        raise check.fail(table, "level", f"{label}: level must be 1, 2, 3 or 4")
    for key in ("name", "reason"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise check.fail(table, key, f"{label}: {key} is required (a non-empty string)")
    if not any(raw.get(key) for key in _TRIGGERS):
        raise check.fail(table, None, f"{label}: needs one of {', '.join(_TRIGGERS)}")
    lists = {key: (_terms if key in ("terms", "requires") else _strings)(
                 raw.get(key, []), check, table, key, label)
             for key in ("terms", "requires", "unless_before", "not_within")}
    if any(lists[k] for k in ("requires", "unless_before", "not_within")) and not lists["terms"]:
        raise check.fail(table, None, f"{label}: requires/unless_before/not_within need terms")
    category = raw.get("category")
    if category is not None and category not in CATEGORIES:
        raise check.fail(table, "category", f"{label}: unknown category {category!r}")
    counts = {key: None if raw.get(key) is None else _positive(raw[key], check, table, key)
              for key in ("min_people", "min_complainant_recent", "min_target_recent")}
    for key in ("media", "drill", "unless_resolved"):
        if not isinstance(raw.get(key, False), bool):
            raise check.fail(table, key, f"{label}: {key} must be true or false")
    return Rule(
        name=raw["name"], level=raw["level"], reason=raw["reason"], terms=lists["terms"],
        requires=lists["requires"], unless_before=lists["unless_before"],
        not_within=lists["not_within"], category=category,
        min_people=counts["min_people"], media=raw.get("media", False),
        drill=raw.get("drill", False), min_complainant_recent=counts["min_complainant_recent"],
        min_target_recent=counts["min_target_recent"],
        unless_resolved=raw.get("unless_resolved", False),
    )


def _categories(raw: dict[str, Any], check: _Checker) -> CategoryTerms:
    categories: list[tuple[Category, tuple[str, ...]]] = []
    for name, terms in raw.items():
        if name not in CATEGORIES:
            raise check.fail("categories", name, f"[categories]: unknown category {name!r}")
        categories.append((name, _terms(terms, check, "categories", name, "[categories]")))
    return tuple(categories)


def _clock_table(raw: dict[str, Any], level: int, check: _Checker) -> dict[str, Clock]:
    table = f"clocks.{level}"
    values = raw.get("clocks", {}).get(str(level))
    if not isinstance(values, dict) or set(values) != set(CLOCKS):
        raise check.fail(table, None, f"[{table}] must set exactly {', '.join(CLOCKS)}")
    return {key: _clock(value, check, table, key) for key, value in values.items()}


def _clock(value: object, check: _Checker, table: str, key: str) -> Clock:
    """An integer is minutes; a string is "<n>m", "<n>h" or "<n>wd" (working days)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return Clock(minutes=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) <= 0:
        raise check.fail(table, key, f"[{table}] {key}: {value!r} is not a duration "
                         "(positive minutes, or a string like \"15m\", \"24h\", \"3wd\", \"30s\")")
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "wd":
        return Clock(working_days=amount)
    if unit == "s":
        return Clock(seconds=amount)
    return Clock(minutes=amount * 60 if unit == "h" else amount)


def _negation(raw: dict[str, Any], check: _Checker) -> Negation:
    return Negation(
        cues=_strings(raw.get("cues", []), check, "negation", "cues", "[negation]"),
        exceptions=_strings(raw.get("exceptions", []), check, "negation", "exceptions",
                            "[negation]"),
        window_chars=_positive(raw.get("window_chars", 4), check, "negation", "window_chars"),
        window_words=_positive(raw.get("window_words", 3), check, "negation", "window_words"),
    )


def _resolved(raw: dict[str, Any], check: _Checker) -> Resolved:
    return Resolved(
        cues=_strings(raw.get("cues", []), check, "resolved", "cues", "[resolved]"),
        still=_strings(raw.get("still", []), check, "resolved", "still", "[resolved]"),
    )


def _calendar(raw: dict[str, Any], check: _Checker) -> Calendar:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    zone = raw.get("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise check.fail("calendar", "timezone", f"[calendar] timezone: unknown {zone!r}") from exc
    return Calendar(str(zone), _dates(raw, "extra_holidays", check),
                    _dates(raw, "extra_workdays", check))


def _dates(raw: dict[str, Any], key: str, check: _Checker) -> frozenset[date]:
    values = raw.get(key, [])
    if not isinstance(values, list) or not all(
            isinstance(v, date) and not isinstance(v, datetime) for v in values):
        raise check.fail("calendar", key, f"[calendar] {key} must be a list of dates (2026-10-09)")
    return frozenset(values)


def _escalation(raw: dict[str, Any], check: _Checker) -> Escalation:
    chain = raw.get("chain", list(DEFAULT_CHAIN))
    if not isinstance(chain, list) or len(chain) < 2 or len(set(chain)) != len(chain) \
            or not all(isinstance(r, str) and r.strip() for r in chain):
        raise check.fail("escalation", "chain",
                         "[escalation] chain must list two or more distinct roles")
    steps = {level: _steps(raw.get("steps", {}).get(str(level), []), tuple(chain), level, check)
             for level in (1, 2, 3, 4)}
    ack = raw.get("ack_within", {})
    if not isinstance(ack, dict) or set(ack) != {"1", "2", "3", "4"}:
        raise check.fail("escalation.ack_within", None,
                         "[escalation.ack_within] must set levels 1, 2, 3 and 4")
    return Escalation(
        chain=tuple(chain), steps=steps,
        ack_within={int(k): _clock(v, check, "escalation.ack_within", k) for k, v in ack.items()},
    )


def _steps(raw: object, chain: tuple[str, ...], level: int, check: _Checker
           ) -> tuple[Step, ...]:
    table, label = "escalation.steps", f"[escalation.steps] {level}"
    if not isinstance(raw, list):
        raise check.fail(table, str(level), f"{label} must be a list of {{role, clock}}")
    steps: list[Step] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"role", "clock"}:
            raise check.fail(table, str(level), f"{label}: each step is {{role, clock}}")
        if item["role"] not in chain[1:]:
            raise check.fail(table, str(level), f"{label}: {item['role']!r} is not a step "
                             f"above the first of the chain ({', '.join(chain[1:])})")
        if item["clock"] not in CLOCKS:
            raise check.fail(table, str(level), f"{label}: unknown clock {item['clock']!r} "
                             f"(one of {', '.join(CLOCKS)})")
        index = chain.index(item["role"])
        if steps and index <= steps[-1].step:
            raise check.fail(table, str(level), f"{label}: steps must go up the chain in order")
        steps.append(Step(index, item["role"], item["clock"]))
    return tuple(steps)


def _group(raw: dict[str, Any], check: _Checker) -> GroupPolicy:
    ints = {key: _positive(raw.get(key, default), check, "group", key) for key, default in (
        ("window_hours", 24), ("min_complainants", 5), ("min_people", 5), ("large_people", 30),
        ("max_candidates", 2000))}
    level = raw.get("response_level", 2)
    if level not in (1, 2, 3, 4) or isinstance(level, bool):
        raise check.fail("group", "response_level", "[group] response_level must be 1 to 4")
    similarity = raw.get("similarity", 0.6)
    if not isinstance(similarity, float | int) or isinstance(similarity, bool) \
            or not 0.0 < similarity <= 1.0:
        raise check.fail("group", "similarity", "[group] similarity must be in (0, 1]")
    return GroupPolicy(similarity=float(similarity), response_level=level, **ints)


def _opinion(raw: dict[str, Any], check: _Checker) -> OpinionPolicy:
    level = raw.get("linked_level", 2)
    if level not in (1, 2, 3, 4) or isinstance(level, bool):
        raise check.fail("public_opinion", "linked_level",
                         "[public_opinion] linked_level must be 1 to 4")
    return OpinionPolicy(
        merge_hours=_positive(raw.get("merge_hours", 24), check, "public_opinion",
                              "merge_hours"),
        linked_level=level,
    )
