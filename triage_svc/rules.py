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
from pathlib import Path
from typing import Any

from shared.events.schemas import Category

CATEGORIES: tuple[Category, ...] = (
    "product_quality", "service_attitude", "after_sales", "billing", "contract", "process",
    "privacy", "safety", "legal", "other",
)
CLOCKS = ("acknowledge", "first_contact", "report", "resolve")
DEFAULT_RULES = Path(__file__).with_name("rules.toml")

_RULE_KEYS = {
    "name", "level", "reason", "terms", "requires", "unless_before", "not_within", "category",
    "min_people", "media", "drill", "min_complainant_recent", "min_target_recent",
}
_TRIGGERS = ("terms", "min_people", "media", "drill", "min_complainant_recent",
             "min_target_recent")
# "15m", "24h", "3wd" (working days); a bare integer is minutes.
_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|wd)\s*$")


CategoryTerms = tuple[tuple[Category, tuple[str, ...]], ...]


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class Clock:
    """A deadline length: calendar minutes, or working days (see `triage_svc.clocks`)."""

    minutes: int = 0
    working_days: int = 0


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
class Rules:
    version: int
    rules: tuple[Rule, ...]
    categories: CategoryTerms
    clocks: dict[int, dict[str, Clock]]
    negation: Negation = field(default_factory=lambda: Negation((), (), 0, 0))
    calendar: Calendar = field(default_factory=Calendar)
    history_window_days: int = 30


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
        calendar=_calendar(raw.get("calendar", {}), check),
        history_window_days=_positive(
            raw.get("history", {}).get("window_days", 30), check, "history", "window_days"),
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
    lists = {key: _strings(raw.get(key, []), check, table, key, label)
             for key in ("terms", "requires", "unless_before", "not_within")}
    if any(lists[k] for k in ("requires", "unless_before", "not_within")) and not lists["terms"]:
        raise check.fail(table, None, f"{label}: requires/unless_before/not_within need terms")
    category = raw.get("category")
    if category is not None and category not in CATEGORIES:
        raise check.fail(table, "category", f"{label}: unknown category {category!r}")
    counts = {key: None if raw.get(key) is None else _positive(raw[key], check, table, key)
              for key in ("min_people", "min_complainant_recent", "min_target_recent")}
    for key in ("media", "drill"):
        if not isinstance(raw.get(key, False), bool):
            raise check.fail(table, key, f"{label}: {key} must be true or false")
    return Rule(
        name=raw["name"], level=raw["level"], reason=raw["reason"], terms=lists["terms"],
        requires=lists["requires"], unless_before=lists["unless_before"],
        not_within=lists["not_within"], category=category,
        min_people=counts["min_people"], media=raw.get("media", False),
        drill=raw.get("drill", False), min_complainant_recent=counts["min_complainant_recent"],
        min_target_recent=counts["min_target_recent"],
    )


def _categories(raw: dict[str, Any], check: _Checker) -> CategoryTerms:
    categories: list[tuple[Category, tuple[str, ...]]] = []
    for name, terms in raw.items():
        if name not in CATEGORIES:
            raise check.fail("categories", name, f"[categories]: unknown category {name!r}")
        categories.append((name, _strings(terms, check, "categories", name, "[categories]")))
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
                         "(positive minutes, or a string like \"15m\", \"24h\", \"3wd\")")
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "wd":
        return Clock(working_days=amount)
    return Clock(minutes=amount * 60 if unit == "h" else amount)


def _negation(raw: dict[str, Any], check: _Checker) -> Negation:
    return Negation(
        cues=_strings(raw.get("cues", []), check, "negation", "cues", "[negation]"),
        exceptions=_strings(raw.get("exceptions", []), check, "negation", "exceptions",
                            "[negation]"),
        window_chars=_positive(raw.get("window_chars", 4), check, "negation", "window_chars"),
        window_words=_positive(raw.get("window_words", 3), check, "negation", "window_words"),
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
