"""Scoring the level engine against a labelled set (used by bench/triage_quality.py and tests)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.events.schemas import ComplaintReceived
from triage_svc.levels import Assessment, History, assess
from triage_svc.rules import Rules

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "complaints.jsonl"
_FIELDS = ("channel", "content", "subject", "people_count", "media_involved", "drill", "target")
_RECEIVED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Labelled:
    line: int
    complaint: ComplaintReceived
    history: History
    level: int
    category: str
    note: str


@dataclass
class Score:
    total: int = 0
    exact: int = 0
    category: int = 0
    confusion: dict[tuple[int, int], int] = field(default_factory=dict)  # (true, given)
    severe_under: list[tuple[Labelled, Assessment]] = field(default_factory=list)
    misses: list[tuple[Labelled, Assessment]] = field(default_factory=list)

    @property
    def exact_rate(self) -> float:
        return self.exact / self.total if self.total else 0.0

    @property
    def category_rate(self) -> float:
        return self.category / self.total if self.total else 0.0


def load_labelled(path: Path = LABELLED) -> list[Labelled]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            rows.append(_labelled(json.loads(line), number))
    return rows


def _labelled(raw: dict[str, Any], line: int) -> Labelled:
    fields = {key: raw[key] for key in _FIELDS if key in raw}
    complaint = ComplaintReceived.model_validate(
        {"complaint_id": f"row{line}", "received_at": _RECEIVED, **fields})
    history = History(complainant_recent=int(raw.get("history", 0)),
                      target_recent=int(raw.get("target_history", 0)))
    return Labelled(line, complaint, history, int(raw["level"]), str(raw["category"]),
                    str(raw.get("note", "")))


def is_severe_under_triage(true_level: int, given: int) -> bool:
    """A true level 1 or 2 given a level two or more steps less severe."""
    return true_level <= 2 and given - true_level >= 2


def score(rows: Sequence[Labelled], rules: Rules) -> Score:
    result = Score()
    for row in rows:
        got = assess(row.complaint, rules, row.history)
        result.total += 1
        key = (row.level, got.response_level)
        result.confusion[key] = result.confusion.get(key, 0) + 1
        result.exact += got.response_level == row.level
        result.category += got.category == row.category
        if got.response_level != row.level or got.category != row.category:
            result.misses.append((row, got))
        if is_severe_under_triage(row.level, got.response_level):
            result.severe_under.append((row, got))
    return result
