"""The shipped scorer: three classes, both languages, negation, sarcasm, a quality floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment_svc.evaluation import (
    TRAINING_SETS,
    Labelled,
    accuracy,
    labelled_mentions,
    macro_f1,
)
from sentiment_svc.model import SentimentModel, default_model, detect_language

# Round three trains the mention head on every labelled mention set, so figures on them are
# fits; the honest estimate is cross-validation (5-fold, near-duplicates kept together),
# measured at 87.9% (zh 89.2, en 85.7) on 2,418 mentions, the retired held-out sets v1 and
# v2 among them. The floors sit a little under, per language too.
CV_FLOOR = {"all": 0.86, "zh": 0.875, "en": 0.83}
IN_SAMPLE_FLOOR = 0.93  # the fit on the trained-on sets: a guard that the artefact is current


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return default_model()


@pytest.mark.parametrize(("text", "label"), [
    ("客服态度恶劣，问题拖了一个月都没解决", "negative"),
    ("师傅上门很快，服务周到，非常满意", "positive"),
    ("市交通委发布通知，地铁二号线下月起延长运营时间", "neutral"),
    ("The refund never came and support ignores my emails. Awful.", "negative"),
    ("Friendly staff and a quick fix, thank you!", "positive"),
    ("The council will publish the new bus timetable on Monday.", "neutral"),
])
def test_three_classes_in_both_languages(model: SentimentModel, text: str, label: str) -> None:
    assert model.score(text).label == label


def test_negation_flips_the_reading(model: SentimentModel) -> None:
    assert model.score("这次的服务很满意").label == "positive"
    assert model.score("这次的服务很不满意").label == "negative"
    assert model.score("The service was good").label == "positive"
    assert model.score("The service was not good").label == "negative"


def test_sarcasm_markers_turn_praise_negative(model: SentimentModel) -> None:
    sarcastic = "呵呵，售后效率真高，二十天都没人来修"
    assert model.score(sarcastic).label == "negative"
    assert any(r.startswith("sarcasm") for r in model.score(sarcastic).reasons)
    assert model.score("Oh great, the delivery is late again. Thanks for nothing.").label \
        == "negative"
    # plain thanks is not sarcasm
    assert model.score("谢谢你们，护士对老人照顾得很周到").label == "positive"


# Issue #15: one test per failure kind seen on held-back sets.
@pytest.mark.parametrize("text", ["请问燃气费在哪里可以网上缴纳？",
                                  "有没有人知道新的社保卡怎么激活",
                                  "Does anyone know when the recycling centre opens on Sunday?"])
def test_questions_are_neutral(model: SentimentModel, text: str) -> None:
    assert model.score(text).label == "neutral"


@pytest.mark.parametrize("text", ["温馨提示：下周二上午小区停水检修，请居民提前储水",
                                  "Notice: the library will be closed on Monday for maintenance."])
def test_notices_are_neutral(model: SentimentModel, text: str) -> None:
    assert model.score(text).label == "neutral"


@pytest.mark.parametrize("text", [
    "区应急管理局通报：一居民楼发生燃气爆炸，三人受伤送医，事故原因正在调查",
    "Officials said a warehouse fire is under investigation; two people were taken to hospital.",
])
def test_bulletins_about_incidents_are_neutral(model: SentimentModel, text: str) -> None:
    assert model.score(text).label == "neutral"


@pytest.mark.parametrize("text", ["客服效率真高，报修半个月了还没人来",
                                  "Great, the train is cancelled again."])
def test_sarcasm_without_a_listed_marker_is_negative(model: SentimentModel, text: str) -> None:
    assert model.score(text).label == "negative"


@pytest.mark.parametrize("text", ["厂家主动召回问题批次，态度负责，值得点赞",
                                  "退货很顺利，客服态度好，第二天就退款了"])
def test_praise_that_names_a_recall_or_a_return_is_positive(model: SentimentModel,
                                                             text: str) -> None:
    assert model.score(text).label == "positive"


def test_mild_english_praise_is_positive(model: SentimentModel) -> None:
    text = "I complained on Monday and by Tuesday they had replaced the phone. Very impressed."
    assert model.score(text).label == "positive"


@pytest.mark.parametrize("text", ["燃气管道老化漏气，爆炸伤人，燃气公司失职",
                                  "燃气公司回应爆炸事故避重就轻，网友不满"])
def test_the_gas_explosion_texts_are_strongly_negative(model: SentimentModel,
                                                       text: str) -> None:
    scored = model.score(text)
    assert scored.label == "negative" and scored.score <= -0.6


# Mild complaints that name no notice wording: "有点不方便" also reads as a notice's "带来不便"
# (neutral), and the model trained with v24 scores it neutral.
@pytest.mark.parametrize("mild_text", ["快递晚到了一天，有点烦", "客服回复有点慢",
                                       "The parcel came a day late, a bit annoying."])
def test_scores_track_how_negative_a_text_is(model: SentimentModel, mild_text: str) -> None:
    mild = model.score(mild_text)
    harm = model.score("小区燃气管道起火爆炸，多人烧伤，燃气公司拒不回应")
    assert mild.label == harm.label == "negative"
    assert harm.score < mild.score - 0.3


def test_risk_follows_the_calibrated_score(model: SentimentModel) -> None:
    from sentiment_svc.risk import assess

    story = "燃气管道老化漏气，爆炸伤人，燃气公司失职"
    scored = model.score(story)
    risk = assess(scored.label, scored.score, "weibo", None, {"reposts": 20}, story)
    assert risk.level <= 2
    mild = assess("negative", -0.3, "weibo", None, {}, "快递晚到了一天")
    strong = assess("negative", -0.9, "weibo", None, {}, "快递晚到了一天")
    assert strong.score > mild.score


def test_scores_are_bounded_and_signed_like_labels(model: SentimentModel) -> None:
    for s in model.score_many(["太差了", "太好了", "今天周一", "bad", "good", "Monday"]):
        assert -1.0 <= s.score <= 1.0
        if s.label == "negative":
            assert s.score < 0
        if s.label == "positive":
            assert s.score > 0


# Round two: kinds of error the development set showed, each in words of our own.
def test_full_and_half_width_punctuation_read_alike(model: SentimentModel) -> None:
    full = "客服态度恶劣，问题拖了一个月都没解决，太差了！"
    half = "客服态度恶劣,问题拖了一个月都没解决,太差了!"
    assert model.score(full) == model.score(half)


@pytest.mark.parametrize("text", ["在这家店买手机没有任何套路，价格也透明",
                                  "No hassle, no hard sell, the switch took ten minutes."])
def test_a_negated_complaint_word_is_praise(model: SentimentModel, text: str) -> None:
    assert model.score(text).label == "positive"


@pytest.mark.parametrize("text", ["菜的味道不错，就是上菜慢，各有利弊吧",
                                  "Good coffee, slow service. A mixed bag on balance."])
def test_a_two_sided_verdict_is_neutral(model: SentimentModel, text: str) -> None:
    assert model.score(text).label == "neutral"


@pytest.mark.parametrize("text", ["孩子吃了他们的蛋糕食物中毒住院了，这是做食品的态度吗？",
                                  "My son was injured by their heater. Who signs these off?"])
def test_a_question_naming_harm_to_the_writer_is_a_complaint(model: SentimentModel,
                                                             text: str) -> None:
    assert model.score(text).label == "negative"


@pytest.mark.parametrize("text", ["退款申请提交三周了还没到账，真是高效。",
                                  "On hold for fifty minutes, then cut off. Efficient."])
def test_closing_praise_after_a_failure_is_sarcasm(model: SentimentModel, text: str) -> None:
    assert model.score(text).label == "negative"


def test_the_clause_after_a_turn_carries_the_verdict(model: SentimentModel) -> None:
    assert model.score("本来担心退货麻烦，结果当天就全额退了，很爽快").label == "positive"
    assert model.score("店员很热情，可惜东西质量太差，用两天就坏了").label == "negative"


def test_cue_lists_are_already_normalised() -> None:
    import unicodedata

    from sentiment_svc import cues

    lists = {name: value for name in dir(cues) if isinstance(value := getattr(cues, name), tuple)
             and all(isinstance(w, str) for w in value)}
    assert len(lists) >= 20, sorted(lists)  # the check ran on the cue lists, not on nothing
    for name, value in lists.items():
        assert all(unicodedata.normalize("NFKC", w) == w for w in value), name


def test_language_detection() -> None:
    assert detect_language("热水器漏电了") == "zh"
    assert detect_language("The heater leaks") == "en"
    assert detect_language("iPhone 15 屏幕碎了，售后不给换，太坑") == "zh"


def _scored(model: SentimentModel, items: list[Labelled]) -> tuple[list[str], list[str]]:
    predicted: list[str] = [s.label for s in model.score_many([i.text for i in items],
                                                   [i.language for i in items])]
    return [i.label for i in items], predicted


def test_the_fit_on_the_labelled_mentions(model: SentimentModel) -> None:
    """The sets the head trained on; far above CV, or the artefact is not the trained one."""
    for folder, stem in TRAINING_SETS:
        items = labelled_mentions(folder, stem)
        assert items, (folder, stem)  # every set ships in tests/data: none may pass unread
        gold, predicted = _scored(model, items)
        assert accuracy(gold, predicted) >= IN_SAMPLE_FLOOR, (folder, stem)
        assert macro_f1(gold, predicted) >= IN_SAMPLE_FLOOR, (folder, stem)


# CPU-bound, minutes on a loaded 2-core machine: the suite-wide 120 s bound is for waits.
@pytest.mark.timeout(600)
def test_cross_validated_quality_floor(model: SentimentModel) -> None:
    """The out-of-sample estimate: each fold's head never saw the fold (30 s idle)."""
    from sentiment_svc.train import HeadParams, cross_validate

    folded = cross_validate(model, HeadParams(**model.meta["head_params"]))
    for language, floor in CV_FLOOR.items():
        pairs = [(m.label, p) for m, p in zip(folded.mentions, folded.predicted, strict=True)
                 if language in ("all", m.language)]
        assert accuracy([g for g, _ in pairs], [p for _, p in pairs]) >= floor, language


