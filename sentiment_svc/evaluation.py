"""Quality figures shared by `bench/sentiment_quality.py` and the regression test."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sentiment_svc.model import Language

MENTION_SETS = Path(__file__).resolve().parents[1] / "tests" / "data"
DEV_SETS = MENTION_SETS / "dev"
# Measured by the lead only, at the end; development never reads it. It may be absent:
# each blind set, once measured, is retired into DEV_SETS (mentions_heldout_v<n>_*, found by
# `retired_stems`), and the current one, when placed, is here (its README says which).
HELDOUT_SETS = MENTION_SETS / "heldout"
LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Labelled:
    label: str
    source: str
    language: Language
    text: str


def retired_stems(folder: Path = DEV_SETS) -> tuple[str, ...]:
    """The retired blind mention sets in `folder` (mentions_heldout_v<n>_zh/_en.tsv), v1 up."""
    numbered = {int(m[1]) for path in folder.glob("mentions_heldout_v*_zh.tsv")
                if (m := re.fullmatch(r"mentions_heldout_v([0-9]+)_zh[.]tsv", path.name))}
    return tuple(f"mentions_heldout_v{n}" for n in sorted(numbered))


# The labelled mentions the mention-domain head trains on (train.py), as (folder, stem).
TRAINING_SETS = ((MENTION_SETS, "mentions"), (DEV_SETS, "mentions"), (DEV_SETS, "mentions_more"),
                 *((DEV_SETS, stem) for stem in retired_stems()))


def labelled_mentions(folder: Path = MENTION_SETS, stem: str = "mentions") -> list[Labelled]:
    """`<stem>_<lang>.tsv`: label, source, text per line; `#` lines are comments."""
    out: list[Labelled] = []
    for lang in ("zh", "en"):
        language: Language = "zh" if lang == "zh" else "en"
        path = folder / f"{stem}_{lang}.tsv"
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                label, source, text = line.split("\t")
                out.append(Labelled(label, source, language, text))
    return out


def near_duplicate_groups(texts: Sequence[str], threshold: float = 0.5) -> list[int]:
    """A group id per text: texts whose character 2-3-gram TF-IDF cosine reaches the
    threshold (rewordings of one post) are joined, transitively, so a fold split keeps
    them together."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)).fit_transform(
        [t.lower() for t in texts])
    similar = (x @ x.T).tocoo()
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, value in zip(similar.row, similar.col, similar.data, strict=True):
        if i < j and value >= threshold:
            parent[root(int(i))] = root(int(j))
    return [root(i) for i in range(len(texts))]


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(1, len(gold))


def macro_f1(gold: Sequence[str], predicted: Sequence[str],
             labels: Sequence[str] = LABELS) -> float:
    scores = []
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)
