"""Scoring the level engine against a labelled set (used by bench/triage_quality.py and tests)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.events.schemas import ComplaintReceived
from triage_svc.levels import Assessment, History, Models, assess
from triage_svc.rules import Rules

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
LABELLED = DATA / "complaints.jsonl"
DEV = DATA / "dev" / "complaints.jsonl"
MORE = DATA / "dev" / "complaints_more.jsonl"
# What the rules and both models are developed on (each file when it exists).
DEVELOPMENT = (LABELLED, DEV, MORE)
HELDOUT = DATA / "heldout" / "complaints.jsonl"  # measured, never developed on
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
    over: int = 0  # given a more severe level than the true one
    raised: int = 0  # levels the severity safety net raised
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


def score(rows: Sequence[Labelled], rules: Rules,
          models: Sequence[Models | None] | None = None) -> Score:
    """The engine's figures on `rows` (`models`: per row, the models to assess it with;
    the shipped ones by default)."""
    result = Score()
    for i, row in enumerate(rows):
        got = assess(row.complaint, rules, row.history, models[i] if models else None)
        result.total += 1
        result.over += got.response_level < row.level
        result.raised += any("[severity_model" in r for r in got.level_reasons)
        key = (row.level, got.response_level)
        result.confusion[key] = result.confusion.get(key, 0) + 1
        result.exact += got.response_level == row.level
        result.category += got.category == row.category
        if got.response_level != row.level or got.category != row.category:
            result.misses.append((row, got))
        if is_severe_under_triage(row.level, got.response_level):
            result.severe_under.append((row, got))
    return result


def cross_validate(paths: Sequence[Path], rules: Rules, folds: int = 5,
                   severity: bool = True) -> list[tuple[str, Score]]:
    """The engine with both models retrained without the rows they score: k-fold by row
    over all the files, then each file scored by models of the other files. The rules stay
    as they are (they were written on these files: only the models are out of sample)."""
    from triage_svc import categorise, train_category, train_severity
    from triage_svc import severity as severity_model

    present = [p for p in paths if p.exists()]
    rows = [row for path in present for row in load_labelled(path)]
    source = [i for i, path in enumerate(present) for _ in load_labelled(path)]
    category_rows = train_category.examples(present, rules)
    severity_rows = train_severity.examples(present, rules)

    def models(test: Sequence[bool]) -> Models:
        category = categorise.model_from_json(train_category.fit(
            [r for r, t in zip(category_rows, test, strict=True) if not t]))
        floor = severity_model.model_from_json(train_severity.fit(
            [r for r, t in zip(severity_rows, test, strict=True) if not t])) if severity else None
        return Models(category, floor)

    fold_models = [models([i % folds == k for i in range(len(rows))]) for k in range(folds)]
    results = [(f"{folds}-fold by row, all files",
                score(rows, rules, [fold_models[i % folds] for i in range(len(rows))]))]
    for k, path in enumerate(present if len(present) > 1 else []):
        own = [i for i, s in enumerate(source) if s == k]
        other = models([s == k for s in source])
        results.append((f"{path.parent.name}/{path.name} by models of the others",
                        score([rows[i] for i in own], rules, [other] * len(own))))
    return results
