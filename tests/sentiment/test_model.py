"""The shipped scorer: three classes, both languages, negation, sarcasm, a quality floor."""

from __future__ import annotations

import pytest

from sentiment_svc.evaluation import labelled_mentions, macro_f1
from sentiment_svc.model import SentimentModel, default_model, detect_language


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
    plain, sarcastic = "售后效率真高，二十天都没人来修", "呵呵，售后效率真高，二十天都没人来修"
    assert model.score(sarcastic).label == "negative"
    assert "sarcasm marker" in model.score(sarcastic).reasons or \
        model.score(plain).label == "negative"
    assert model.score("Oh great, the delivery is late again. Thanks for nothing.").label \
        == "negative"
    # plain thanks is not sarcasm
    assert model.score("谢谢你们，护士对老人照顾得很周到").label == "positive"


def test_scores_are_bounded_and_signed_like_labels(model: SentimentModel) -> None:
    for s in model.score_many(["太差了", "太好了", "今天周一", "bad", "good", "Monday"]):
        assert -1.0 <= s.score <= 1.0
        if s.label == "negative":
            assert s.score < 0
        if s.label == "positive":
            assert s.score > 0


def test_language_detection() -> None:
    assert detect_language("热水器漏电了") == "zh"
    assert detect_language("The heater leaks") == "en"
    assert detect_language("iPhone 15 屏幕碎了，售后不给换，太坑") == "zh"


def test_quality_floor_on_the_labelled_mentions(model: SentimentModel) -> None:
    """A regression guard: the written-for-Beacon mention set (never trained on)."""
    items = labelled_mentions()
    assert len(items) >= 200
    assert {i.language for i in items} == {"zh", "en"}
    predicted = [s.label for s in model.score_many([i.text for i in items],
                                                   [i.language for i in items])]
    assert macro_f1([i.label for i in items], predicted) >= 0.80


def test_the_artefact_records_its_held_out_split(model: SentimentModel) -> None:
    from sentiment_svc.train import review_split

    split = review_split(model.meta["seed"])
    assert split.digest() == model.meta["heldout_digest"]
    assert not set(split.test_texts) & set(split.train_texts)
