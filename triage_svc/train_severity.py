"""Build-time training of the severity safety net: `python -m triage_svc.train_severity`.

Reads the labelled development files (`triage_svc.quality.DEVELOPMENT`; never the held-out
set), less the severe rows only their fields make severe (`told_by_fields`), fits a binary
logistic regression of "severe" (true level 1 or 2) over
`triage_svc.categorise.text_features` (Chinese character 1..3-grams, English words and
word pairs, less English function words: `content_features`) and writes plain JSON
weights, with the two thresholds below, to
`triage_svc/severity_model.json`. Deterministic: the same files give the same bytes.

`--check` writes nothing; it prints cross-validated figures instead: the model alone
(out-of-fold, k-fold by row and each file scored by a model of the others) and, for a grid
of thresholds, what the engine (the rules as they are, with the out-of-fold model below
them) would give. The thresholds shipped were chosen from that table.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from triage_svc.categorise import english_stem
from triage_svc.levels import Models, assess, severity_text
from triage_svc.quality import DEVELOPMENT, Labelled, load_labelled
from triage_svc.rules import DEFAULT_RULES, Rules, load_rules
from triage_svc.severity import MODEL_FILE, Model, features, model_from_json, probability

MAX_N = 3
C = 4.0  # inverse L2 strength, chosen by --check on the development files
# P(severe) from which the floor raises a level 4 to 3, and a level 3 or 4 to 2 (--check).
RAISE_TO_3 = 0.35  # rules v9, v5 trained: 1 severe fewer in both --check tables, 0.3-0.8 exact less
RAISE_TO_2 = 0.7
_MIN_WEIGHT = 0.005  # smaller weights barely move a score; dropping them keeps the file small
FOLDS = 5
TRAINING_FILES = DEVELOPMENT


@dataclass(frozen=True)
class Example:
    features: dict[str, float]
    severe: bool
    row: Labelled
    source: int  # index of the file among the training files


def examples(paths: Sequence[Path], rules: Rules) -> list[Example]:
    """The rows as the model sees them: `levels.severity_text` (filtered terms blanked).
    A severe row whose severity only its fields tell is left out (`told_by_fields`)."""
    rows: list[Example] = []
    for source, path in enumerate(p for p in paths if p.exists()):
        for row in load_labelled(path):
            if told_by_fields(row, rules):
                continue
            text = severity_text(row.complaint, rules)
            rows.append(Example(content_features(features(text, MAX_N)), row.level <= 2,
                                row, source))
    return rows


def told_by_fields(row: Labelled, rules: Rules) -> bool:
    """A severe row whose level 1-2 the rules find only in its fields (people_count,
    media_involved, the media channel, history): its text says nothing severe, so learning
    from it would teach the model that plain words ("还没退") are severe (v20 has such rows
    on purpose)."""
    if row.level > 2:
        return False
    plain = row.complaint.model_copy(update={
        "people_count": 1, "media_involved": False,
        "channel": "hotline" if row.complaint.channel == "media" else row.complaint.channel})
    without = assess(plain, rules, None, Models(None, None)).response_level
    with_fields = assess(row.complaint, rules, row.history, Models(None, None)).response_level
    return with_fields <= 2 < without


def content_features(found: dict[str, float]) -> dict[str, float]:
    """The features less English function words and pairs of them ("w:of", "w:in the").
    They carry a writer's style, not severity: with them the net pushed short plain texts
    over its floor on "about", "of" and "in", and the reason quoted those words. A feature
    the model has no weight for counts for nothing when it scores, so only training
    filters (bench/triage_quality.py --cv, leave-one-set-out: fewer severe under-triages
    and less over-triage)."""
    stop = _function_words()
    return {name: value for name, value in found.items()
            if not (name.startswith("w:") and all(w in stop for w in name[2:].split(" ")))}


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(w for word in ENGLISH_STOP_WORDS for w in (word, english_stem(word)))


def fit(rows: Sequence[Example], c: float = C, raise_to_3: float = RAISE_TO_3,
        raise_to_2: float = RAISE_TO_2) -> dict[str, Any]:
    """The model as JSON-ready data: bias, thresholds, and per feature its weight."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([r.features for r in rows])
    model = LogisticRegression(C=c, max_iter=5000, solver="lbfgs")
    model.fit(x, [r.severe for r in rows], sample_weight=_balanced_per_file(rows))
    weights = {str(name): round(float(w), 4)
               for name, w in zip(vectorizer.get_feature_names_out(), model.coef_[0], strict=True)
               if abs(w) >= _MIN_WEIGHT}
    return {"bias": round(float(model.intercept_[0]), 4), "max_n": MAX_N,
            "thresholds": {"raise_to_3": raise_to_3, "raise_to_2": raise_to_2},
            "weights": dict(sorted(weights.items()))}


