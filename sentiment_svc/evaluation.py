"""Quality figures shared by `bench/sentiment_quality.py` and the regression test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sentiment_svc.model import Language

MENTION_SETS = Path(__file__).resolve().parents[1] / "tests" / "data"
LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Labelled:
    label: str
    source: str
    language: Language
    text: str


def labelled_mentions(folder: Path = MENTION_SETS) -> list[Labelled]:
    """`mentions_<lang>.tsv`: label, source, text per line; `#` lines are comments."""
    out: list[Labelled] = []
    for lang in ("zh", "en"):
        language: Language = "zh" if lang == "zh" else "en"
        for line in (folder / f"mentions_{lang}.tsv").read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                label, source, text = line.split("\t")
                out.append(Labelled(label, source, language, text))
    return out


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
