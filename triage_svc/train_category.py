"""Build-time training of the category model: `python -m triage_svc.train_category`.

Reads the labelled development files (`triage_svc.quality.DEVELOPMENT`, those present;
never the held-out set), fits a multinomial logistic regression (classes balanced) over
`triage_svc.categorise.features` and writes plain JSON weights to
`triage_svc/category_model.json`. Deterministic: the same files give the same bytes.
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
C = 4.0  # inverse L2 strength, chosen by --check on the development files
TOPIC_WEIGHT = 6.0  # the topic-word features' scale, chosen by --check likewise
ENGLISH_CHARS = 4  # English character 4-grams: +1 point cross-validated (--check)
CLASS_WEIGHT = "balanced"  # small categories count as much as large ones (--check)
_MIN_WEIGHT = 0.02  # smaller weights barely move a score; dropping them keeps the file small
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


def fit(rows: Sequence[Example], c: float = C) -> dict[str, Any]:
    """The model as JSON-ready data: classes, bias, and per feature its class weights."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([f for f, _ in rows])
    model = LogisticRegression(C=c, max_iter=3000, solver="lbfgs", class_weight=CLASS_WEIGHT)
    model.fit(x, [label for _, label in rows])
    classes = [str(k) for k in model.classes_]
    weights: dict[str, dict[str, float]] = {}
    for j, name in enumerate(vectorizer.get_feature_names_out()):
        row = {str(i): round(float(model.coef_[i, j]), 4) for i in range(len(classes))
               if abs(model.coef_[i, j]) >= _MIN_WEIGHT}
        if row:
            weights[str(name)] = row
    return {"classes": classes, "bias": [round(float(b), 4) for b in model.intercept_],
            "max_n": MAX_N, "min_n": MIN_N, "topic_weight": TOPIC_WEIGHT,
            "english_chars": ENGLISH_CHARS,
            "weights": dict(sorted(weights.items()))}


def predict(model: dict[str, Any], feats: dict[str, float]) -> str:
    scores = list(model["bias"])
    for feature, value in feats.items():
        for index, weight in model["weights"].get(feature, {}).items():
            scores[int(index)] += weight * value
    return str(model["classes"][max(range(len(scores)), key=lambda i: scores[i])])


def accuracy(model: dict[str, Any], rows: Sequence[Example]) -> float:
    return sum(predict(model, f) == label for f, label in rows) / max(1, len(rows))


def check(paths: Sequence[Path], rules: Rules, c: float) -> None:
    rows = examples(paths, rules)
    folds = [rows[i::_FOLDS] for i in range(_FOLDS)]
    right = 0
    for i, test in enumerate(folds):
        train = [r for j, fold in enumerate(folds) if j != i for r in fold]
        right += round(accuracy(fit(train, c), test) * len(test))
    print(f"C={c}: {_FOLDS}-fold out-of-fold accuracy {right / len(rows):.1%} on {len(rows)}")
    present = [p for p in paths if p.exists()]
    for path in present if len(present) > 1 else []:
        others = examples([p for p in present if p != path], rules)
        own = examples([path], rules)
        print(f"  {path.parent.name}/{path.name} scored by a model of the others: "
              f"{accuracy(fit(others, c), own):.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--check", action="store_true", help="cross-validate, write nothing")
    parser.add_argument("--c", type=float, default=C)
    args = parser.parse_args()
    rules = load_rules(args.rules)
    if args.check:
        check(TRAINING_FILES, rules, args.c)
        return 0
    model = fit(examples(TRAINING_FILES, rules), args.c)
    args.out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out} ({len(model['weights'])} features)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
