"""Sentiment scoring, Chinese and English, on CPU, from an artefact trained at build time.

Chinese: one TF-IDF character 1-3-gram vector feeds two linear heads trained by
`python -m sentiment_svc.train`: *subjectivity* (neutral vs opinionated) and *polarity*
(negative vs positive, NB-weighted logistic regression, which beat plain LR on the held-out
reviews). English: VADER's lexicon with a few complaint-domain words added. Both then pass
the same sarcasm rule, because sarcastic praise ("呵呵", "thanks for nothing") reads as
positive to a bag of n-grams and to a lexicon alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

Label = Literal["negative", "neutral", "positive"]
Language = Literal["zh", "en"]

ARTEFACT = Path(__file__).parent / "model" / "sentiment.joblib"
ARTEFACT_VERSION = 2
VECTORIZER_PARAMS = ("analyzer", "ngram_range", "sublinear_tf", "min_df", "dtype", "lowercase",
                     "norm", "use_idf", "smooth_idf")

# Below this subjectivity the text is treated as factual (news-style) whatever its polarity.
SUBJECTIVITY_THRESHOLD = 0.5
# VADER's compound is in -1..1; short factual sentences land near 0. The usual ±0.05 makes
# most news polar, so the band is wider here.
VADER_THRESHOLD = 0.3

SARCASM_ZH = ("呵呵", "真是谢谢", "谢谢你全家", "好一个", "真服了", "服了你们", "真行啊",
              "厉害了我的", "可真是", "笑死", "醉了", "无语")
SARCASM_EN = ("yeah right", "thanks for nothing", "oh great", "so much for", "just what i needed",
              "/s", "what a joke", "wow, just wow", "great job, not")

# Complaint-domain words VADER's general lexicon lacks (valence on VADER's -4..4 scale).
EN_DOMAIN = {
    "scam": -2.5, "scammed": -2.5, "leaked": -1.8, "leak": -1.5, "leaking": -1.5,
    "recall": -1.2, "recalled": -1.2, "bricked": -2.5, "overcharged": -2.0, "refused": -1.5,
    "hospitalised": -2.0, "hospitalized": -2.0, "injured": -2.2, "rash": -1.5, "rashes": -1.5,
    "floods": -1.5, "flooded": -1.5, "vanished": -1.5, "disappeared": -1.5, "froze": -1.2,
    "delay": -1.2, "delayed": -1.2, "late": -0.8, "protested": -1.5, "cracked": -1.5,
    "broke": -1.5, "misleading": -2.0, "breach": -2.0, "lawsuit": -1.5, "court": -0.8,
    "avoid": -1.5, "spammers": -1.8, "unhelpful": -2.0, "bricking": -2.5,
}


@dataclass(frozen=True)
class Scored:
    label: Label
    score: float  # -1 (very negative) .. 1 (very positive)
    language: Language
    reasons: tuple[str, ...] = ()


_CJK = re.compile(r"[\u4e00-\u9fff]")


def detect_language(text: str) -> Language:
    """zh when CJK characters make a quarter of the text (or ten of them), else en."""
    cjk = len(_CJK.findall(text))
    return "zh" if cjk * 4 >= len(text.strip()) or cjk >= 10 else "en"


def sarcastic(text: str, language: Language) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in (SARCASM_ZH if language == "zh" else SARCASM_EN))


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return out


def label_of(score: float, opinionated: bool) -> Label:
    if not opinionated or score == 0.0:
        return "neutral"
    return "positive" if score > 0 else "negative"


def apply_sarcasm(scored: Scored, text: str) -> Scored:
    """A sarcasm marker on a non-negative reading turns it negative (never the reverse)."""
    if scored.label == "negative" or not sarcastic(text, scored.language):
        return scored
    return Scored("negative", min(-0.4, -abs(scored.score)), scored.language,
                  (*scored.reasons, "sarcasm marker"))


def rebuild_vectorizer(spec: dict[str, Any]) -> TfidfVectorizer:
    """A fitted TfidfVectorizer from plain data (parameters, vocabulary, idf)."""
    params = dict(spec["params"])
    params["dtype"] = np.dtype(params["dtype"]).type
    params["ngram_range"] = tuple(params["ngram_range"])
    vectorizer = TfidfVectorizer(**params)
    vectorizer.vocabulary_ = spec["vocabulary"]
    vectorizer.idf_ = spec["idf"]
    return vectorizer


class SentimentModel:
    """Scores texts in batches; load once per process (`default_model()`)."""

    def __init__(self, artefact: dict[str, Any]) -> None:
        if artefact.get("version") != ARTEFACT_VERSION:
            raise ValueError(f"sentiment artefact version {artefact.get('version')!r}, "
                             f"expected {ARTEFACT_VERSION}: run python -m sentiment_svc.train")
        self.vectorizer = rebuild_vectorizer(artefact["vectorizer"])
        # Two heads in one sparse product: column 0 polarity, column 1 subjectivity.
        self.weights: NDArray[np.float32] = artefact["weights"]
        self.bias: NDArray[np.float32] = artefact["bias"]
        self.meta: dict[str, Any] = artefact.get("meta", {})
        # IDF of hashed character n-grams, for topic and complaint similarity (clustering.py).
        self.topic_idf: NDArray[np.float16] = artefact["topic_idf"]
        self.vader = SentimentIntensityAnalyzer()
        self.vader.lexicon.update(EN_DOMAIN)

    @classmethod
    def load(cls, path: Path = ARTEFACT) -> SentimentModel:
        return cls(joblib.load(path))

    def chinese_heads(self, texts: Sequence[str]) -> tuple[NDArray[np.float64],
                                                          NDArray[np.float64]]:
        """(P(positive | opinionated), P(opinionated)) per text."""
        logits = np.asarray(self.vectorizer.transform(texts) @ self.weights) + self.bias
        probs = _sigmoid(logits.astype(np.float64))
        return probs[:, 0], probs[:, 1]

    def score_many(self, texts: Sequence[str],
                   languages: Sequence[Language | None] | None = None) -> list[Scored]:
        langs = [lang or detect_language(text)
                 for text, lang in zip(texts, languages or [None] * len(texts), strict=True)]
        out: list[Scored | None] = [None] * len(texts)
        zh = [i for i, lang in enumerate(langs) if lang == "zh"]
        if zh:
            p_pos, p_subj = self.chinese_heads([texts[i] for i in zh])
            for i, pos, subj in zip(zh, p_pos, p_subj, strict=True):
                out[i] = self._zh(float(pos), float(subj))
        for i, lang in enumerate(langs):
            if lang == "en":
                out[i] = self._en(texts[i])
        return [apply_sarcasm(s, text) for s, text in zip(_all(out), texts, strict=True)]

    def score(self, text: str, language: Language | None = None) -> Scored:
        return self.score_many([text], [language])[0]

    @staticmethod
    def _zh(p_pos: float, p_subj: float) -> Scored:
        polarity = 2.0 * p_pos - 1.0
        value = round(p_subj * polarity, 3)
        return Scored(label_of(value, p_subj >= SUBJECTIVITY_THRESHOLD), value, "zh")

    def _en(self, text: str) -> Scored:
        compound = float(self.vader.polarity_scores(text)["compound"])
        return Scored(label_of(compound, abs(compound) >= VADER_THRESHOLD),
                      round(compound, 3), "en")


def _all(items: list[Scored | None]) -> list[Scored]:
    return [item for item in items if item is not None]


@lru_cache(maxsize=1)
def default_model() -> SentimentModel:
    return SentimentModel.load()
