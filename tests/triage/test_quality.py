"""The development sets as a regression floor: the aims of issue #15 on each of them.

Exact level >= 90%, category >= 85%, zero severe under-triage, under 5 ms CPU per
complaint. The held-out set is not read here: it is measured by bench/triage_quality.py,
and nothing here depends on whether it is present.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from shared.events.schemas import Category
from triage_svc import categorise
from triage_svc.levels import Assessment, Models, assess
from triage_svc.quality import (
    DEVELOPMENT,
    HELDOUT,
    HELDOUT_V5,
    HELDOUT_V6,
    LABELLED,
    Labelled,
    is_severe_under_triage,
    load_labelled,
    near_duplicate_groups,
    score,
)
from triage_svc.rules import CATEGORIES, load_rules

RULES = load_rules()
# v5 and v6, retired after the others, are held to floors of their own (below).
SETS = [path for path in DEVELOPMENT if path.exists() and path not in (HELDOUT_V5, HELDOUT_V6)]
ROWS = load_labelled(DEVELOPMENT[0])


def describe(rows: list[tuple[Labelled, Assessment]]) -> str:
    return "\n".join(f"line {row.line}: {row.complaint.content!r} want L{row.level}/"
                     f"{row.category}, got L{got.response_level}/{got.category}"
                     for row, got in rows)


def test_the_labelled_set_covers_what_the_aims_need() -> None:
    assert len(ROWS) >= 150
    assert sum(row.complaint.content.isascii() for row in ROWS) >= 40
    assert {row.level for row in ROWS} == {1, 2, 3, 4}
    assert {row.category for row in ROWS} == set(CATEGORIES)


@pytest.mark.parametrize("path", SETS, ids=[f"{p.parent.name}/{p.name}" for p in SETS])
def test_quality_floors(path: Path) -> None:
    result = score(load_labelled(path), RULES)
    assert not result.severe_under, describe(list(result.severe_under))
    assert result.exact_rate >= 0.90, describe(list(result.misses))
    assert result.category_rate >= 0.85, describe(list(result.misses))


# Sets v5 and v6, in-sample now that both models train on them, stay below the other sets'
# 90% exact level (84.8% and 85.3% with rules v14): their remaining misses are mostly
# over-triage on borderline labels. Each floor records where its set stands so that a
# change that loses ground on it fails; neither may have a severe under-triage. (Sets v7
# and v8, retired with rules v13 and v14, meet the others' 90%: 92.5% and 92.0%.)
RETIRED_FLOORS = {HELDOUT_V5: 0.83, HELDOUT_V6: 0.83}


@pytest.mark.parametrize("path", list(RETIRED_FLOORS), ids=lambda p: p.name)
def test_the_later_retired_sets_keep_their_floors(path: Path) -> None:
    result = score(load_labelled(path), RULES)
    assert not result.severe_under, describe(list(result.severe_under))
    assert result.exact_rate >= RETIRED_FLOORS[path], describe(list(result.misses))
    assert result.category_rate >= 0.85, describe(list(result.misses))


def test_triage_costs_under_five_ms_of_cpu_per_complaint() -> None:
    rows = [row for path in DEVELOPMENT if path.exists() for row in load_labelled(path)]
    start = time.process_time()
    for row in rows:
        assess(row.complaint, RULES, row.history)
    assert (time.process_time() - start) * 1000 / len(rows) < 5.0


def test_the_floor_can_fail() -> None:
    # Without the level-1 harm rules the same scoring must report the damage ...
    crippled = replace(RULES, rules=tuple(
        r for r in RULES.rules if r.name not in {"casualties", "public_safety", "large_group"}))
    no_net = Models(categorise.load_model(), None)
    result = score(ROWS, crippled, [no_net] * len(ROWS))
    assert result.severe_under
    assert result.exact_rate < 0.90
    # ... which the severity safety net softens: fewer severe under-triages, never more.
    netted = score(ROWS, crippled)
    assert len(netted.severe_under) < len(result.severe_under)
    assert netted.raised > 0


def test_the_category_floor_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without topic words, rule categories and the model everything is `other`.
    monkeypatch.setattr(categorise, "load_model", lambda: None)
    without_topics = replace(RULES, categories=(), rules=tuple(
        replace(r, category=None) for r in RULES.rules))
    assert score(ROWS, without_topics).category_rate < 0.85


def test_severe_under_triage_definition() -> None:
    assert is_severe_under_triage(1, 3) and is_severe_under_triage(2, 4)
    assert not is_severe_under_triage(1, 2) and not is_severe_under_triage(3, 4)
    assert not is_severe_under_triage(2, 3)


def test_the_category_model_is_plain_data_rebuilt_byte_for_byte() -> None:
    from triage_svc.train_category import TRAINING_FILES, examples, fit

    assert categorise.load_model() is not None
    rebuilt = fit(examples(TRAINING_FILES, RULES))
    shipped = json.loads(categorise.MODEL_FILE.read_text(encoding="utf-8"))
    assert rebuilt == shipped  # retrain after changing the data or [categories]


def test_the_severity_model_is_plain_data_rebuilt_byte_for_byte() -> None:
    from triage_svc import severity
    from triage_svc.train_severity import TRAINING_FILES, examples, fit

    assert severity.load_model() is not None
    rebuilt = fit(examples(TRAINING_FILES, RULES))
    shipped = json.loads(severity.MODEL_FILE.read_text(encoding="utf-8"))
    assert rebuilt == shipped  # retrain (make model) after changing the data


def test_cross_validation_retrains_the_models_without_the_rows_they_score() -> None:
    from triage_svc.quality import cross_validate

    results = {title: (netted, bare) for title, netted, bare in
               cross_validate([DEVELOPMENT[0]], RULES, folds=3)}
    netted, bare = results["3-fold, near-duplicates grouped, all files"]
    assert netted.total == bare.total == len(ROWS)
    # Out of sample the category model is worse than in sample: it did not see the rows.
    assert netted.category_rate < score(ROWS, RULES).category_rate
    assert bare.raised == 0 and netted.raised > 0  # "bare" is without the safety net


def test_near_duplicates_share_a_group_and_other_rows_do_not() -> None:
    first, second, third = ROWS[:3]
    copy = replace(first, line=999, complaint=first.complaint.model_copy(
        update={"content": first.complaint.content + "！！"}))
    groups = near_duplicate_groups([first, second, third, copy])
    assert groups[0] == groups[3]
    assert len({groups[0], groups[1], groups[2]}) == 3


def test_the_whole_file_split_scores_the_named_files_by_models_of_the_others() -> None:
    from triage_svc.quality import out_of_sample

    dev = DEVELOPMENT[1]
    splits = out_of_sample([LABELLED, dev], RULES, folds=2, test_files=[dev])
    whole = [s for s in splits if "by models of the other files" in s.title]
    assert len(whole) == 1
    assert len(whole[0].rows) == len(load_labelled(dev))
    assert len({id(m) for m in whole[0].models}) == 1  # one model pair, trained on LABELLED


def _bench(data: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "bench/triage_quality.py", "--repetitions", "1",
                           "--data", str(data), *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr  # 1: an aim not met, never a crash
    return done.stdout


def test_the_bench_says_when_the_held_out_set_is_absent(tmp_path: Path) -> None:
    assert HELDOUT.name == "complaints.jsonl" and HELDOUT.parent.name == "heldout"
    out = _bench(LABELLED, "--heldout", str(tmp_path / "absent.jsonl"))
    assert "no held-out set present" in out
    assert "out-of-sample" not in out.split("rules version")[1]


def test_the_bench_scores_a_held_out_set_without_showing_its_rows(tmp_path: Path) -> None:
    lines = LABELLED.read_text(encoding="utf-8").splitlines()[:5]
    heldout = tmp_path / "complaints.jsonl"
    heldout.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = _bench(DEVELOPMENT[1], "--heldout", str(heldout), "--misses")
    assert "misses (level or category):" in out  # rows of the in-sample set are listed
    assert "no held-out set present" not in out
    assert f"out-of-sample {tmp_path.name}/complaints.jsonl: 5 complaints" in out
    for line in lines:
        assert json.loads(line)["content"][:40] not in out


def test_leave_v2_out_scores_the_named_file_by_models_of_the_others() -> None:
    from triage_svc.quality import out_of_sample

    dev = DEVELOPMENT[1]
    splits = out_of_sample([LABELLED, dev], RULES, folds=2, test_files=[], leave_out=[dev])
    alone = [s for s in splits if s.title == "dev/complaints.jsonl by models of the others"]
    assert len(alone) == 1
    assert len(alone[0].rows) == len(load_labelled(dev))
    assert len({id(m) for m in alone[0].models}) == 1


def test_the_model_picks_safety_only_by_a_clear_margin() -> None:
    # The model is asked only when no harm or hazard rule fired: a narrow lead for safety
    # goes to the runner-up, a wide one stands.
    rules = replace(RULES, categories=())
    classes: tuple[Category, ...] = ("safety", "billing", "other")

    def model(lead: float) -> categorise.Model:
        return categorise.Model(classes, (0.0, 0.0, -5.0), {"c:账单": {0: 1.0 + lead, 1: 1.0}},
                                max_n=2, min_n=2)

    narrow = categorise.categorise_with_evidence("账单", rules, [], model(1.0))
    wide = categorise.categorise_with_evidence("账单", rules, [],
                                               model(categorise.SAFETY_MARGIN + 1.0))
    assert narrow[0] == "billing" and wide[0] == "safety"
    assert narrow[1] == ['"账单"']


def test_the_retired_held_out_sets_train_and_are_left_out_one_at_a_time() -> None:
    from triage_svc.quality import DATA, LEAVE_OUT

    retired = [DATA / "dev" / f"complaints_heldout_v{n}.jsonl" for n in range(1, 25)]
    assert all(path.exists() and path in DEVELOPMENT for path in retired)
    assert HELDOUT not in DEVELOPMENT
    assert LEAVE_OUT == tuple(retired[1:])  # v2 ... v24, in the order they were written


def test_the_category_model_scores_as_complement_naive_bayes_does() -> None:
    # The JSON form (per-class weights only where a feature occurred, plus the per-class
    # weight of the known features' total) ranks classes as sklearn's ComplementNB does.
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.naive_bayes import ComplementNB

    from triage_svc.train_category import examples, fit

    rows = examples([LABELLED], RULES)
    train, test = rows[::2], rows[1::2]
    model = categorise.model_from_json(fit(train))
    assert any(model.mass)
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([f for f, _ in train])
    reference = ComplementNB(alpha=1.0).fit(x, [label for _, label in train])
    jll = vectorizer.transform([f for f, _ in test]) @ reference.feature_log_prob_.T
    for (feats, _), expected in zip(test, np.asarray(jll), strict=True):
        scores = list(model.bias)
        known = sum(v for f, v in feats.items() if f in model.weights)
        for f, v in feats.items():
            for i, w in model.weights.get(f, {}).items():
                scores[i] += w * v
        scores = [s + m * known for s, m in zip(scores, model.mass, strict=True)]
        # equal up to one constant per text (the dropped class-independent term)
        assert np.allclose(np.array(scores) - scores[0], expected - expected[0], atol=0.05)
