"""Build-time training of the category model: `python -m triage_svc.train_category`.

Reads the labelled development files (`triage_svc.quality.DEVELOPMENT`, those present;
never the held-out set), fits a complement naive Bayes model (Rennie et al. 2003; sklearn's
`ComplementNB`, Laplace smoothing) over `triage_svc.categorise.features` and writes plain
JSON weights to `triage_svc/category_model.json`. Deterministic: the same files give the
same bytes. It replaced a multinomial logistic regression over the same features: leave-v2-out
... leave-v6-out category 73.1% → 76.4%, same CPU (bench/category_experiments.py).
`--check` prints cross-validated accuracy (out-of-fold, and each file scored by a model
trained on the others) instead of writing.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.events.schemas import Category
from triage_svc.categorise import MODEL_FILE, features, topic_words
from triage_svc.levels import normalise
from triage_svc.quality import DEVELOPMENT
from triage_svc.rules import DEFAULT_RULES, Rules, load_rules

TRAINING_FILES = DEVELOPMENT
MIN_N, MAX_N = 1, 3
ALPHA = 1.0  # additive smoothing: sklearn's default, Laplace (not tuned on the left-out sets)
TOPIC_WEIGHT = 6.0  # the topic-word features' scale, chosen by --check likewise
ENGLISH_CHARS = 4  # English character 4-grams: +1 point cross-validated (--check)
_DIGITS = 4  # weights rounded to 4 decimals (the mass weights to 6: they multiply a sum)
_FOLDS = 5

Example = tuple[dict[str, float], Category]


def examples(paths: Sequence[Path], rules: Rules) -> list[Example]:
    rows: list[Example] = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                text = normalise(raw.get("subject"), raw["content"])
                feats = features(text, topic_words(text, rules), MAX_N, MIN_N, TOPIC_WEIGHT,
                                 ENGLISH_CHARS)
                rows.append((feats, raw["category"]))
    return rows


def fit(rows: Sequence[Example], alpha: float = ALPHA) -> dict[str, Any]:
    """The model as JSON-ready data: classes, bias, per feature its class weights, and the
    per-class weight of the text's feature mass (`categorise.Model.mass`).

    Complement naive Bayes scores class c as sum_f x_f * log(S_c / (T_f + alpha - n_cf)),
    n_cf the feature's mass in class c, T_f its total, S_c the class's complement mass.
    That splits into sum_f x_f * log((T_f + alpha) / (T_f + alpha - n_cf)), zero for
    every class the feature never occurred in (so the file stays small), plus
    log(S_c) * sum_f x_f, minus a term equal for all classes (dropped: it moves no
    argmax or margin). log(S_c) is stored centred on its mean."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.naive_bayes import ComplementNB

    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([f for f, _ in rows])
    model = ComplementNB(alpha=alpha, norm=False)
    model.fit(x, [label for _, label in rows])
    classes = [str(k) for k in model.classes_]
    counts = model.feature_count_  # classes x features
    totals = counts.sum(axis=0) + alpha
    complement = totals - counts
    log_mass = np.log(complement.sum(axis=1))
    own = np.log(totals) - np.log(complement)  # >= 0, 0 where n_cf = 0
    weights: dict[str, dict[str, float]] = {}
    for j, name in enumerate(vectorizer.get_feature_names_out()):
        # every known feature is kept, even with no weight left: it counts in the mass
        weights[str(name)] = {str(i): round(float(own[i, j]), _DIGITS)
                              for i in range(len(classes)) if own[i, j] > 0}
    return {"classes": classes, "bias": [0.0] * len(classes),
            "mass": [round(float(m - log_mass.mean()), _DIGITS + 2) for m in log_mass],
            "max_n": MAX_N, "min_n": MIN_N, "topic_weight": TOPIC_WEIGHT,
            "english_chars": ENGLISH_CHARS,
            "weights": dict(sorted(weights.items()))}


def predict(model: dict[str, Any], feats: dict[str, float]) -> str:
    scores = list(model["bias"])
    mass = 0.0
    for feature, value in feats.items():
        row = model["weights"].get(feature)
        if row is None:
            continue
        mass += value
        for index, weight in row.items():
            scores[int(index)] += weight * value
    scores = [s + m * mass for s, m in zip(scores, model.get("mass", [0.0] * len(scores)),
                                            strict=True)]
    return str(model["classes"][max(range(len(scores)), key=lambda i: scores[i])])


def accuracy(model: dict[str, Any], rows: Sequence[Example]) -> float:
    return sum(predict(model, f) == label for f, label in rows) / max(1, len(rows))


def check(paths: Sequence[Path], rules: Rules, alpha: float) -> None:
    rows = examples(paths, rules)
    folds = [rows[i::_FOLDS] for i in range(_FOLDS)]
    right = 0
    for i, test in enumerate(folds):
        train = [r for j, fold in enumerate(folds) if j != i for r in fold]
        right += round(accuracy(fit(train, alpha), test) * len(test))
    print(f"alpha={alpha}: {_FOLDS}-fold out-of-fold accuracy {right / len(rows):.1%} "
          f"on {len(rows)}")
    present = [p for p in paths if p.exists()]
    for path in present if len(present) > 1 else []:
        others = examples([p for p in present if p != path], rules)
        own = examples([path], rules)
        print(f"  {path.parent.name}/{path.name} scored by a model of the others: "
              f"{accuracy(fit(others, alpha), own):.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--check", action="store_true", help="cross-validate, write nothing")
    parser.add_argument("--alpha", type=float, default=ALPHA)
    args = parser.parse_args()
    rules = load_rules(args.rules)
    if args.check:
        check(TRAINING_FILES, rules, args.alpha)
        return 0
    model = fit(examples(TRAINING_FILES, rules), args.alpha)
    args.out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out} ({len(model['weights'])} features)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
