"""The level engine: negation, hedges, idioms, threats vs facts, structured fields, history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.events.schemas import ComplaintReceived
from triage_svc.levels import History, assess
from triage_svc.rules import Rules, load_rules, parse_rules

RULES = load_rules()
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def complaint(content: str, **fields: object) -> ComplaintReceived:
    return ComplaintReceived.model_validate(
        {"complaint_id": "c1", "channel": "hotline", "content": content, "received_at": NOW,
         **fields})


def level(content: str, history: History | None = None, **fields: object) -> int:
    return assess(complaint(content, **fields), RULES, history).response_level


def fired(content: str, history: History | None = None, **fields: object) -> set[str]:
    reasons = assess(complaint(content, **fields), RULES, history).level_reasons
    return {r.split("[")[1].split(" ")[0] for r in reasons if "[" in r}


@pytest.mark.parametrize(("content", "expected"), [
    ("我父亲受伤了", 1),
    ("没有人受伤，但是楼道灯坏了", 4),            # negation within the window
    ("No one was hurt but the gate was left open", 4),
    ("我差点受伤", 2),                            # hedge: a hazard, not an injury
    ("someone could get hurt on those stairs", 2),  # hypothetical harm: a hazard, no injury
    ("I'm not going to sue, just want a refund", 4),
    ("我不打算起诉，只想退钱", 4),
    ("我要起诉你们", 2),
    ("没有人理我，我父亲受伤住院", 1),             # a negation never crosses a clause
])
def test_negation(content: str, expected: int) -> None:
    assert level(content) == expected


def test_negation_exceptions_are_not_negations() -> None:
    assert "data_leak" in fired("未经同意泄露了我的个人信息")  # 未经 is no negation
    assert level("全楼停水，无法使用") == 3


def test_the_negation_window_is_configurable() -> None:
    text = "没有任何一个人受伤"  # the cue ends 5 characters before the term
    narrow = _with_negation(window_chars=2)
    wide = _with_negation(window_chars=8)
    assert assess(complaint(text), narrow).response_level == 1
    assert assess(complaint(text), wide).response_level == 4


def _with_negation(window_chars: int) -> Rules:
    import tomllib

    from triage_svc.rules import DEFAULT_RULES
    raw = tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    raw["negation"]["window_chars"] = window_chars
    return parse_rules(raw, "test")


@pytest.mark.parametrize(("content", "expected"), [
    ("记者来电询问退款的事", {"press"}),                   # a journalist's inquiry
    ("我要找记者曝光你们", {"threat_to_expose"}),          # a threat, not an inquiry
    ("记得上次记者报道过你们的好事", set()),               # a memory
    ("市场监管局已经立案调查", {"authority_involved"}),    # involvement: level 1
    ("我要向市场监管局举报，让他们来调查你们", {"threat_to_regulator"}),
    ("我是12345热线转过来的", set()),                      # routing, not a threat
    ("我要打12345投诉你们", {"threat_to_regulator"}),
])
def test_threats_are_not_facts(content: str, expected: set[str]) -> None:
    assert fired(content) == expected


@pytest.mark.parametrize(("content", "absent"), [
    ("消防通道被堵死了", "casualties"),      # 死了 as an intensifier
    ("I was bored to death in the queue", "casualties"),
    ("this is about a new issue with my bill", "legal_action"),  # "sue" inside "issue"
    ("the voltage regulator stopped working", "authority_involved"),
    ("多媒体教室的投影仪坏了", "press"),
])
def test_words_inside_other_words_do_not_fire(content: str, absent: str) -> None:
    assert absent not in fired(content)


def test_structured_fields() -> None:
    assert fired("物业乱收费", people_count=30) >= {"large_group"}
    assert level("物业乱收费", people_count=29) == 2
    assert level("物业乱收费", people_count=4) == 4
    assert level("账单多收了", channel="media") == 2
    assert level("账单多收了", media_involved=True) == 2


def test_history_raises_a_repeated_complaint() -> None:
    assert level("宽带又慢了", History(complainant_recent=1)) == 4
    assert level("宽带又慢了", History(complainant_recent=2)) == 2
    assert "repeated_history" in fired("宽带又慢了", History(complainant_recent=2))
    assert level("宽带又慢了", History(target_recent=10)) == 2
    assert level("宽带又慢了", History(target_recent=9)) == 4


def test_a_drill_is_assessed_like_a_real_complaint_and_says_so() -> None:
    result = assess(complaint("热水器爆炸", drill=True), RULES)
    assert result.response_level == 1
    assert any("drill" in reason for reason in result.level_reasons)
    ordinary = assess(complaint("营业厅排队时间太长", drill=True), RULES)
    assert ordinary.response_level == 4
    assert "level 4" in ordinary.level_reasons[0]


def test_a_rule_category_votes_for_the_category() -> None:
    result = assess(complaint("我孩子在滑梯上摔断了腿"), RULES)
    assert (result.response_level, result.category) == (1, "safety")


def test_the_e2e_examples() -> None:
    severe = assess(complaint("你们的热水器爆炸了，我父亲受伤住院，我要找记者曝光"), RULES)
    assert (severe.response_level, severe.category) == (1, "safety")
    assert len(severe.level_reasons) >= 2
    ordinary = assess(complaint("营业厅排队时间太长"), RULES)
    assert (ordinary.response_level, ordinary.category) == (4, "process")
