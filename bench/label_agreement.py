"""How far two independent labellers agree on the same texts: the ceiling a model can be held to.

    .venv/bin/python bench/label_agreement.py

Set v4 (tests/data/dev/complaints_heldout_v4.jsonl, mentions_heldout_v4_*.tsv) was labelled
by its writer; a second helper, given only the plans, the labelling policy and the texts
without labels, labelled it again (tests/data/dev/v4_second_labeller/). This prints the
agreement on level, category and mention label, Cohen's kappa, and the pairs that disagree
most. Both labellers are sessions of the same kind of model, so their agreement is likely
higher than two people's would be: read it as an upper bound on what the policy pins down.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Hashable, Sequence
from pathlib import Path

DEV = Path(__file__).resolve().parent.parent / "tests" / "data" / "dev"
SECOND = DEV / "v4_second_labeller"


def kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    """Cohen's kappa: agreement beyond what the two label distributions give by chance."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_a, counts_b = Counter(first), Counter(second)
    chance = sum(counts_a[k] * counts_b[k] for k in counts_a) / (n * n)
    return (observed - chance) / (1 - chance) if chance < 1 else 1.0


def complaints() -> tuple[list[dict[str, object]], dict[int, dict[str, object]]]:
    lines = (DEV / "complaints_heldout_v4.jsonl").read_text(encoding="utf-8").splitlines()
    first = [json.loads(line) for line in lines if line.strip()]
    second_lines = (SECOND / "complaints_labels.jsonl").read_text(encoding="utf-8").splitlines()
    second = {int(row["id"]): row for row in map(json.loads, second_lines) if row}
    return first, second


def mentions() -> tuple[list[str], list[str]]:
    first: dict[tuple[str, str], str] = {}
    for lang in ("zh", "en"):
        rows = [line.split("\t") for line in
                (DEV / f"mentions_heldout_v4_{lang}.tsv").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
        first.update({(lang, str(i)): row[0] for i, row in enumerate(rows, 1)})
    pairs = [line.split("\t") for line in
             (SECOND / "mentions_labels.tsv").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    keys = [(lang, ident) for lang, ident, _ in pairs]
    return [first[key] for key in keys], [label for _, _, label in pairs]


def main() -> int:
    first, second = complaints()
    levels = ([int(str(row["level"])) for row in first],
              [int(str(second[i]["level"])) for i in range(1, len(first) + 1)])
    categories = ([str(row["category"]) for row in first],
                  [str(second[i]["category"]) for i in range(1, len(first) + 1)])
    n = len(first)
    for name, (a, b) in (("level", levels), ("category", categories)):
        agree = sum(x == y for x, y in zip(a, b, strict=True))
        print(f"complaints, {name}: {agree}/{n} = {agree / n:.1%} agree, kappa {kappa(a, b):.3f}")
    severe = sum(x <= 2 and y - x >= 2 for x, y in zip(*levels, strict=True))
    print(f"  a level 1-2 of the writer's given two or more levels lower by the second: {severe}")
    unsure = [i for i in range(1, n + 1) if second[i].get("unsure")]
    sure_agree = sum(categories[0][i - 1] == categories[1][i - 1]
                     for i in range(1, n + 1) if i not in set(unsure))
    print(f"  category agreement where the second labeller was sure: "
          f"{sure_agree}/{n - len(unsure)} = {sure_agree / max(1, n - len(unsure)):.1%}")
    apart = Counter((a, b) for a, b in zip(*categories, strict=True) if a != b)
    print("  category pairs that differ most (writer, second):",
          ", ".join(f"{a}/{b} {k}" for (a, b), k in apart.most_common(6)))
    labels_a, labels_b = mentions()
    agree = sum(x == y for x, y in zip(labels_a, labels_b, strict=True))
    print(f"mentions: {agree}/{len(labels_a)} = {agree / len(labels_a):.1%} agree, "
          f"kappa {kappa(labels_a, labels_b):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
