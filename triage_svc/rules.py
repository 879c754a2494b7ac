"""Loading and checking the rules file: a bad file stops the start with the fault named."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.events.schemas import Category

CATEGORIES: tuple[Category, ...] = (
    "product_quality", "service_attitude", "after_sales", "billing", "contract", "process",
    "privacy", "safety", "legal", "other",
)
CLOCKS = ("acknowledge", "first_contact", "report", "resolve")
DEFAULT_RULES = Path(__file__).with_name("rules.toml")


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    name: str
    level: int
    reason: str
    terms: tuple[str, ...] = ()
    min_people: int | None = None
    media: bool = False


@dataclass(frozen=True)
class Rules:
    version: int
    rules: tuple[Rule, ...]
    categories: tuple[tuple[Category, tuple[str, ...]], ...]
    clocks: dict[int, dict[str, int]]


def load_rules(path: Path = DEFAULT_RULES) -> Rules:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RulesError(f"{path}: no such rules file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from exc
    return parse_rules(raw, str(path))


def parse_rules(raw: dict[str, Any], where: str) -> Rules:
    rules = tuple(_rule(r, f"{where}: rule #{i + 1}") for i, r in enumerate(raw.get("rule", [])))
    if not rules:
        raise RulesError(f"{where}: no [[rule]] entries")
    categories = []
    for name, terms in raw.get("categories", {}).items():
        if name not in CATEGORIES:
            raise RulesError(f"{where}: unknown category {name!r}")
        categories.append((name, tuple(t.lower() for t in terms)))
    clocks: dict[int, dict[str, int]] = {}
    for level in (1, 2, 3, 4):
        table = raw.get("clocks", {}).get(str(level))
        if table is None or set(table) != set(CLOCKS):
            raise RulesError(f"{where}: [clocks.{level}] must set exactly {', '.join(CLOCKS)}")
        if any(not isinstance(v, int) or v <= 0 for v in table.values()):
            raise RulesError(f"{where}: [clocks.{level}] minutes must be positive integers")
        clocks[level] = dict(table)
    return Rules(int(raw.get("version", 1)), rules, tuple(categories), clocks)


def _rule(raw: dict[str, Any], where: str) -> Rule:
    unknown = set(raw) - {"name", "level", "reason", "terms", "min_people", "media"}
    if unknown:
        raise RulesError(f"{where}: unknown keys {sorted(unknown)}")
    if raw.get("level") not in (1, 2, 3, 4):
        raise RulesError(f"{where}: level must be 1, 2, 3 or 4")
    if not raw.get("name") or not raw.get("reason"):
        raise RulesError(f"{where}: name and reason are required")
    terms = tuple(str(t).lower() for t in raw.get("terms", ()))
    if not terms and raw.get("min_people") is None and not raw.get("media"):
        raise RulesError(f"{where} ({raw['name']}): needs terms, min_people or media")
    return Rule(raw["name"], raw["level"], raw["reason"], terms, raw.get("min_people"),
                bool(raw.get("media", False)))
