"""Triage quality on the labelled set: confusion matrix, accuracy, severe under-triage, CPU.

    .venv/bin/python bench/triage_quality.py                 # tests/data/complaints.jsonl
    .venv/bin/python bench/triage_quality.py --misses        # also list every miss
    .venv/bin/python bench/triage_quality.py --rules my.toml --data other.jsonl

Aims: exact level >= 90%, zero severe under-triage (a true level 1 or 2 given a level two
or more steps lower), under 5 ms of CPU per assessment on average.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from triage_svc.levels import assess
from triage_svc.quality import LABELLED, Labelled, Score, load_labelled, score
from triage_svc.rules import DEFAULT_RULES, Rules, load_rules


def cpu_ms_per_assess(rows: list[Labelled], rules: Rules, repetitions: int) -> float:
    start = time.process_time()
    for _ in range(repetitions):
        for row in rows:
            assess(row.complaint, rules, row.history)
    return (time.process_time() - start) * 1000 / (repetitions * len(rows))


def print_confusion(result: Score) -> None:
    print("confusion matrix (rows: true level, columns: given level)")
    print("        " + "".join(f"{f'L{g}':>6}" for g in (1, 2, 3, 4)) + "   total")
    for true in (1, 2, 3, 4):
        cells = [result.confusion.get((true, given), 0) for given in (1, 2, 3, 4)]
        print(f"  L{true}    " + "".join(f"{c:>6}" for c in cells) + f"{sum(cells):>8}")


def print_rows(title: str, rows: list[tuple[Labelled, object]]) -> None:
    print(title)
    for row, got in rows:
        level = getattr(got, "response_level", "?")
        category = getattr(got, "category", "?")
        print(f"  line {row.line}: want L{row.level}/{row.category}, got L{level}/{category}: "
              f"{row.complaint.content[:60]!r} ({row.note})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--data", type=Path, default=LABELLED)
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args()
    rules, rows = load_rules(args.rules), load_labelled(args.data)
    result = score(rows, rules)
    english = sum(1 for row in rows if row.complaint.content.isascii())
    print(f"labelled set: {args.data.name}, {len(rows)} complaints ({english} English), "
          f"rules version {rules.version}")
    print_confusion(result)
    print(f"exact level accuracy: {result.exact}/{result.total} = {result.exact_rate:.1%}"
          "  (aim >= 90%)")
    print(f"category accuracy:    {result.category}/{result.total} = {result.category_rate:.1%}")
    print(f"severe under-triage:  {len(result.severe_under)}  (aim 0)")
    if result.severe_under:
        print_rows("severe under-triage rows:", list(result.severe_under))
    if args.misses:
        print_rows("misses (level or category):", list(result.misses))
    ms = cpu_ms_per_assess(rows, rules, args.repetitions)
    print(f"CPU per assess:       {ms:.3f} ms over {args.repetitions * len(rows)} assessments"
          "  (aim < 5 ms)")
    ok = result.exact_rate >= 0.9 and not result.severe_under and ms < 5
    print("aims:", "all met" if ok else "NOT all met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