def _balanced_per_file(rows: Sequence[Example]) -> list[float]:
    """Row weights under which, in every file, the severe and the other rows weigh the
    same. The files come from different writers with different shares of severe rows; left
    as they are, the model learns a writer's style words ("我们", "已经") as severity."""
    counts: dict[tuple[int, bool], int] = {}
    for r in rows:
        counts[(r.source, r.severe)] = counts.get((r.source, r.severe), 0) + 1
    sizes = {s: counts.get((s, True), 0) + counts.get((s, False), 0) for s, _ in counts}
    return [sizes[r.source] / (2 * counts[(r.source, r.severe)]) for r in rows]


def out_of_fold(rows: Sequence[Example], c: float = C, folds: int = FOLDS) -> list[Model]:
    """For each row, a model fitted without it: k-fold by row (row i is in fold i % k)."""
    fitted = [model_from_json(fit([r for j, r in enumerate(rows) if j % folds != k], c))
              for k in range(folds)]
    return [fitted[i % folds] for i in range(len(rows))]


def cross_file(rows: Sequence[Example], c: float = C) -> list[Model]:
    """For each row, a model fitted on the other files only."""
    sources = sorted({r.source for r in rows})
    fitted = {s: model_from_json(fit([r for r in rows if r.source != s], c)) for s in sources}
    return [fitted[r.source] for r in rows]


def check(paths: Sequence[Path], rules: Rules, c: float) -> None:
    rows = examples(paths, rules)
    rule_levels = [assess(r.row.complaint, rules, r.row.history, Models(None, None)
                          ).response_level for r in rows]
    names = [f"{p.parent.name}/{p.name}" for p in paths if p.exists()]
    schemes = [(f"{FOLDS}-fold by row", out_of_fold(rows, c))]
    if len(names) > 1:
        schemes.append(("train on the other files", cross_file(rows, c)))
    for title, models in schemes:
        ps = [probability(m, severity_text(r.row.complaint, rules))[0]
              for m, r in zip(models, rows, strict=True)]
        print(f"\nC={c}, {title}: model alone, {len(rows)} rows ({', '.join(names)})")
        print(f"  P(severe) separates severe from the rest with AUC {_auc(ps, rows):.3f}")
        print("  rules + floor: raise_to_3 raise_to_2  exact  severe-under  over-triage"
              "  raised(right/wrong)  severe caught had the rules missed them")
        for to_3, to_2 in _grid():
            print("  " + _engine_line(rows, rule_levels, ps, to_3, to_2))


def _grid() -> list[tuple[float, float]]:
    pairs = [(1.01, 1.01)]
    for to_3 in (0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7):
        for to_2 in (0.45, 0.5, 0.6, 0.7, 0.8):
            if to_2 >= to_3:
                pairs.append((to_3, to_2))
    return pairs


def _engine_line(rows: Sequence[Example], rule_levels: Sequence[int], ps: Sequence[float],
                 to_3: float, to_2: float) -> str:
    exact = under = over = right = wrong = 0
    for r, rule_level, p in zip(rows, rule_levels, ps, strict=True):
        level = rule_level
        if level >= 3 and p >= to_2:
            level = 2
        elif level == 4 and p >= to_3:
            level = 3
        true = r.row.level
        exact += level == true
        under += true <= 2 and level - true >= 2
        over += level < true
        if level != rule_level:
            right, wrong = right + (abs(level - true) < abs(rule_level - true)), \
                wrong + (abs(level - true) >= abs(rule_level - true))
    # Had the rules given level 4: a level 2 is safe from p >= to_3, a level 1 from to_2.
    severe = [(r.row.level, p) for r, p in zip(rows, ps, strict=True) if r.severe]
    caught = sum(p >= (to_2 if true == 1 else to_3) for true, p in severe)
    label = "rules only" if to_3 > 1 else f"{to_3:>10.2f} {to_2:>10.2f}"
    return (f"{label:>21}  {exact / len(rows):>6.1%} {under:>12} {over:>12}"
            f"  {right + wrong:>5} ({right}/{wrong})"
            f"  {caught / max(1, len(severe)):>10.0%} of {len(severe)}")


def _auc(ps: Sequence[float], rows: Sequence[Example]) -> float:
    pos = [p for p, r in zip(ps, rows, strict=True) if r.severe]
    neg = [p for p, r in zip(ps, rows, strict=True) if not r.severe]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / max(1, len(pos) * len(neg))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--check", action="store_true", help="cross-validate, write nothing")
    parser.add_argument("--c", type=float, default=C)
    args = parser.parse_args()
    if args.check:
        check(TRAINING_FILES, load_rules(args.rules), args.c)
        return 0
    model = fit(examples(TRAINING_FILES, load_rules(args.rules)), args.c)
    args.out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out} ({len(model['weights'])} features)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