def test_reviews_held_out_stay_above_their_floor(model: SentimentModel) -> None:
    from sentiment_svc.train import review_split

    split = review_split(model.meta["seed"])
    p_pos, _ = model.chinese_heads(split.test_texts)
    binary = ["positive" if p > 0.5 else "negative" for p in p_pos]
    assert accuracy(split.test_labels, binary) >= 0.86  # measured 86.5% (the aim, 90%, unmet)


def test_the_artefact_records_its_held_out_split(model: SentimentModel) -> None:
    from sentiment_svc.train import review_split

    split = review_split(model.meta["seed"])
    assert split.digest() == model.meta["heldout_digest"]
    assert not set(split.test_texts) & set(split.train_texts)


def test_training_never_reads_the_held_out_folder() -> None:
    """tests/data/heldout/ is the lead's, measured only; the retired set trains as dev data."""
    from sentiment_svc.evaluation import DEV_SETS, HELDOUT_SETS

    folders = {folder for folder, _ in TRAINING_SETS}
    assert HELDOUT_SETS not in folders
    for n in range(1, 25):  # v1 ... v24, each retired set by its name
        assert (DEV_SETS, f"mentions_heldout_v{n}") in TRAINING_SETS


def test_the_bench_says_so_when_the_held_out_mentions_are_absent(
        model: SentimentModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The held-out mention files may be missing (the lead drops them in): no crash, a line."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bench" / "sentiment_quality.py"
    spec = importlib.util.spec_from_file_location("sentiment_quality", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert labelled_mentions(tmp_path) == []
    bench.mention_rows(model, "out-of-sample", "mentions (tests/data/heldout)",
                       labelled_mentions(tmp_path), False)
    assert "absent" in capsys.readouterr().out


@pytest.mark.timeout(600)
def test_make_model_reproduces_the_artefact(tmp_path: Path) -> None:
    """`make model` is deterministic: retraining writes the committed bytes (40 s idle)."""
    from sentiment_svc.model import ARTEFACT
    from sentiment_svc.train import save_artefact, train

    out = tmp_path / ARTEFACT.name
    save_artefact(train(), out)
    assert out.read_bytes() == ARTEFACT.read_bytes()
    assert out.with_suffix(".json").read_text() == ARTEFACT.with_suffix(".json").read_text()


def test_reasons_name_the_cues_and_words_that_decided(model: SentimentModel) -> None:
    scored = model.score("客服态度恶劣，问题拖了一个月都没解决，太坑了")
    assert scored.label == "negative"
    assert any(r.startswith("evaluative words:") and "恶劣" in r for r in scored.reasons)
    assert any(r.startswith("model: ") for r in scored.reasons)


def test_negated_praise_is_not_praise(model: SentimentModel) -> None:
    assert model.score("客服一点都不专业，也不负责任").label == "negative"
    assert model.score("Support was not helpful and the app is still not working.").label \
        == "negative"
