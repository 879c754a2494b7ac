"""The labelled set as a regression floor: exact level >= 90%, zero severe under-triage."""

from __future__ import annotations

from dataclasses import replace

from triage_svc.levels import Assessment
from triage_svc.quality import Labelled, is_severe_under_triage, load_labelled, score
from triage_svc.rules import CATEGORIES, load_rules

RULES = load_rules()
ROWS = load_labelled()


def describe(rows: list[tuple[Labelled, Assessment]]) -> str:
    return "\n".join(f"line {row.line}: {row.complaint.content!r} want L{row.level}, "
                     f"got L{got.response_level}" for row, got in rows)


def test_the_labelled_set_covers_what_the_aims_need() -> None:
    assert len(ROWS) >= 150
    assert sum(row.complaint.content.isascii() for row in ROWS) >= 40
    assert {row.level for row in ROWS} == {1, 2, 3, 4}
    assert {row.category for row in ROWS} == set(CATEGORIES)


def test_quality_floors() -> None:
    result = score(ROWS, RULES)
    assert not result.severe_under, describe(list(result.severe_under))
    assert result.exact_rate >= 0.90, describe(list(result.misses))


def test_the_floor_can_fail() -> None:
    # Without the level-1 harm rules the same scoring must report the damage.
    crippled = replace(RULES, rules=tuple(
        r for r in RULES.rules if r.name not in {"casualties", "public_safety"}))
    result = score(ROWS, crippled)
    assert result.severe_under
    assert result.exact_rate < 0.90


def test_severe_under_triage_definition() -> None:
    assert is_severe_under_triage(1, 3) and is_severe_under_triage(2, 4)
    assert not is_severe_under_triage(1, 2) and not is_severe_under_triage(3, 4)
    assert not is_severe_under_triage(2, 3)
