"""Scoring the level engine against a labelled set (used by bench/triage_quality.py and tests)."""

from __future__ import annotations

import json
import re
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
# The retired blind sets, v1 upward: each was measured once in heldout/ and then moved to
# dev/ as complaints_heldout_v<n>.jsonl (accounts in tests/data/dev/README.md).
_RETIRED_NAME = re.compile(r"complaints_heldout_v([0-9]+)[.]jsonl")


def retired_sets(folder: Path = DATA / "dev") -> tuple[Path, ...]:
    """The retired blind sets in `folder`, in the order they were written (v1, v2, ...)."""
    numbered = {int(m[1]): path for path in folder.glob("complaints_heldout_v*.jsonl")
                if (m := _RETIRED_NAME.fullmatch(path.name))}
    return tuple(numbered[n] for n in sorted(numbered))


RETIRED = retired_sets()
HELDOUT_V1 = DATA / "dev" / "complaints_heldout_v1.jsonl"
# v5 and v6 scored far below the others when retired (tests/triage/test_quality.py floors).
HELDOUT_V5 = DATA / "dev" / "complaints_heldout_v5.jsonl"
HELDOUT_V6 = DATA / "dev" / "complaints_heldout_v6.jsonl"
# What the rules and both models are developed on (each file when it exists).
DEVELOPMENT = (LABELLED, DEV, MORE, *RETIRED)
# The whole-file split: models trained on the other development files score these, which
# were written by other hands than the files the rules were first written on.
WHOLE_FILE_TEST = (MORE, HELDOUT_V1)
# Leave-v2-out ... : each newer file alone, scored by models of all the others.
LEAVE_OUT = RETIRED[1:]
# Measured, never developed on: the current blind set (its README says which), absent between sets.
HELDOUT = DATA / "heldout" / "complaints.jsonl"
_SHINGLE = 4  # near-duplicates: character 4-gram Jaccard similarity above _NEAR
_NEAR = 0.5
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


def near_duplicate_groups(rows: Sequence[Labelled]) -> list[int]:
    """A group number per row: rows whose character 4-grams (of the content without
    punctuation, spaces and case) overlap by Jaccard similarity above 0.5 share a group, and
    so a cross-validation fold: a near-copy in training would flatter the score."""
    shingles = [_shingles(row.complaint.content) for row in rows]
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    holders: dict[str, list[int]] = {}
    for i, grams in enumerate(shingles):
        for gram in grams:
            holders.setdefault(gram, []).append(i)
    shared: dict[tuple[int, int], int] = {}
    for members in holders.values():
        for a, i in enumerate(members):
            for j in members[a + 1:]:
                shared[(i, j)] = shared.get((i, j), 0) + 1
    for (i, j), common in shared.items():
        if common / (len(shingles[i]) + len(shingles[j]) - common) > _NEAR:
            parent[root(i)] = root(j)
    numbers: dict[int, int] = {}
    return [numbers.setdefault(root(i), len(numbers)) for i in range(len(rows))]


def _shingles(content: str) -> frozenset[str]:
    text = "".join(c for c in content.lower() if c.isalnum())
    return frozenset(text[i:i + _SHINGLE] for i in range(max(1, len(text) - _SHINGLE + 1)))


@dataclass(frozen=True)
class Split:
    """One out-of-sample scheme: rows, each with the models trained without it."""

    title: str
    rows: list[Labelled]
    models: list[Models]


def out_of_sample(paths: Sequence[Path], rules: Rules, folds: int = 5,
                  test_files: Sequence[Path] = WHOLE_FILE_TEST,
                  each_file: bool = False,
                  leave_out: Sequence[Path] = LEAVE_OUT,
                  leave_out_only: bool = False) -> list[Split]:
    """Both models retrained without the rows they score:
    - k-fold over all the files, near-duplicates kept in one fold (`near_duplicate_groups`);
    - the whole-file split: the files of `test_files` scored by models of the other files;
    - each file of `leave_out` (leave-v2-out ... leave-v5-out) scored by models of all the others;
    - with `each_file`, each file scored by models of all the others;
    - with `leave_out_only`, only the `leave_out` files (no k-fold, no whole-file split).
    The rules stay as they are: they were written on these files, only the models are out
    of sample (the held-out set, when present, measures the rules too)."""
    from triage_svc import categorise, train_category, train_severity
    from triage_svc import severity as severity_model

    present = [p for p in paths if p.exists()]
    per_file = [load_labelled(path) for path in present]
    rows = [row for file_rows in per_file for row in file_rows]
    source = [k for k, file_rows in enumerate(per_file) for _ in file_rows]
    category_rows = train_category.examples(present, rules)
    severity_rows = train_severity.examples(present, rules)

    def models(test: Sequence[bool]) -> Models:
        category = categorise.model_from_json(train_category.fit(
            [r for r, t in zip(category_rows, test, strict=True) if not t]))
        # The severity examples leave some rows out (`told_by_fields`): matched by file and line.
        held = {(s, row.line) for row, s, t in zip(rows, source, test, strict=True) if t}
        floor = severity_model.model_from_json(train_severity.fit(
            [r for r in severity_rows if (r.source, r.row.line) not in held]))
        return Models(category, floor)

    splits = []
    if not leave_out_only:
        fold = [g % folds for g in near_duplicate_groups(rows)]
        fold_models = [models([f == k for f in fold]) for k in range(folds)]
        splits.append(Split(f"{folds}-fold, near-duplicates grouped, all files", rows,
                            [fold_models[f] for f in fold]))
    tested = [k for k, path in enumerate(present) if path in test_files]
    if tested and len(tested) < len(present) and not leave_out_only:
        held = [s in tested for s in source]
        trained = models(held)
        names = " + ".join(_name(present[k]) for k in tested)
        test_rows = [row for row, h in zip(rows, held, strict=True) if h]
        splits.append(Split(f"{names} by models of the other files", test_rows,
                            [trained] * len(test_rows)))
    alone = [k for k, path in enumerate(present)
             if len(present) > 1 and (each_file or path in leave_out)]
    for k in alone:
        own = [row for row, s in zip(rows, source, strict=True) if s == k]
        other = models([s == k for s in source])
        splits.append(Split(f"{_name(present[k])} by models of the others", own,
                            [other] * len(own)))
    return splits


def cross_validate(paths: Sequence[Path], rules: Rules, folds: int = 5,
                   test_files: Sequence[Path] = WHOLE_FILE_TEST, each_file: bool = False,
                   leave_out: Sequence[Path] = LEAVE_OUT, leave_out_only: bool = False
                   ) -> list[tuple[str, Score, Score]]:
    """Each `out_of_sample` split scored with its models, and without the safety net."""
    results = []
    for split in out_of_sample(paths, rules, folds, test_files, each_file, leave_out,
                               leave_out_only):
        netted = score(split.rows, rules, split.models)
        bare = score(split.rows, rules, [Models(m.category, None) for m in split.models])
        results.append((split.title, netted, bare))
    return results


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"
