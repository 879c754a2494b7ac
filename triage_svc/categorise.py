"""The category of a complaint, with the words behind it.

In order:
1. A fired level rule with a `category` decides: harm to people or a hazard is `safety`
   whatever the product, a leak of personal data is `privacy` (labelling policy,
   tests/data/complaints_README.md). The most severe such rule wins.
2. Otherwise a linear model (complement naive Bayes) scores each category from the text's
   Chinese character 1..3-grams and English words and word pairs plus the `[categories]`
   topic words of rules.toml that occur (negated or not), the topic features scaled up
   (they generalise across writers better than n-grams: cross-validated, see
   `train_category --check`). It is trained at build time
   (`python -m triage_svc.train_category`) from the labelled development files in
   tests/data/, and stored as plain JSON weights next to this module.
   It picks `safety` only by a clear margin (`SAFETY_MARGIN`): no harm rule fired.
3. Without the model file, the category with most topic words wins (ties: first listed).
The evidence is the topic words found for the chosen category, then the model's strongest
n-grams for it; `other` when nothing points anywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from shared.events.schemas import Category
from triage_svc.levels import Filters, find_span, occurs
from triage_svc.rules import CATEGORIES, Rule, Rules

MODEL_FILE = Path(__file__).with_name("category_model.json")
_MAX_EVIDENCE = 4
# How far `safety` must lead the next category when no harm or hazard rule fired (score
# points of the naive Bayes model). `bench/category_experiments.py --margins 3,5,8,12,inf`,
# leave-v2-out ... -v7-out with rules v13: 76.1% (3), 76.5 (5), 76.8 (8), 76.9 (12), 75.6
# (never): 8 is at least as good as 3 on every set; with 3 the model named `safety` for
# kitchens, hospitals and car doors where nothing was harmful.
SAFETY_MARGIN = 8.0


@dataclass(frozen=True)
class Model:
    """A linear model over sparse features (`features`): class i scores
    bias[i] + sum_f value_f * weights[f][i] + mass[i] * sum_f value_f, the sums over the
    features the model knows (complement naive Bayes, `train_category.fit`)."""

    classes: tuple[Category, ...]
    bias: tuple[float, ...]
    weights: dict[str, dict[int, float]]  # feature → {class index: weight}
    max_n: int
    min_n: int = 2
    topic_weight: float = 1.0  # how much one topic feature counts (see `features`)
    english_chars: int = 0  # length of the English character n-grams read (0: none)
    mass: tuple[float, ...] = ()  # per class, the weight of the known features' total value


def categorise_with_evidence(text: str, rules: Rules, fired: Sequence[Rule],
                             model: Model | Literal["shipped"] | None = "shipped"
                             ) -> tuple[Category, list[str]]:
    """The category of a normalised text and the words that point to it (`model`: the
    shipped weights unless given; cross-validation passes a model of its training folds)."""
    for rule in sorted(fired, key=lambda r: r.level):
        if rule.category is not None:
            return rule.category, [f'rule {rule.name}']
    topics = topic_words(text, rules)
    if model == "shipped":
        model = load_model()
    if model is None:
        return _by_counts(topics, rules)
    category, ngrams = _by_model(model, text, topics)
    if category == "other":
        return category, []
    quoted = [f'"{word}"' for word in topics.get(category, [])] + ngrams
    return category, list(dict.fromkeys(quoted))[:2 * _MAX_EVIDENCE]


def topic_words(text: str, rules: Rules) -> dict[Category, list[str]]:
    """The `[categories]` words that occur in the text, per category. Negation does not hide
    a topic ("没拆封想退货" is a return), except harm: "no one was hurt" is not about safety."""
    found: dict[Category, list[str]] = {}
    harm = Filters(rules.negation)
    for category, terms in rules.categories:
        spans = [find_span(text, term, harm) if category == "safety" else occurs(text, term)
                 for term in terms]
        words = [text[span[0]:span[1]] for span in spans if span is not None]
        if words:
            found[category] = words
    return found


def _by_counts(topics: dict[Category, list[str]], rules: Rules) -> tuple[Category, list[str]]:
    best: Category = "other"
    best_hits = 0
    for category, _ in rules.categories:
        if len(topics.get(category, [])) > best_hits:
            best, best_hits = category, len(topics[category])
    return best, [f'"{word}"' for word in topics.get(best, [])]


def _by_model(model: Model, text: str, topics: dict[Category, list[str]]
              ) -> tuple[Category, list[str]]:
    scores = list(model.bias)
    contributions: dict[str, list[float]] = {}
    known = 0.0
    for feature, value in features(text, topics, model.max_n, model.min_n,
                                   model.topic_weight, model.english_chars).items():
        weights = model.weights.get(feature)
        if weights is None:
            continue
        known += value
        for index, weight in weights.items():
            scores[index] += weight * value
        contributions[feature] = [weights.get(i, 0.0) * value for i in range(len(scores))]
    for index, weight in enumerate(model.mass):
        scores[index] += weight * known
    best = _gated(model, scores)
    # Evidence quotes words a reader recognises: no lone Chinese characters ("费", "三").
    strongest = sorted((c[best], f) for f, c in contributions.items()
                       if c[best] > 0 and (f.startswith("w:")
                                           or (f.startswith("c:") and len(f) > 3)))
    ngrams = [f'"{f[2:]}"' for _, f in reversed(strongest[-_MAX_EVIDENCE:])]
    return model.classes[best], ngrams


def _gated(model: Model, scores: list[float]) -> int:
    """The best-scoring class, except that `safety` must win by `SAFETY_MARGIN`: the model
    is asked only when no harm or hazard rule fired, and by the labelling policy `safety`
    is harm or a hazard, so the n-grams alone rarely mean it (cross-validated, see
    `train_category --check`)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    best = order[0]
    if (model.classes[best] == "safety" and len(order) > 1
            and scores[best] - scores[order[1]] < SAFETY_MARGIN):
        return order[1]
    return best


