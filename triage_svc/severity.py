"""The severity safety net: a model floor under the level the rules give.

The rules (`rules.toml`) are the primary explanation of a level, but they only know the
phrasings someone wrote down; a severe complaint phrased another way ends at level 4, the
hourly digest to the case owner alone. This module scores how much a text resembles the
severe complaints (true level 1 or 2) of the development sets with a binary logistic
regression over the text's Chinese character 1..max_n-grams and English words and word
pairs (`triage_svc.categorise.text_features`), trained at build time
(`python -m triage_svc.train_severity`) and stored as plain JSON next to this module.

When the rules give level 4 and P(severe) reaches `raise_to_3`, the level becomes 3; when
the rules give level 3 or 4 and it reaches `raise_to_2`, the level becomes 2. The floor
only ever raises (DOMAIN.md: "A level can only be raised automatically"), never touches a
level 1 or 2, and says why in one reason line quoting the n-grams of the text that pushed
it most. Both thresholds were chosen by cross-validation on the development sets and are
stored in the weights file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from triage_svc.categorise import english_surfaces, text_features

MODEL_FILE = Path(__file__).with_name("severity_model.json")

_MAX_EVIDENCE = 3
RULE_NAME = "severity_model"


@dataclass(frozen=True)
class Model:
    """P(severe) = sigmoid(bias + sum of the weights of the text's features)."""

    bias: float
    weights: dict[str, float]
    max_n: int
    raise_to_3: float  # from this P(severe) a level 4 becomes level 3
    raise_to_2: float  # from this P(severe) a level 3 or 4 becomes level 2


@dataclass(frozen=True)
class Floor:
    level: int
    probability: float
    evidence: list[str]  # quoted words of the text, strongest first

    def reason(self) -> str:
        words = ", ".join(self.evidence) or "the text as a whole"
        return (f"model: resembles severe complaints ({words}; P={self.probability:.2f}) "
                f"[{RULE_NAME} → level {self.level}]")


def probability(model: Model, text: str) -> tuple[float, list[str]]:
    """P(severe) of a normalised text and the words that pushed it up most."""
    score = model.bias
    pushes: list[tuple[float, str]] = []
    for feature, value in features(text, model.max_n).items():
        weight = model.weights.get(feature)
        if weight is not None:
            score += weight * value
            if weight > 0:
                pushes.append((weight * value, feature))
    return _sigmoid(score), _evidence(pushes, text)


def features(text: str, max_n: int) -> dict[str, float]:
    """What the model reads: `categorise.text_features` from single characters on."""
    return text_features(text, 1, max_n)


def floor(model: Model | None, text: str, level: int) -> Floor | None:
    """The level the model raises `level` to, or None when it leaves it alone."""
    if model is None or level <= 2:
        return None
    p, evidence = probability(model, text)
    if p >= model.raise_to_2:
        return Floor(2, p, evidence)
    if level == 4 and p >= model.raise_to_3:
        return Floor(3, p, evidence)
    return None


def _evidence(pushes: list[tuple[float, str]], text: str) -> list[str]:
    """The strongest features as the text's own words: longer Chinese n-grams first-class,
    overlapping ones once ("晕倒" rather than "晕倒" and "晕"), English words as written."""
    surfaces = english_surfaces(text)
    chosen: list[str] = []
    for _, feature in sorted(pushes, reverse=True):
        kind, gram = feature[:2], feature[2:]
        if kind == "c:" and len(gram) < 2:
            continue  # a single character is no quotable evidence
        words = gram if kind == "c:" else " ".join(surfaces.get(w, w) for w in gram.split())
        if any(words in seen or seen in words for seen in chosen):
            continue
        chosen.append(words)
        if len(chosen) == _MAX_EVIDENCE:
            break
    return [f'"{words}"' for words in chosen]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def model_from_json(raw: dict[str, Any], where: str = "severity model") -> Model:
    """A model from its JSON form (the weights file, or `train_severity.fit`'s result)."""
    to_3, to_2 = (float(raw["thresholds"][key]) for key in ("raise_to_3", "raise_to_2"))
    if not 0.0 < to_3 <= to_2 <= 1.0:
        raise ValueError(f"{where}: thresholds need 0 < raise_to_3 <= raise_to_2 <= 1")
    weights = {str(feature): float(weight) for feature, weight in raw["weights"].items()}
    return Model(float(raw["bias"]), weights, int(raw["max_n"]), to_3, to_2)


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_FILE) -> Model | None:
    """The trained weights, read once; None when the file is absent (no safety net)."""
    if not path.exists():
        return None
    return model_from_json(json.loads(path.read_text(encoding="utf-8")), str(path))