def features(text: str, topics: dict[Category, list[str]], max_n: int, min_n: int = 2,
             topic_weight: float = 1.0, english_chars: int = 0) -> dict[str, float]:
    """Character min_n..max_n-grams of the Chinese runs, English words and word pairs, the
    English words' character `english_chars`-grams (" refu": "refund", "refunded" and
    "refundable" share them; cross-validated, see `train_category --check`), and one feature
    per category whose topic words occur (their count, damped, times `topic_weight`: the
    topic words generalise better than the n-grams, so they weigh more than one n-gram
    under the same regularisation)."""
    found = text_features(text, min_n, max_n)
    if english_chars:
        for word in _ascii_words(text):
            padded = f" {word} "
            for i in range(len(padded) - english_chars + 1):
                found[f"e:{padded[i:i + english_chars]}"] = 1.0
    for category, hits in topics.items():
        found[f"topic:{category}"] = topic_weight * math.log1p(len(hits))
    return found


def text_features(text: str, min_n: int, max_n: int) -> dict[str, float]:
    """Character min_n..max_n-grams of the Chinese runs ("c:送医"), English words and word
    pairs, crudely stemmed ("w:hospit", "w:was taken")."""
    found: dict[str, float] = {}
    for run in _chinese_runs(text):
        for n in range(min_n, max_n + 1):
            for i in range(len(run) - n + 1):
                found[f"c:{run[i:i + n]}"] = 1.0
    words = _english_words(text)
    for i, word in enumerate(words):
        found[f"w:{word}"] = 1.0
        if i + 1 < len(words):
            found[f"w:{word} {words[i + 1]}"] = 1.0
    return found


def english_surfaces(text: str) -> dict[str, str]:
    """Each English stem of the text and the word it came from (first occurrence), so that
    evidence quotes the complainant's words: "hospit" → "hospitals"."""
    surfaces: dict[str, str] = {}
    for word in _ascii_words(text):
        surfaces.setdefault(english_stem(word), word)
    return surfaces


def _chinese_runs(text: str) -> list[str]:
    runs: list[str] = []
    current: list[str] = []
    for char in text:
        if "\u4e00" <= char <= "\u9fff":
            current.append(char)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


def _english_words(text: str) -> list[str]:
    return [english_stem(w) for w in _ascii_words(text)]


def _ascii_words(text: str) -> list[str]:
    return "".join(c if c.isascii() and (c.isalnum() or c == "'") else " " for c in text).split()


def english_stem(word: str) -> str:
    """A crude English stem: enough to join "refunds", "refunded", "refunding"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_FILE) -> Model | None:
    """The trained weights, read once; None when the file is absent."""
    if not path.exists():
        return None
    return model_from_json(json.loads(path.read_text(encoding="utf-8")), str(path))


def model_from_json(raw: dict[str, Any], path: str = "category model") -> Model:
    """A model from its JSON form (the weights file, or `train_category.fit`'s result)."""
    classes = tuple(raw["classes"])
    if not set(classes) <= set(CATEGORIES):
        raise ValueError(f"{path}: unknown categories in {classes}")
    if len(raw.get("mass", classes)) != len(classes):
        raise ValueError(f"{path}: {len(raw['mass'])} mass weights for {len(classes)} classes")
    weights = {feature: {int(i): float(w) for i, w in row.items()}
               for feature, row in raw["weights"].items()}
    return Model(classes, tuple(float(b) for b in raw["bias"]), weights, int(raw["max_n"]),
                 int(raw.get("min_n", 2)), float(raw.get("topic_weight", 1.0)),
                 int(raw.get("english_chars", 0)),
                 tuple(float(m) for m in raw.get("mass", ())))
