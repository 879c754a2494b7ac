"""The level engine: negation, hedges, idioms, threats vs facts, structured fields, history."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from shared.events.schemas import ComplaintReceived
from triage_svc.levels import (
    Assessment,
    History,
    Models,
    assess,
    find_term,
    normalise,
    shipped_models,
)
from triage_svc.rules import Rules, compile_term, load_rules, parse_rules

RULES = load_rules()
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def complaint(content: str, **fields: object) -> ComplaintReceived:
    return ComplaintReceived.model_validate(
        {"complaint_id": "c1", "channel": "hotline", "content": content, "received_at": NOW,
         **fields})


RULES_ONLY = Models(None, None)  # without the safety net (and the category model)


def level(content: str, history: History | None = None, models: Models | None = None,
          **fields: object) -> int:
    return assess(complaint(content, **fields), RULES, history, models).response_level


def fired(content: str, history: History | None = None, models: Models | None = None,
          **fields: object) -> set[str]:
    reasons = assess(complaint(content, **fields), RULES, history, models).level_reasons
    return {r.rsplit("[", 1)[1].split(" ")[0] for r in reasons if " → level " in r}


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
    ("市场监管局已经立案调查", {"authority_involved", "authority_acting"}),  # level 1
    ("我要向市场监管局举报，让他们来调查你们", {"threat_to_regulator"}),
    ("我是12345热线转过来的", set()),                      # routing, not a threat
    ("我要打12345投诉你们", {"threat_to_regulator"}),
])
def test_threats_are_not_facts(content: str, expected: set[str]) -> None:
    # The rules alone: the safety net may still raise a memory of the press to level 3
    # (over-triage, never into 1-2; the benches count it).
    assert fired(content, models=RULES_ONLY) == expected


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
    def by_rules(history: History) -> int:  # the rules alone: the safety net may raise this
        from triage_svc import categorise
        models = Models(categorise.load_model(), None)
        return assess(complaint("宽带又慢了"), RULES, history, models).response_level

    assert by_rules(History(complainant_recent=1)) == 4
    assert by_rules(History(complainant_recent=2)) == 2
    assert "repeated_history" in fired("宽带又慢了", History(complainant_recent=2))
    # The target's history alone never decides the level (the labelling policy): group
    # complaints across complaints are found by the group incidents instead.
    assert by_rules(History(target_recent=10)) == 4
    assert by_rules(History(target_recent=50)) == 4
    assert "small_group" not in fired("宽带又慢了", History(target_recent=50))


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


def category(content: str, **fields: object) -> str:
    return assess(complaint(content, **fields), RULES).category


# ---- issue #15: terms that generalise -------------------------------------------------

def test_an_english_or_digit_term_right_after_a_chinese_character_matches() -> None:
    assert find_term("我就打12315投诉", "12315", RULES.negation) == 3
    assert "threat_to_regulator" in fired("我就打12315投诉")
    assert "casualties" in fired("我爸进了icu")
    assert find_term("a012315b", "12315", RULES.negation) is None  # inside a number


def test_an_english_term_is_a_whole_word_give_or_take_an_inflection() -> None:
    assert find_term("the baby formula tastes odd", "form", RULES.negation) is None
    assert find_term("i filled in three forms", "form", RULES.negation) is not None
    assert find_term("my son was injured", "injur", RULES.negation) is not None
    assert "casualties" not in fired("the deadline for my claim passed")


@pytest.mark.parametrize(("content", "wrong"), [
    ("邻居家装修噪音太大，希望物业协调一下", "after_sales"),  # 修 inside 装修
    ("The baby formula I bought tastes odd", "process"),  # "form" inside "formula"
])
def test_a_topic_word_inside_another_word_does_not_decide_the_category(
        content: str, wrong: str) -> None:
    assert category(content) != wrong


def test_being_taken_to_hospital_is_harm_not_a_delivery() -> None:
    result = assess(complaint("孩子吃了你们的零食过敏，被送到医院"), RULES)
    assert (result.response_level, result.category) == (1, "safety")


@pytest.mark.parametrize("content", [
    "化工厂泄漏，周边居民头晕呕吐",
    "小区楼道里有人晕倒了，闻到刺鼻气味",
    "电梯突然下滑，困住一家三口",
])
def test_the_users_texts_are_level_one_safety(content: str) -> None:
    result = assess(complaint(content), RULES)
    assert (result.response_level, result.category) == (1, "safety")


@pytest.mark.parametrize(("content", "expected"), [
    ("没拆封想退货，客服说不行", "after_sales"),
    ("还没收到退款", "after_sales"),
    ("I never got an invoice for the fee", "billing"),
])
def test_negation_does_not_hide_the_topic(content: str, expected: str) -> None:
    assert category(content) == expected


def test_negated_harm_is_not_a_safety_topic() -> None:
    assert category("No one was hurt, but the courier left the parcel in the rain") != "safety"


@pytest.mark.parametrize("content", [
    "上个月楼道电线裸露，物业已经修好了，想问一下物业费的发票怎么开",
    "The sparking socket was fixed last week; I just want a copy of my bill.",
    "之前投诉过一次宽带的问题，已经解决了，这次想咨询套餐",
])
def test_a_matter_already_fixed_does_not_raise_the_level(content: str) -> None:
    assert level(content) == 4


def test_a_fix_that_did_not_hold_still_counts() -> None:
    assert level("插座冒火花，说修好了结果又冒火花") == 2
    assert level("The gas smell was fixed, they said, but it is still there") == 2


# The seven severe under-triages of the issue, each phrased anew.
@pytest.mark.parametrize(("content", "worst"), [
    ("There's been a strong smell of gas all through our block of 200 households since "
     "this morning", 1),
    ("市场监督管理局的执法人员已经到店里了，说要立案处理", 1),
    ("你们不按合同约定交付，我们会以违约为由把你们告上法庭", 2),
    ("We will be taking you to court for breach of contract.", 2),
    ("这件事我已经是第4回打电话了，还是没有人处理", 2),
    ("This is the third message I've sent about the same thing.", 2),
    ("对你们上次给的处理结果不满意，我申请复查", 2),
    ("I'm requesting a formal review of your answer, it did not address anything.", 2),
    ("The dealer sold me a car that had an open brake recall on it.", 2),
    ("区纪委已经介入调查你们这个项目的招标", 1),
    ("商场扶梯旁边的配电箱门开着，电线都露在外面", 2),
])
def test_the_issues_severe_cases_are_caught(content: str, worst: int) -> None:
    assert level(content) <= worst


def test_a_pattern_reason_quotes_the_words_it_matched() -> None:
    reasons = assess(complaint("楼道里闻到一股很浓的煤气味道"), RULES).level_reasons
    assert any('"闻到一股很浓的煤气"' in r or '"煤气味' in r for r in reasons)


def test_every_assessment_says_why_it_has_its_category() -> None:
    result = assess(complaint("这个月话费多扣了三十元，套餐根本没用那么多流量"), RULES)
    assert result.category == "billing"
    assert result.category_evidence
    assert result.level_reasons[-1].startswith("category billing: ")
    assert any(word.strip('"') in result.level_reasons[-1] for word in result.category_evidence)


@pytest.mark.parametrize(("term", "needs"), [
    ("受伤", "受伤"),                                  # plain text: itself
    ("进了?icu", "icu"),                               # `?` makes the 了 optional
    ("colou?r", "colo"),
    ("[0-9一二三]万条", "万条"),                        # a set is no plain text
    ("电梯*(卡|停)在*(中间|半空)", "电梯"),             # the longest sure run of any part
    ("(thousands|millions) of (records|users)", " of "),
    ("smell * gas", "smell"),                          # English parts are stripped at gaps
    ("(a|b)", ""), ("a|b", ""), ("a|b*c", ""),         # nothing is sure: "a" alone matches
])
def test_a_term_knows_the_text_every_match_contains(term: str, needs: str) -> None:
    assert compile_term(term).needs == needs


def test_skipping_terms_whose_sure_text_is_absent_changes_no_assessment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The shortcut only saves work: with it off (every term's `needs` empty), the labelled
    # sets' levels, categories and reasons are the same.
    from triage_svc import levels, quality

    rows = [row for path in (quality.LABELLED, quality.DEV) for row in quality.load_labelled(path)]

    def outcomes() -> list[tuple[object, ...]]:
        return [(a.response_level, a.category, a.level_reasons, a.category_evidence)
                for a in (assess(row.complaint, RULES, row.history) for row in rows)]

    with_shortcut = outcomes()
    monkeypatch.setattr(levels, "compile_term",
                        lambda term: dataclasses.replace(compile_term(term), needs=""))
    assert outcomes() == with_shortcut
    assert len(rows) > 600


# ---- the severity safety net (triage_svc.severity) --------------------------------------

def _net(weights: dict[str, float], bias: float = -4.0) -> Models:
    from triage_svc import categorise
    from triage_svc.severity import Model

    return Models(categorise.load_model(), Model(bias, weights, 3, 0.5, 0.8))


def _assess(content: str, models: Models) -> Assessment:
    return assess(complaint(content), RULES, None, models)


def test_the_net_raises_a_level_four_and_quotes_the_words_that_pushed_it() -> None:
    models = _net({"c:昏厥": 3.5, "c:昏": 1.0})
    result = _assess("我妈在你们营业厅排队时昏厥了", models)
    assert result.response_level == 3  # P = sigmoid(-4 + 3.5 + 1) = 0.62: 0.5 ≤ P < 0.8
    line = next(r for r in result.level_reasons if "[severity_model" in r)
    assert '"昏厥"' in line and '"昏"' not in line  # longest n-gram, single characters never
    assert result.level_reasons[0] == "no severity rule fired"
    assert line.endswith("[severity_model → level 3]")


def test_the_net_raises_to_level_two_when_very_confident() -> None:
    models = _net({"c:昏厥": 6.0})
    result = _assess("排队时昏厥了", models)
    assert result.response_level == 2
    assert any(r.endswith("[severity_model → level 2]") for r in result.level_reasons)


def test_the_net_quotes_english_words_as_written() -> None:
    models = _net({"w:keel": 3.0, "w:keel over": 4.0})
    result = _assess("My father keeled over in the queue", models)
    assert result.response_level <= 3
    line = next(r for r in result.level_reasons if "[severity_model" in r)
    assert '"keeled over"' in line


def test_the_net_never_lowers_a_level_and_leaves_levels_one_and_two_alone() -> None:
    quiet = _net({}, bias=-10.0)
    assert _assess("热水器爆炸，有人受伤", quiet).response_level == 1
    assert _assess("再不处理我就去12315投诉", quiet).response_level == 3
    loud = _net({}, bias=10.0)  # P(severe) = 1 for any text
    assert _assess("热水器爆炸，有人受伤", loud).response_level == 1
    assert _assess("我要起诉你们", loud).response_level == 2
    result = _assess("再不处理我就去12315投诉", loud)
    assert result.response_level == 2  # a level 3 rises to 2, never to 1
    assert result.level_reasons[0].endswith("[threat_to_regulator → level 3]")  # rules first


def test_without_the_net_the_rules_alone_decide() -> None:
    from triage_svc import categorise

    result = _assess("我妈在你们营业厅排队时昏厥了", Models(categorise.load_model(), None))
    assert not any("[severity_model" in r for r in result.level_reasons)


# Severe texts written for this test in words the rules do not know (level 4 by the rules).
# (A fourth, "吃了你们家的海鲜以后嘴唇发麻，喉咙肿得说不出话", fell to P=0.31 when set v6 joined
# the training data; the rules know an allergic reaction's symptoms since rules v10.)
@pytest.mark.parametrize("content", [
    "你们小区的儿童滑梯螺丝掉了好几个，整个滑梯一晃一晃的",
    "我老公在工地上被钢筋戳穿了脚掌",
    "楼顶的广告牌被风吹得一边已经脱开了，下面就是公交站",
])
def test_the_shipped_net_catches_severe_phrasings_the_rules_do_not_know(content: str) -> None:
    from triage_svc import categorise

    rules_only = _assess(content, Models(categorise.load_model(), None))
    assert rules_only.response_level == 4
    result = assess(complaint(content), RULES)
    assert result.response_level <= 3
    line = next(r for r in result.level_reasons if "[severity_model" in r)
    assert line.startswith("model: resembles severe complaints (\"")


def test_the_net_does_not_read_what_the_filters_ruled_out() -> None:
    from triage_svc.levels import severity_text

    text = severity_text(complaint("没有人受伤，但是楼道灯坏了"), RULES)
    assert "受伤" not in text and "楼道灯坏了" in text
    fixed = severity_text(complaint("上个月漏气，已经修好了，这次想咨询套餐"), RULES)
    assert "漏气" not in fixed and "咨询套餐" in fixed
    assert severity_text(complaint("我父亲受伤了"), RULES) == "\n我父亲受伤了"
    # A rule the text rules out as a whole (unless_said) is not read either.
    said = severity_text(complaint("The gate hurt my hand. No one was hurt badly, mind."), RULES)
    assert "hurt my hand" not in said and "gate" in said


@pytest.mark.parametrize(("content", "expected"), [
    ("出院一个礼拜了，住院押金到现在还没退", 4),       # a hospital stay named, no harm caused
    ("住院发票抬头开错了，单位报销不认", 4),
    ("我爸昨天在家里走了，死亡证明要等周一才能开", 4),  # a death not caused (policy 8)
    ("吃了你们的外卖之后上吐下泻，住院三天", 1),
    ("孩子吃了你们的饼干后住院了", 1),
    ("my father died after the wrong medication was given", 1),
])
def test_care_and_death_words_count_only_when_the_matter_caused_them(
        content: str, expected: int) -> None:
    # The rules' care and death words, the severity safety net set aside.
    rules_only = Models(shipped_models().category, None)
    assert assess(complaint(content), RULES, None, rules_only).response_level == expected
    # The safety net may raise a plain complaint to 3 (its `raise_to_3`), never into 1-2.
    assert level(content) == expected if expected < 4 else level(content) in (3, 4)


def test_an_urgent_deadline_or_a_vulnerable_person_raises_to_three() -> None:
    assert level("临时号牌明天就到期了，预约系统一直显示服务器繁忙，怎么办") == 3
    assert "urgent_deadline" in fired("Your removals firm has just cancelled our move booked "
                                      "for tomorrow")
    assert level("临时号牌下个月到期，想问一下怎么预约") == 4  # no near date, nothing stops it
    assert level("冰箱坏了，里面放着胰岛素，最早下周三才上门") == 3
    assert level("My father is 91 and his hearing aids went for repair a month ago, still "
                  "nothing") == 3


@pytest.mark.parametrize(("content", "absent"), [
    ("There's been an explosion of little extra charges on my bill", "public_safety"),
    ("消防通道被堵，真要着火了人都跑不出去", "public_safety"),
    ("公告栏贴满小广告，停水通知都被盖住了", "urgent_failure"),
    ("照片曝光过度，脸都白了，要求重拍", "threat_to_expose"),
    ("I happen to be a solicitor, but I am writing purely as a customer", "legal_action"),
    ("中介让我们签阴阳合同，网签价低一百万", "national_media"),
])
def test_figures_of_speech_hypotheticals_and_notices_do_not_fire(
        content: str, absent: str) -> None:
    assert absent not in fired(content)


@pytest.mark.parametrize("content", [
    "吃了你们家的海鲜以后嘴唇发麻，喉咙肿得说不出话",
    "After one bite of the 'nut-free' cake my daughter's throat was swelling, EpiPen used",
])
def test_an_allergic_reaction_told_by_its_symptoms_is_harm(content: str) -> None:
    assert "casualties" in fired(content) and level(content) == 1


# One person's data told or shown to others is level 2 (complaints_README.md: "one
# person's personal data leaked"); the same words without a disclosure are not.
@pytest.mark.parametrize(("content", "expected"), [
    ("催收的人打电话到我单位，跟我领导说我欠钱不还", 2),
    ("你们把我借款逾期的情况告诉了我邻居", 2),
    ("My one-time code was sent to another customer's phone", 2),
    ("The collections agent phoned my parents and told them about my debts", 2),
    ("Your app shared my live location with a stranger", 2),
    ("账单显示我欠费50元，是不是算错了", 4),
    ("The bill shows I owe £50, which is wrong", 4),
])
def test_one_persons_data_told_to_others(content: str, expected: int) -> None:
    assert level(content) == expected
    assert ("data_exposed" in fired(content)) == (expected == 2)


@pytest.mark.parametrize("content", [
    "家里的密码锁半夜自己打开了，门一直敞着",
    "The front door lock keeps unlocking by itself at night",
    "Since the service there is a smell of fumes around the boiler",
    "商场的自动扶梯一卡一卡的，好几个老人差点没站稳",
])
def test_hazards_told_without_the_usual_words(content: str) -> None:
    assert "safety_hazard" in fired(content) and level(content) == 2


@pytest.mark.parametrize(("content", "expected"), [
    ("Our MP has written to your chief executive about the closure", 1),
    ("I work for Ann Lee MP, writing on behalf of a constituent whose pension stopped", 1),
    ("小区停电两天，业委会已经报到区政府了", 1),
    ("I will write to my MP if this is not fixed", 3),  # a threat, not involvement
    ("The council tax page on your site is broken", 4),
])
def test_an_elected_representative_acting_is_government_involvement(
        content: str, expected: int) -> None:
    assert level(content, models=RULES_ONLY) == expected
    # The safety net may raise a plain complaint to 3 (its `raise_to_3`), never into 1-2.
    assert level(content) == expected if expected < 4 else level(content) in (3, 4)


@pytest.mark.parametrize("content", [
    "She went into anaphylactic shock after the injection and needed adrenaline",
    "He was resuscitated in the ambulance bay",
    "孩子吃了以后过敏性休克，在儿童医院抢救了一夜",
    "Two days of diarrhoea after your buffet",
])
def test_harm_words_match_as_whole_words(content: str) -> None:
    # An English term ends at an inflection: a stem like "anaphyla" never matched
    # "anaphylaxis", so the rules spell the words out.
    assert "casualties" in fired(content) and level(content) == 1


@pytest.mark.parametrize(("content", "expected"), [
    ("三楼的外墙砖掉下来了，把楼下停的电动车砸坏了", 1),
    ("A slab of render fell off the block and dented the roof of my car", 1),
    ("外墙砖有点松，万一掉下来砸到人怎么办", 2),  # a hazard only
    ("我家小孩把杯子摔地上砸碎了，想问能不能补发一个", 4),  # nothing of a building fell
])
def test_part_of_a_building_that_fell_and_struck_something_is_a_collapse(
        content: str, expected: int) -> None:
    assert level(content) == expected
    assert ("structure_struck" in fired(content)) == (expected == 1)


@pytest.mark.parametrize("content", [
    "The ABS warning light keeps coming on and the car pulls when I brake",
    "The safety strap on the high chair came undone with my son in it",
    "游乐场的过山车压杠在半路松开了，吓得我们半天说不出话",
    "The tram doors closed on my daughter's leg and it started to move",
    "My new phone charger gives off a spark whenever I plug it in",
    "The rear tyre blew out at 60 mph, the tread was worn through",
    "Saw a rat run behind the counter of your bakery this morning",
])
def test_more_hazards_told_in_everyday_words(content: str) -> None:
    assert "safety_hazard" in fired(content) and level(content) == 2


@pytest.mark.parametrize("content", [
    "My spark plug light is on, can you book a service?",
    "Huge blowout sale advertised but nothing was discounted",
])
def test_hazard_words_in_other_senses_do_not_fire(content: str) -> None:
    assert "safety_hazard" not in fired(content)


@pytest.mark.parametrize(("content", "expected"), [
    ("是我自己不小心，在你们店门口台阶上滑了一下，扭了脚。建议装个扶手", 4),
    ("I slipped on the step outside, entirely my own fault, but a handrail would help", 4),
    ("你们店门口台阶上有水，我妈滑倒摔断了手腕", 1),  # blames no one: harm the premises caused
])
def test_a_fall_the_writer_blames_on_themselves_raises_nothing(
        content: str, expected: int) -> None:
    # Labelling clarification 7: no handrail after a fall the writer blames on themselves.
    assert level(content, models=RULES_ONLY) == expected


@pytest.mark.parametrize(("content", "expected"), [
    ("Sandwich boards are blocking the pavement outside your shop", 4),
    ("About forty residents are blocking the site gate this morning", 1),
])
def test_blocking_is_a_gathering_only_when_people_block(content: str, expected: int) -> None:
    assert ("large_group" in fired(content)) == (expected == 1)


def test_someone_elses_home_shown_to_me_is_data_exposed() -> None:
    assert "data_exposed" in fired("The baby monitor app is showing me a stranger's home "
                                   "camera instead of ours")
    assert "data_exposed" in fired("打开App看到的是别人家的监控画面，人家客厅看得一清二楚")


@pytest.mark.parametrize("content", [
    "燃气停了三天，家里的老人冻得睡不着觉，一直没人来修",
    "Our school bus never turned up and my 8-year-old waited at the stop in the dark",
    "快递丢了，里面是我妈的降压药，药快吃完了",
])
def test_a_failure_that_leaves_a_vulnerable_person_without_raises_to_three(
        content: str) -> None:
    assert "vulnerable_affected" in fired(content)


@pytest.mark.parametrize("content", [
    "我已经向12378反映过你们的理财销售问题了",
    "这事我已经给12366打过电话了",
])
def test_a_complaint_to_a_regulators_hotline_counts(content: str) -> None:
    assert fired(content) & {"threat_to_regulator", "authority_involved"}


@pytest.mark.parametrize(("content", "press"), [
    ("I'm a journalist by trade, but I write as a customer: my parcel never came", False),
    ("我是记者，但这次是以个人身份投诉：快递丢了", False),
    ("A reporter from the Evening Post called us asking for comment on the closure", True),
])
def test_a_journalist_writing_as_a_customer_is_no_press_inquiry(content: str,
                                                               press: bool) -> None:
    assert ("press" in fired(content)) == press


def test_a_hair_in_food_is_no_hazard_but_glass_is() -> None:
    assert "safety_hazard" not in fired("外卖里吃出一根头发，客服说可能是我自己的")
    assert "safety_hazard" in fired("外卖里吃出一片玻璃，差点咽下去")


@pytest.mark.parametrize(("content", "rule"), [
    ("A fire in the bin store last night, the fire brigade came at 3am", "public_safety"),
    ("小区地下车库昨晚被淹了，二十多辆车泡在水里", "public_safety"),
    ("孩子在小区水池边玩，掉进了池子里，呛水后头上缝了三针", "casualties"),
    ("他摔下台阶，医生说是头皮裂伤", "casualties"),
])
def test_fires_floods_and_wounds_said_plainly_are_level_one(content: str, rule: str) -> None:
    assert rule in fired(content) and level(content) == 1


@pytest.mark.parametrize(("content", "rule"), [
    ("楼道里一股很重的汽油味，我站了几分钟就头晕", "fumes_symptom"),
    ("The smell of solvent in the lobby made me dizzy", "fumes_symptom"),
    ("My van accelerated by itself at the lights with my foot off the pedal", "safety_hazard"),
    ("玩具上的小零件掉了，孩子差点塞进嘴里", "safety_hazard"),
    ("He had a button battery from the remote in his mouth", "safety_hazard"),
])
def test_fumes_that_made_someone_dizzy_and_other_near_misses_are_hazards(
        content: str, rule: str) -> None:
    assert rule in fired(content) and level(content) == 2


def test_a_plain_headache_or_a_bad_taste_is_no_hazard() -> None:
    assert "fumes_symptom" not in fired("这道菜味道一般，吃完还让人头疼这个价格")
    assert "fumes_symptom" not in fired("The app makes me dizzy with all its menus")


@pytest.mark.parametrize(("content", "expected"), [
    ("The Housing Ombudsman has found maladministration and ordered you to pay £300", 1),
    ("The Attorney General's office has accepted my complaint and written to your company",
     1),
    ("I will take this to the ombudsman if it is not fixed", 3),
])
def test_an_ombudsman_or_attorney_general_that_acted_is_an_official_body_involved(
        content: str, expected: int) -> None:
    # Labelling clarification 3; an attorney general is no lawyer of the complainant's.
    assert level(content) == expected
    assert "legal_action" not in fired(content)


def test_a_complaint_to_12315_is_no_lawsuit() -> None:
    assert "legal_action" not in fired("再这样我就去12315告你们虚假宣传")
    assert "legal_action" in fired("我要去法院告你们")


def test_a_queue_of_twenty_is_no_group() -> None:
    assert "small_group" not in fired("急诊等了三个小时，前面还有二十多个人")


@pytest.mark.parametrize("content", [
    "手机银行转账一直失败，工人今天等着发工资",
    "All our card terminals went dead at lunchtime, cash only",
    "Power has been out on our street since the storm last night",
])
def test_payments_and_supplies_down_now_are_urgent(content: str) -> None:
    assert "urgent_failure" in fired(content)


def test_a_person_after_an_operation_left_without_cooling_is_vulnerable() -> None:
    assert "vulnerable_affected" in fired("空调坏了三天，家里有刚做完手术的病人，怕中暑")


def test_strong_emotion_is_not_hidden_by_never() -> None:
    assert "strong_emotion" in fired("I have never felt so ignored by a company")


def test_one_persons_balance_read_out_to_others_is_data_exposed() -> None:
    assert "data_exposed" in fired("The cashier read out my balance so the whole queue heard")


@pytest.mark.parametrize(("content", "absent"), [
    ("玻璃杯掉地上砸碎了，想问能不能补发一个", "structure_struck"),
    ("They disabled my account without warning and there is still no way to log in",
     "vulnerable_affected"),
    ("这辈子都没见过这么贴心的客服", "strong_emotion"),
])
def test_words_of_the_v13_and_v14_rules_in_other_senses_do_not_fire(
        content: str, absent: str) -> None:
    assert absent not in fired(content)


def test_a_disabled_person_left_without_a_lift_is_vulnerable() -> None:
    assert "vulnerable_affected" in fired("I'm disabled and the lift has been broken for a week")


# ---- rules v16 (after held-out v9's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "I'll be posting the whole exchange on every local forum I can find.",
    "Going to share this video online unless someone rings me back.",
    "I'll be going to the press about how you treat disabled customers.",
])
def test_posting_online_or_going_to_the_press_said_as_intent_is_a_threat(content: str) -> None:
    assert "threat_to_expose" in fired(content, models=RULES_ONLY)


def test_a_meter_reading_posted_online_is_no_threat() -> None:
    assert level("I posted my meter reading online last night, did you get it?",
                 models=RULES_ONLY) == 4


@pytest.mark.parametrize("content", [
    "I'm reporting this shop to the licensing authority for selling to kids.",
    "I will complain to the advertising standards people about this claim.",
])
def test_a_named_authority_one_will_tell_is_a_regulator_threat(content: str) -> None:
    assert fired(content, models=RULES_ONLY) == {"threat_to_regulator"}


@pytest.mark.parametrize("content", [
    "消协的公众号上说七天无理由退货是法定的,你们为什么特价不给退?",
    "我打12345,他们让我直接找你们售后,热水器E4故障三天没人修",
    "在抖音上刷到你们的招聘,想问客服岗还招人吗",
])
def test_guidance_cited_routing_and_where_an_ad_was_seen_are_no_threats(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 4


def test_not_within_covers_a_patterns_match_too() -> None:
    # "(打|拨|找)*(12315|12345...)" matched "打12345": the phrase around it silences it.
    assert find_term("我打12345，他们让我找你们", "(打|拨|找)*(12345)", RULES.negation,
                     not_within=("打12345，他们让我",)) is None
    assert find_term("我打12345投诉你们", "(打|拨|找)*(12345)", RULES.negation,
                     not_within=("打12345，他们让我",)) is not None


@pytest.mark.parametrize(("content", "expected"), [
    ("那个帖子阅读已经十万加了,评论区几千条留言都在骂你们", 1),
    ("央视记者昨天给我打了电话想了解收费的事,节目还没播,先跟你们说一下", 2),
    ("A reporter from the BBC rang me about the billing error; nothing has aired yet.", 2),
    ("买了个热搜同款的保温杯,盖子拧不紧", 4),
])
def test_viral_numbers_are_exposure_and_an_inquiry_before_airing_is_not(
        content: str, expected: int) -> None:
    assert level(content, models=RULES_ONLY) == expected


@pytest.mark.parametrize("content", [
    "The Financial Ombudsman determined last month that you owe me a refund.",
    "Your portal showed me other patients' results; I tried a few hundred IDs, every one worked.",
    "Your newsletter went to the mailing list with 3,500 customers' names attached by mistake.",
    "The breach you called minor was 1.5 million card records, researchers say.",
    "我们小区业主群两百多人都接到了装修推销电话,肯定是你们物业把业主信息卖了",
    "孩子在幼儿园被教室门夹了手指,指甲盖都掉了,现在包着纱布",
    "工地的塔吊倒了,砸坏了路边三辆车",
])
def test_acts_mass_leaks_wounds_and_fallen_cranes_said_other_ways_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "吃了你们家过期的面包,肚子有点不舒服,没去看医生",
    "The pharmacy gave me my dad's inhaler and it was out of date by a year.",
    "The bike's rear brake doesn't work at all, I nearly went into a bus.",
    "There's a bolt sticking out of the new climbing frame. Cover it before someone gets hurt.",
    "小区消防通道被占满了,消防车根本进不来,真出事怎么办",
    "热水器烟道没接到室外,这样会不会一氧化碳中毒啊?",
])
def test_mild_symptoms_and_hazards_without_harm_are_level_two(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "手机银行转账功能一下午都用不了,一直提示系统繁忙,我今天要付房租",
    "No mobile signal in the whole village since yesterday's storm.",
    "校车没来,我女儿一个人站在路边等到天都黑了",
    "我今年八十一,一个人住,家里停气一个多月了",
    "The care home gave my 90-year-old father a week's notice to leave; we have nowhere to go.",
    "电梯坏了三天,我爸腿脚不好住十六楼,下不了楼",
    "wtf, £200 for a single call",
])
def test_urgent_failures_vulnerable_people_and_anger_said_other_ways_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "托尼老师给我剪了个爆炸头,跟我要的完全不一样",
    "床垫用了一年中间就塌下去了,要求换货",
    "游戏玩中毒了天天熬夜,能不能加个防沉迷",
    "本人是执业律师,今天只是以储户身份反映大堂经理态度差,不走法律程序",
    "我朋友是律师,他说这事不用起诉,协商就行,我想协商一下违约金",
    "请问起诉状模板在哪里下载?",
    "Thanks for sorting my gas smell report last week, all sorted. When is the meter reading?",
])
def test_words_of_the_v16_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 4


def test_a_regulator_named_before_gao_nimen_is_a_threat_not_a_lawsuit() -> None:
    assert fired("押金不退,我要去住建委告你们", models=RULES_ONLY) == {"threat_to_regulator"}


# ---- rules v17 (after held-out v10's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "电视台播了以后《焦点访谈》没再跟进,新京报昨天也发了整版报道,说的就是你们小区的供暖",
    "我拍的视频在抖音上已经转了几十万次,你们还不出来说话?",
    "县政府派了工作组来村里挨家挨户核实,你们供电所还不来人",
    "消协上周组织我们双方调解,调解书写明十天内退款,现在还没退",
    "银行业监管分局书面答复认定这笔年费不该收,请退给我",
    "你们招聘网站的简历库被人打包卖,五万份起卖,我的住址电话都在里面",
    "工地上两个工人下井抽水,拉上来的时候已经没意识了",
    "The glass balustrade came away and went down three floors onto the pavement below.",
])
def test_national_outlets_reposts_working_groups_mediation_and_leaks_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "装修队刷完油漆没开窗通风,我进门待了一会就头晕恶心,出去就好了",
    "The driver was on his phone and nearly ploughed into a cyclist at the lights.",
    "Our bath water has had a petrol smell since they dug up the road.",
    "There was a metal splinter in my sandwich, spotted it before the first bite.",
    "网约车司机下车后给我发消息说你住在几号楼我都知道,我的号码是怎么到他手里的?我很害怕",
    "诉讼已经在区法院立案了,判决前请不要再给我打催收电话",
])
def test_symptoms_from_paint_near_crashes_fuel_smells_and_stalkers_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "停电两个小时了,我妈在家做腹膜透析,机器停了,什么时候来电?",
    "家里燃气卡充了值没到账,现在没气了,孩子饿着等吃饭",
    "the meter ate my top-up, no electric, kids in the dark since six",
    "电动车坏了半个月不给修,我靠这个送外卖,一家人吃什么",
    "我懒得请律师,但你们这么拖着,我就去残联反映",
    "再打推销电话来,我就直接去派出所",
    "I'm not going to bother with lawyers, I'm reporting this to the CMA.",
    "When the receptionist laughed at my walking frame I just broke down.",
    "你们这个售后我会原原本本写出来发到汽车之家上",
])
def test_threats_refusals_vulnerable_people_and_grief_said_other_ways_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "这是我第二次反映门口路灯不亮的事了,麻烦安排一下",
    "Second time I've asked: when will my parcel be redelivered?",
    "下周三计划停电检修,想问一下几点能恢复?",
    "smoke alarm keeps chirping, the battery is dead I think, who replaces it?",
    "The kettle's fine, but the emails! My inbox exploded with your newsletters.",
    "我在律师事务所做前台,想问一下会员卡能不能转让",
    "我打12345问过了,他们说要到你们营业厅办",
    "有个小孩把游戏玩得都中毒了,哈哈,想建议加个休息提醒",
    "衣柜门板开裂了,还在保修期,能来修吗",
    "刹车有点异响,不影响刹车,周末能不能约个保养",
    "业主群里上百人在讨论新开的超市,我也去看了,价格还行",
    "My statement shows a payment I never made twice; bank statements enclosed.",
    "以前你们的记者报道过我们社区的好人好事,想建议多做这类节目",
    "If my boiler ever leaked carbon monoxide, would the detector go off?",
])
def test_words_of_the_v17_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 4


# ---- rules v18 (after held-out v11's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "Environmental health came into the kitchen on Monday and took away two crates of the chicken.",
    "我爸在候车室突然晕了过去,最后是120拉走的",
    "奶茶里有根铁丝,我嘴里划了个口子,满嘴是血",
    "The balcony glass panel dropped five floors onto the terrace below.",
    "阳台上的花架今天整片掉下去了,幸好楼下没人",
    "消委会已经约谈了你们的店长,要求三天内答复我",
    "你们的会员网站改一下链接就能看到别人的订单,几千份都能翻,有电话有地址",
    "Got your 'security incident' email: 4 million customers' names and addresses. Mine too.",
])
def test_officers_fainting_wounds_falls_and_leaks_said_other_ways_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "A man phoned pretending to be from your bank and quoted my date of birth and address.",
    "我的简历只投了你们平台,结果我们领导拿着我的简历来问我,简历怎么到他手上的?",
    "Refund me or I'm filing a small claim on Monday.",
    "If this carries on I will be applying for judicial review of the decision.",
    "There's a loose spring sticking right out of the trampoline, an accident waiting to happen.",
    "Your bus went through a red at the school crossing and nearly knocked over a child.",
    "托管班的燃气灶开着火,屋里一个大人都没有",
])
def test_impostors_cvs_small_claims_and_hazards_said_other_ways_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "power off again on our street, second time this week, freezer full",
    "My powerchair has been in your workshop for a week and I can't leave the house.",
    "The system's been down all night, my interview is at 9am tomorrow and I can't get my files.",
    "Next time this appointment is cancelled I'm ringing the CQC.",
    "The internet has been dead since Monday and I work from home.",
    "再不处理,我就去找电视台,让大家评评理",
    "话费无缘无故多扣两百,不退我就打工信部电话投诉",
    "I'm going to the consumer programme on Channel 4 with this.",
    "电梯停了三天,我今年七十八,心脏搭了桥,爬不了楼",
    "Our estate has been off for three hours and I have a two-week-old baby in this heat.",
    "这个事情我真的没法接受!",
])
def test_outages_machines_deadlines_and_threats_said_other_ways_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "Your pool was in the local paper last year for its lessons; the desk knew nothing of them.",
    "The fridge leaked water again onto the kitchen floor; could the engineer come back?",
    "My 2,000 points just expired; I never saw a notice. Can they be put back?",
    "The driver left without a word. I've left a rating, just letting you know.",
    "The concierge keeps buzzing him in by hand since he refused the face scanner.",
    "My dad passed away at home, nobody's to blame for that, but the hall was double-booked.",
    "Thousands of commuters were stuck on the platform and the app said nothing.",
    "My mum is in hospital so I need the refund sooner, please.",
    "开居住证明要先找居委会盖章再去派出所,一趟办不完,建议简化",
    "血压计测出来跟医院相差二十多,能不能换一台?",
    "Nothing's on fire, but there is a burning plastic smell from the heater; I switched it off.",
])
def test_words_of_the_v18_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v19 (after held-out v12's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "两个穿着制服的人今天进了仓库,把货架都贴上封条了",
    "海关把那批货查扣了,说是假冒的",
    "县人大的两位代表上周来我们厂里调查了这件事",
    "交通运输部昨天发了通报点名你们公司",
    "The supplement was pulled by the regulator last week after the test results came back.",
    "区疾控和卫生监督所的人上午来食堂采样了",
    "这件事上了全国新闻,现在谁都知道了",
    "Your ad was shared over a million times before you took it down.",
    "A spreadsheet with 12,000 rows of customer emails and phone numbers is being passed around.",
    "公司把会员名单放到网盘上,谁都能下载",
    "Three of us got norovirus after the buffet on Saturday.",
    "She was admitted overnight after your pharmacy gave her the wrong pills.",
    "A section of the parapet broke off and dropped onto the pavement below.",
    "井边的电线漏电,我老公碰了一下整个人抽了一下,现在手还是麻的",
])
def test_officers_ministries_share_counts_rows_and_infections_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "We have instructed counsel and expect to file next month.",
    "一进地下室就头有点晕,还有股怪味",
    "The chemist gave my son double the prescribed dose; I caught it before he took any.",
    "药房拿错药了,给我的是别人的处方,幸好没吃",
    "I slipped on the wet floor by the tills, no injury thankfully, but there was no sign.",
    "A reporter from BBC local radio here: listeners say the depot is noisy. Can you comment?",
    "我是新京报的记者,想就此事采访一下贵司,我们计划月底发稿",
])
def test_counsel_fumes_wrong_doses_and_near_falls_are_level_two(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "If this isn't fixed by Friday I'm taking it to the consumer forum.",
    "I'll be contacting the housing authority about the repairs if I don't hear back.",
    "I'm forwarding this to the local paper along with the photos.",
    "这些照片我会全部交给市场监管部门",
    "家里停水两天了,宝宝还没满月,奶粉都没法冲",
    "The heating has been off for a week and my dad is on chemo.",
    "We haven't had hot water since Thursday.",
    "你们不给个说法,我就坐在这不走了",
    "This whole week has been a nightmare with your app.",
    "我腿刚做完手术拄着拐,电梯停了三天了",
])
def test_forums_authorities_papers_newborns_and_sit_ins_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "你们律所的收费标准能发我一份吗",
    "我家就在法院对面,门口那家店的发票一直开不出来",
    "12315那边说让我先跟你们协商,所以写了这封信",
    "我不打算打12345,只想你们把多扣的钱退了",
    "手机壳上的亮片脱落了好几颗",
    "电热毯用着挺好,不漏电,就是温度调不准",
    "沙发坐了两个月就塌了一边,能换吗",
    "The agent charged a sales commission I was never told about.",
    "Our nurse gave me anti-nausea tablets before the flight; the airline then lost my bag.",
    "异地就医备案在网上办不了,能不能开通一下",
    "The firmware update killed the wifi on my printer.",
    "安检的时候衣服被夹在传送带里了,扯破了一块",
    "The guide joked that teenagers are a nightmare to take anywhere.",
    "Hi, the Competition Commission page says you must show prices with tax; your app doesn't.",
])
def test_words_of_the_v19_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v20 (after held-out v13's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "Two nights in your hostel and I'm covered in bites; the pharmacist says bed bugs.",
    "Dad came back from day care with a gash on his forehead and nobody can tell me how.",
    "城管上周就给你们发了整改通知,门口的广告牌到现在还没拆",
    "The parents' portal lets any login see every student's home address and medical notes.",
    "快递站把几百份快递单扔在垃圾桶旁边,上面姓名电话地址都有",
    "My mother choked at lunch in your care home, 呛到了 and now she's in ICU with pneumonia.",
    "在你们美容院打完针第三天脸上就坏死了一块,现在住院治疗",
    "我在房间里发现针孔摄像头,报警后民警已经把东西取走了",
    "Sky News ran a piece on your boiler recall last night and my house was in it.",
    "The video of your bouncer has 300k views already.",
    "A small fire in the staff kitchen yesterday; it was put out, nobody told tenants.",
])
def test_bites_head_wounds_notices_lists_and_national_bulletins_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "The monitor at your front desk shows the shower area of the changing rooms.",
    "保洁公司把我家门锁密码告诉了一个我不认识的人",
    "Your clinic left my HIV prescription with the shop next door, and the owner knows me.",
    "刚投保完重疾险,第二天就有人打电话说知道我体检报告上的结节",
    "My son walked straight into your unmarked glass door and got a bump and a fright.",
])
def test_cameras_on_changing_rooms_lock_codes_health_data_and_glass_doors_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "这张照片是我爸留下的最后一张,赔多少钱都没用!",
    "My gran's personal alarm pendant has been dead since the phone line went down on Friday.",
    "换了燃气表以后一直没通气,只能天天吃外卖",
    "The bus left my seven-year-old at the wrong stop; it was pitch dark and she was on her own.",
    "I'll be leaving a review on every site I can about your front desk.",
    "热水器坏了三天,家里有人坐月子,没法洗澡",
])
def test_keepsakes_alarm_pendants_no_gas_dark_stops_and_confinement_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "The 'Explosion' flavour crisps were stale.",
    "As a paramedic myself, I'd say your first aid box needs restocking.",
    "He broke his wrist skiing, nothing to do with you, but your app charged me twice.",
    "开会开到头都炸了,你们会议室的投影仪能不能修一下",
    "我本人是律师,白天都在法院开庭,能不能周末开个窗口",
    "出院结算单上留置针收了两次费,麻烦核对一下",
    "Citizens Advice said I should write to you directly about the meter reading.",
    "消协的工作人员让我先跟你们协商,羽绒服跑绒的事麻烦处理一下",
    "I got cut off twice on the billing line; is there another number?",
    "客服说你找记者也没用,我根本没提过记者,这种态度不好",
    "我不会去找媒体曝光,就想把多收的停车费退回来",
    "相机修好以后曝光一直不准,照片都偏白",
    "燃气灶一打着火就有点响,火苗正常,能不能来看看",
    "There's no gas smell and nothing dangerous, the hob igniter just clicks.",
    "Years ago there was a fire in your car park; today's issue is the broken barrier.",
    "你们健身房的EMS‘电击’塑形课根本没效果",
    "Our waiter was slow, but I've reset the app twenty-odd times trying to pay.",
    "我在你们APP上重置了二十多次密码都不行,麻烦看看",
])
def test_words_of_the_v20_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v21 (after held-out v14's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "电梯门没关好就往上走,我老公的脚被轧断了,现在还在医院",
    "He was pulled from the pool and they found water on his lungs at A&E.",
    "高速上一辆你们的槽罐车一直在滴东西,味道刺鼻,交警已经拉了警戒线",
    "昨晚楼下燃气管道嘭的一声,我家窗户玻璃都震碎了",
    "The fire brigade came with two engines after the basement dryer caught on fire.",
    "NEA officers came down to inspect the kitchen this morning after my report.",
    "The banking ombudsman has registered my complaint and sought your reply within 15 days.",
    "Our story was featured on ABC last night, the whole country saw the broken lift.",
    "Dad had a funny turn after your chemist gave him somebody else's pills; he's on the ward.",
    "Someone scraped 25,000 profiles from your site and posted a download link.",
    "The school emailed a spreadsheet of 700+ families' medical notes to the whole mailing list.",
])
def test_crushed_feet_tanker_drips_blasts_brigades_and_scraped_profiles_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "游乐场的护网松了,我儿子差点从上面翻下去",
    "The heater in the barn is hanging by its own cable over the hay.",
    "人事把我的诊断证明发到了公司大群里",
    "We have lodged an application with VCAT about the bond; the hearing is listed for May.",
])
def test_loose_nets_hanging_heaters_sick_notes_and_tribunals_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "暖气停了两天,老太太冻得直哆嗦",
    "The fridge stopped cooling and my insulin must stay cold; the earliest visit is next week.",
    "燃气卡充不进去,家里两个小孩饿着肚子等饭吃",
    "The patient portal has been down all week, so my chemo appointment is a mystery.",
    "银行卡被吞了,人在外地,今晚住哪?",
    "被中介坑了押金,我真是想跳楼的心都有了",
    "I am absolutely incandescent about how your staff treated us at the wake.",
    "快递把我妈的降压药寄丢了,她只剩两天的药",
])
def test_cold_elders_warm_insulin_hungry_children_and_despair_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "物业费一涨价,业主群里直接炸了,我就想问问依据",
    "Can you resend the link? The old one expired.",
    "二手相机到手发现镜头里全是霉斑,申请退货被拒",
    "The gas leak you fixed last winter was great; this is about the standing charge.",
    "You took £90 out of my account twice for the same order.",
    "你们这个“电击”按摩仪没什么感觉,跟广告不一样",
    "配电箱上贴着小心触电的标志,但箱门的锁坏了,锁一下吧",
    "记得以前电视台报道过你们的志愿者,这次的接待有点冷淡",
    "I remember when the local paper ran that piece on your cafe; the coffee has gone downhill.",
    "小时候你们厂还上过新闻联播,这次买的电扇有点响",
    "我打了12345,他们说这个归你们管,宽带多扣了二十",
    "The local Facebook group has hundreds of posts about the bins; can you check mine?",
    "明天停水检修,请问几点恢复?",
    "我来帮我妈“救火”,她的话费套餐太贵了",
])
def test_words_of_the_v21_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v22 (after held-out v15's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "我们公司的工资表,连同身份证号和家庭住址,一共3,400 employees的,被放进了全员周报的附件",
    "The payroll file for all 2,300 staff was attached to the monthly bulletin by mistake.",
    "你们的智能门锁APP,随便输个手机号就能看到任何一个用户的开门记录",
    "With your tracker app you can type in any child's ID and see where they are right now.",
    "我的借款逾期了,你们把催收短信发给了我通讯录里所有人",
    "有人在论坛上挂了你们几十万条会员数据在卖",
    "市公安局网安支队告诉我,你们的用户数据库被非法窃取,涉及数十万用户",
    "The Drinking Water Inspectorate has confirmed it is investigating the discoloured supply.",
    "金融消费者权益保护中心已受理我对你们催收员的投诉,并要求你们书面说明",
    "The Financial Conduct Authority has listed you as an unauthorised firm.",
    "The independent appeals service upheld my appeal and ordered the ticket cancelled.",
    "孩子在你们那打的疫苗,结果起了个大包,做了手术才好,现在还在治疗",
    "我儿子误吞了你们玩具里的小零件,做了手术才取出来",
    "缆车停在半空一个小时,最后是消防员用云梯把我们一个个救下来的",
    "The fire brigade had to cut us free from the stuck ride with a ladder.",
])
def test_reach_said_by_count_or_anyone_authorities_by_other_names_and_rescues_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "养老院我爸房间的呼叫器坏了半个月,他晚上起夜摔了都没法叫人",
    "The emergency pull cord in the disabled toilet has not worked since March.",
    "轮渡上的救生衣全锁在舱里,船员说钥匙不知道在谁那",
    "On the boat trip the life jackets were locked away and nobody had the key.",
    "The toggle on the hood caught on the climbing frame and pulled at her neck.",
    "孩子衣服上的绳子挂在滑梯上勒住了脖子,幸好我在旁边",
    "A man I met on your app used the distance feature and turned up outside my flat.",
])
def test_safety_gear_that_fails_cords_at_the_neck_and_stalkers_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "家里座机坏了一个礼拜,我妈有心脏病,全靠这个电话",
    "Dad's heart monitor sends readings over the broadband, which has been dead for four days.",
    "Your card readers stopped taking payments at 9 and I'm turning customers away.",
    "开盘的时候交易软件登不上,单子全没出去",
    "房东把我们赶出来了,带着两个孩子不知道去哪",
    "修了五天都没人来,货全坏了,我真是火冒三丈",
    "The locker has my passport and I'm panicking, I fly at 7.",
    "婚车没来,司仪也换了人,这辈子就一次的婚礼被你们毁了",
])
def test_lifelines_payments_down_nowhere_to_go_and_panic_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "我们家报停暖气了,为什么还有基础热费?",
    "上次暖气不热的事,师傅来调过,现在好多了,谢谢",
    "奶瓶上的刻度印歪了,能换一个吗",
    "我们村三户养鱼的,这批鱼苗死了一大半,想问问是不是苗的问题",
    "鸡打了疫苗还是得了鸡瘟,死了几十只,请技术员来看看",
    "台阶上摔了一下,是我自己穿拖鞋没注意,建议加个防滑条",
    "爷爷每晚都看新闻联播,最近电视老是雪花",
    "The band absolutely killed it last night, but the queue for drinks was long.",
    "If the phone line goes we can't even call an ambulance, so please fix the faulty socket.",
    "复查说是镜片度数配错了,麻烦重新配一副",
    "I'm one of a group of eight who joined, but I'm writing for myself: my direct debit is wrong.",
    "看到婚纱照就觉得修图修得太假了,能重修吗",
])
def test_words_of_the_v22_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v23 (after held-out v16's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "The cemetery licensing board has opened a formal inquiry into the reused plots.",
    "After the root canal I have nerve damage in my chin, the specialist confirmed it.",
    "我女儿在你们泳池吸入了氯气,在医院住院观察了一晚",
    "My son was kept in overnight after breathing in the chlorine that went wrong at your pool.",
    "A file of 2.5 million rows with your customers' emails is being passed around online.",
    "教务处把全部学员的身份证照片发进了一个几百人的微信群",
    "你们的网址改一下数字,不用登录就能看到全部会员的订单",
    "县教育局已经责令停业了,你们还在收学费",
    "区金融办受理了我的投诉,昨天来人核实了",
])
def test_formal_inquiries_nerve_damage_nights_in_hospital_and_whole_rosters_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "船上的救生衣一半是坏的,带子都烂了",
    "The life jackets on the tour boat were torn and out of date.",
    "Nobody gritted the ramp and I watched an old man nearly go over twice.",
    "The car park steps have not been gritted all week.",
    "The nursery gate doesn't latch and a toddler wandered out onto the road.",
    "Your collections team rang my boss about my credit card arrears.",
    "I'm a solicitor, but I'm writing for myself: I'll be filing unless the fee is refunded.",
])
def test_worn_life_jackets_ungritted_paths_unlatched_gates_and_debts_told_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "The ferry ticket clerk mocked my accent. I'm going to tell the harbour master.",
    "I'll be writing to the Port Authority about how your staff spoke to my mother.",
    "Your 'organic' label is false and I'm reporting it to the certification body.",
    "你们游泳馆救生员一直玩手机,再这样我就去体育局",
    "门口那个摄像头正对着人脸拍,再不拆我就叫电视台",
    "No refund for the closed pool and I'll be posting reviews on every site I can.",
    "The pharmacy lost my insulin order and I have one pen left.",
    "燃气卡充了钱不到账,我爸有糖尿病,家里没法做饭",
    "燃气断了一个多星期了,孩子刚满月,洗澡水都烧不了",
    "小区充电桩全都扫不了码,车快没电了",
])
def test_harbour_masters_reviews_everywhere_last_insulin_pens_and_dead_chargers_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "The removal men were great, one joke about our junk hurt a little but fine.",
    "Where is the fire evacuation map for the third floor?",
    "行李箱拉杆歪了,轮子也掉了,怎么申请赔偿",
    "My reward points have expired without notice, can you restore them?",
    "上次说的停水的事,现在已经正常了,问问下次多久能来水",
    "楼道的灭火器上回过期了,你们第二天就换了,谢谢",
    "是我自己在看手机踩空了,膝盖青了一块,建议装个扶手",
    "The box arrived crushed and the plates were in pieces. How do I claim?",
    "我是搞消防的,没发现什么危险,就是提醒一下标牌",
    "殡仪馆烟囱老冒黑烟,味道不好闻,能不能改改",
    "I'll be filing with the BBB if this isn't sorted.",
])
def test_words_of_the_v23_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v24 (after held-out v17's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "冷库昨晚漏了氨气,整栋员工宿舍的人都被叫下楼,眼睛刺痛",
    "The sheriff's office has sealed your warehouse and the state labor department is involved.",
    "区市场监管局已经受理并上门调查了,你们还在卖",
    "消费者说计量所来抽检过,已经立案了",
    "我们已经反映到省教育厅,教育厅发了函要求学校说明",
    "交通运输局已经调了车上的监控在处理这个司机",
    "The district agriculture department has seized the remaining stock of your seed.",
    "The Health Commissioner has opened a file on how the ward treated my father.",
    "This week the Sunday Times printed the story about your missing deposits.",
    "宿舍楼管的事已经被人民网报道了,学校还不表态",
    "Our son came down with a stomach bug on the cruise and was put on an IV drip.",
    "The outlet melted and started burning; my husband used an extinguisher on it.",
    "A cable was left live and my girl got a nasty shock; the hospital kept her in overnight.",
    "有人从中介手里花钱买到了十几万份会员资料,都是你们平台的",
])
def test_leaks_fires_outbreaks_bodies_that_acted_and_stories_that_ran_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "A reporter from the Straits Times rang me about my renovation, she wants to include it.",
    "沙发到货就裂了,我已经请了律师",
])
def test_a_national_papers_reporter_asking_first_is_level_two(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "我在想要不要打12345,先给我个说法",
    "这事再不处理,我就把视频捅到网上去",
    "停车场乱收费,不给说法我就找街道",
    "货在你们仓库压了一天,你们调度是死人吗?",
    "The wifi has been dead since yesterday and I work from home.",
    "Your card readers keep declining every payment and I'm losing sales.",
    "The lift has been out for a week and my neighbour, who is 83, can't manage the stairs.",
    "If nothing changes I'll report you to the council.",
])
def test_threats_said_sideways_dead_lines_declined_cards_and_stranded_elders_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "酒店的防火门被锁死了,铁链都生锈了,请整改",
    "床垫中间塌陷了,能换一个吗",
    "去年你们店出过火灾,这次重新装修挺好的",
    "The logbook shows three previous owners, not one.",
    "Years ago you were in the Times as the best bakery in town; the bread has gone downhill.",
    "I gave notice in writing and you still took a payment; next the ombudsman.",
    "我把聊天记录发到网上让大家评评理,续保的折扣根本没给",
    "想自己买个灭火器放门口,可以吗?",
    "我去教育局网站查过了,那个小区根本不在学区里",
])
def test_words_of_the_v24_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v25 (after held-out v18's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "刹车失灵撞上了隔离带,我和孩子都受了伤",
    "打完针以后孩子起了一身的疹子,半夜去急诊挂水",
    "There was a crush at the exit after the gig and a girl was trampled; she was carried out.",
    "人太多了,门口一个大姐被挤倒了,还被踩了几脚",
    "I'm coeliac and after your 'gluten-free' pasta I spent the night on the bathroom floor.",
    "The lash glue made my eyes swell shut; I ended up at the ER.",
    "民航局已经受理了我对你们航班超售的投诉",
    "The RERA hearing is fixed for next week on our possession delay.",
    "12315给你们下了转办单,到现在没人联系我",
    "氧气瓶阀门漏了,整个车间一片白雾,工人都撤出来了",
    "外墙的瓷砖掉下来,把停着的电动车砸了个坑",
    "昨晚那期卫视的曝光节目说的就是你们这家店",
    "The staff posted my order slip with my address on the shop's Instagram story.",
    "快递员把我的面单拍了发朋友圈,他朋友圈好几百人",
    "The police have opened a case and the investigating officer will call your office.",
])
def test_injuries_said_plainly_crushes_regulators_by_name_and_data_posted_publicly_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "The care home let my mother wander out at night; a neighbour found her down the road.",
    "前台把我的房卡给了一个自称是我老公的男人",
    "The rental car's tyre went flat on the M5 because of a nail your staff missed.",
    "The dealership pulled my credit four times without asking me.",
    "不动产中心把我家的房产信息查给了一个不相干的人",
])
def test_wandering_residents_keys_to_strangers_flat_tyres_and_credit_pulls_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "Wah lau, your machine ate my money, I'm damn pissed off.",
    "Lift down for three days and my wife is eight months pregnant on the 15th floor.",
    "Sort out this bill or I'm writing to the Attorney General.",
    "My mum uses a nebuliser and you've cut our power since Friday.",
    "我爸瘫在床上,app人脸认证老是失败,养老金要停发了",
    "再这样我就去电视台,让大家看看你们的嘴脸",
    "I'll be ringing Joe Duffy about these missed bins.",
    "Our till system has been down since 9 and the queue is out the door.",
    "物业费交了,凭什么停我家的水?孩子刚满月",
    "收银员当着大家的面羞辱我,我活了五十年没这么丢人过",
])
def test_regional_anger_pregnancy_bedridden_parents_and_cut_supplies_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "This biryani hurt my religious sentiments, I'm a vegetarian.",
    "You charged me a cleaning fee for 'vomit' that never happened.",
    "Please ban that driver before someone gets killed; he was swerving all over.",
    "宠物店把我家狗的耳朵剪破了,缝了两针",
    "这广告说爆炸性优惠,结果就便宜了五块",
    "我朋友在派出所上班,不过我不想闹大,就想协调一下押金",
    "A friend of mine's a lawyer, but I just want the exit fee waived.",
    "The voltage regulator hums; no heat, no smell, works fine.",
    "孩子下周要住院做手术,社保卡补办太慢了",
    "快递员把门口的监控掰歪了,还冲镜头比中指",
    "上个月燃气灶有异味,师傅已经来换过阀门了,现在挺好",
])
def test_words_of_the_v25_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v26 (after held-out v19's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "A file with 25,000 of your customers' card numbers is up on a hacker forum.",
    "The clinic's mailout showed about 600 email addresses in the CC line.",
    "打完你们的除草剂,我爸头晕直吐,送镇卫生院洗了胃",
    "Dad came home from the ward with a pressure sore the size of my palm.",
    "昨晚中央台播了你们小区水黄的新闻,全国人都看见了",
    "车站的雨棚玻璃掉下来,砸在我旁边,碎了一地",
    "The outdoor aircon unit fell from the ledge and smashed the bench flat.",
    "Transport Canada has opened a file on the refunds you still owe.",
    "证监局已经约谈了你们营业部的负责人",
    "绿化带的电线漏电,一条狗踩上去当场就不动了",
])
def test_forum_dumps_cc_lines_stomach_pumps_ulcers_and_falling_fittings_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "食堂的豆角没炒熟,孩子说硬硬的,还好没人不舒服",
    "药房标签上的剂量写错了,处方明明是0.5毫升",
])
def test_undercooked_beans_and_a_wrong_dose_caught_in_time_are_level_two(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "No mobile data since this morning and I drive for a living.",
    "My wheelchair's broken and I can't leave the flat until you repair it.",
    "Dad uses a walker and we're sleeping on the floor at the gate, no hotel offered.",
    "健身器材坏了半年,再不修我就去街道反映",
    "I'm ringing the radio phone-in tomorrow about these bins.",
    "我要写信给卫健委,说说你们护士拔呼叫器的事",
    "我把账单发给了做自媒体的朋友,她说帮我发出来",
    "你们行长今天不出来,我就不走了",
    "燃气被停了一个月了,天天在外面吃",
    "付款码一直转圈,整个站的人都买不了票",
    "老父亲的助听器送修二十天没回来,他现在跟谁都说不上话",
])
def test_lost_data_walkers_radio_phone_ins_and_cut_gas_are_level_three(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "The carbon monoxide detector you promised was never fitted; the smoke alarm chirps.",
    "I got an invoice for an X-ray I didn't have.",
    "Our dog died after the op; the vet never rang us back.",
    "There's no handrail on the steps; I tripped but that was me not looking.",
    "我不打算去12315,就是希望你们把外摆桌椅收一收",
    "I'll be filing a complaint with the privacy commissioner about my photos.",
    "冲印的照片一半都曝光过度",
    "燃气灶打火要打好几下,不漏气,就是打火器不灵",
    "打了疫苗还是病了几头猪,死了两头",
    "Both lifts are down and I'm on the 14th floor with a broken leg in a cast.",
    "遥控器没电了,麻烦送两节电池",
    "奶茶里的珍珠硬硬的,像没煮熟",
])
def test_words_of_the_v26_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v27 (after held-out v20's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "行业标准化委员会已经约谈了你们公司负责人",
    "The surgeon left a piece of the needle in my arm and I'm still on antibiotics.",
    "村里两个老人闻了工厂的废气,已经住进县医院了",
    "抖音上几百万人看了我们小区停气十天的视频",
    "Trading Standards have now contacted you twice about my refund.",
    "Your loan app texted every contact in my phone, over 600 people, that I'm a debtor.",
    "Mam got a fierce belt off the socket and we had to bring her to the doctor.",
    "The ramp dropped early and a car went into the water; the harbour was closed.",
    "The county agriculture bureau took samples of your feed from our co-op.",
])
def test_committees_fragments_county_bureaus_contact_lists_and_cars_in_the_water_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "再乱收费我就放上连登",
    "呢度嘅服务真系好嬲",
    "If it's not sorted by Friday I'm going to Hello Peter.",
    "Ahn, I'm going to CASE if the delivery is missed again.",
    "I go report una to CBN if una no refund me.",
    "我阿爷八十几岁,装修拖了半年冇地方住",
    "刚出月子的老婆和娃,房东让我们一个礼拜内搬走",
    "Can't top up the prepaid meter and we've no lights, with three kids at home.",
    "我妈要透析,三天了号都挂不上",
    "孩子放学校车没来,一个人在公交站等到天黑",
    "We waited two hours in the rain with a man in his eighties and nobody rang.",
    "I'm going to the Public Protector about this queue system.",
    "Fix the bill or I bring it to the ERC.",
    "水费交了两天了,水还是没接上",
    "Every letter addressed to my late husband breaks my heart.",
])
def test_cantonese_anger_conditional_threats_dark_bus_stops_and_dry_taps_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "我恨死了这种先收培训费的套路",
    "前年新闻报道过你们救火的好人好事,想问问志愿者招募",
    "The engineer keeps cancelling for a boiler that's not even broken, just noisy.",
    "The 'Killer Deals' banner outside your shop is a bit much.",
    "They say I'll 'go viral' if I post it, but just fix the fridge.",
    "我下午要交住院押金,银行卡却被冻结了",
    "Scam texts again; my dad nearly fell for one.",
    "墙面腻子开裂起皮了,什么时候来修",
])
def test_words_of_the_v27_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v28 (after held-out v21's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "The DTI already sent your shop a notice about my missing order.",
    "The Attorney General's office sent you a warning last month about these fake sales.",
    "The police were called and the coroner's office is now involved in my dad's funeral.",
    "Ofwat have been in touch with you about the sewer smell and nothing changed.",
    "Your school portal showed every pupil's home address on a public page.",
    "你们平台的会员手机号被人打包在网上卖,表格有好几千行",
    "票务平台几千条实名信息截图在网上传",
    "Two swimmers got carted off to hospital after the chlorine went wrong.",
    "The GP sent me on to emergency after the shock from your socket.",
    "昨天电梯往下溜了两层,有个老太太崴了脚送去医院了",
    "外卖里吃出铁丝,我嘴里划了口子,去医院缝了两针",
    "金融纠纷调解中心已经出具调解意见,你们到现在不执行",
    "CASE already mediated and you agreed to pay, still nothing.",
    "After the NBC segment on your hidden fees ran, I checked my own bill.",
])
def test_regulators_in_touch_public_pages_stitches_and_segments_that_ran_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "Your pharmacist told my neighbour what medication I take, right at the counter.",
    "After the pest control guys sprayed, my husband and I were dizzy all night.",
    "碰碰车的安全带扣不上,工作人员还让照样开",
    "The minibus has no brake lights and passengers are hanging off the back.",
    "二十座的校车塞了三十个孩子",
])
def test_told_neighbours_spray_dizziness_broken_belts_and_overloaded_buses_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "I'll be filing with the CRTC about this bill.",
    "Call the BBB? I will.",
    "One more robocall and I'm calling the cops.",
    "I'm taking this to the Workplace Relations Commission.",
    "The lift has been out for days and I'm on a walker after hip surgery.",
    "Bank transfers from your app keep failing and my rent is due.",
    "补交了欠费还不恢复供水,家里一滴水都没有",
    "骗人的公司,早晚关门!",
    "I am so vexed with your bank.",
    "12345的号码我都存好了,再不来我就打",
    "厂里专线断了,生产线全趴窝",
    "Light has been off since Monday and my food is spoiling.",
    "医保卡刷不了,我爸的降压药今天就断了",
    "Gas load-shedding all day again, we cannot cook.",
    "我认识电视台的人,你们等着",
    "再唔退钱我就去报馆爆料",
    "Absolutely ropeable about the room.",
    "Water supply not coming since morning in our building.",
])
def test_crtc_cops_commissions_failed_transfers_dry_taps_and_newsrooms_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "The dentist charged me for an X-ray I never had.",
    "I have sent the change-of-address form twice already, please update it.",
    "会员卡余额显示不对,少了五十块",
    "孩子要的“消防救援”玩具车灯不亮",
    "给牛打了你们的疫苗,还是有两头病死了",
    "我已经“中毒”你家咖啡很久了",
    "The 'Flavour Explosion' noodles taste of nothing.",
    "你们“价格爆炸”的广告太吵了",
    "About ten of us at work use your timesheet app and it resets.",
    "Next step is the Ombudsman; my permit file has been pending for weeks.",
    "I'm not going to run to the papers, just fix the damp.",
    "The mascot scared my toddler half to death, tone it down please.",
    "朋友说可以打12315,我觉得没必要",
    "轮椅上下不了楼,医院的复查都去不了",
    "The charity keeps sending paper appeals though I asked for email.",
])
def test_words_of_the_v28_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v29 (after held-out v22's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "My baby was admitted to the children's hospital after drinking your formula.",
    "工商的同志今天已经来店里取证了",
    "区消费纠纷人民调解委员会已出具调解意见,你们一直不执行",
    "A sponge was left inside me after the operation and I was readmitted with sepsis.",
    "The Office for Students has now written to the university about my fee.",
    "My review video passed 2.3M views and two news sites have run it.",
    "The CBN consumer protection department has written to your bank about my charges.",
    "早上那家店“轰”的一下,门头都震下来了",
    "The piece ran in a national Sunday paper at the weekend.",
])
def test_regulators_that_wrote_mediators_sepsis_and_a_bang_that_shook_the_shop_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "My camera feed showed up in someone else's app.",
    "你们把我的对账单寄到了旧地址,新租客拆开看了",
    "The label said ten times her usual dose; we caught it before she took any.",
    "The bleach was leaking all over the bread in my delivery.",
    "Our driver nodded off at the wheel on the motorway.",
])
def test_feeds_in_strangers_apps_misdirected_statements_and_drowsy_drivers_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "电费都交了还不给来电,家里一片黑",
    "我要把这事写下来发到大众点评,让大家避雷",
    "燃气费交了还是停着,一家人等着做饭",
    "截图我都留着,准备发出来让大家看看",
    "我不想走到请媒体朋友帮忙这一步",
    "The heating oil is late and my husband is on chemo.",
    "If it isn't fixed this week I will share my experience publicly.",
    "I've had it up to here with your bin crews.",
    "成栋楼冇电成日,雪柜啲嘢都坏晒",
    "那句话让我至今无法释怀",
    "Paid for the token and there is no light in the house.",
    "孩子一个人在校门口等了四十分钟,老师早锁门走了",
    "The bus never came and my 8-year-old waited alone in the dark.",
    "我爸在家用呼吸机,突然停电了",
])
def test_dark_homes_review_sites_media_friends_chemo_and_children_left_waiting_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "万一以后有小孩从滑梯摔下来可能会受伤,建议加软垫",
    "滑梯有颗螺丝冒出来,目前还没有孩子被划伤",
    "My hearing aid still has the same crackle in the left ear.",
    "表上显示有余额,可燃气就是打不着",
    "快递员到了楼下就不走了,让我自己下去拿",
    "炸鸡有股怪味,就是觉得恶心",
    "一到新闻联播那个点电视就卡",
    "桌面就裂了一条缝,是不是木头没干透",
    "They accept only bank statements, not utility bills.",
    "改签规定太死了",
    "Your branch once helped a pensioner spot a scam.",
    "About ten of us at work use your app and it's broken for all of us.",
    "万一人脸数据泄露了怎么办",
    "我上教育局官网查了划片名单",
    "工商银行的卡昨天已经确认挂失了",
])
def test_words_of_the_v29_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


# ---- rules v30 (after held-out v23's misses; phrasings of my own) ----

@pytest.mark.parametrize("content", [
    "昨晚楼里一声巨响,我家玻璃全碎了",
    "The Banking Ombudsman has passed an award directing you to refund me.",
    "I told the whole country about your meter on Liveline yesterday.",
    "金融监管局转过来的投诉件你们收到没有",
    "Environmental health have been in to your kitchen after my complaint.",
    "The Ombud upheld my complaint last week.",
    "燃气灶一点火窜出来,手背上起了水泡",
    "The Telecommunications Industry Ombudsman has told you to reconnect my line.",
    "孩子被热汤烫到,现在在急症室包纱布",
    "阿婆在门口滑倒,头撞破了,缝五针",
    "The bus overturned and they put my arm in a cast.",
    "Bank Negara has requested your bank to respond within 14 days.",
    "你们仓库漏了农药,味道飘了半个村",
])
def test_blasts_awards_phone_ins_forwarded_cases_blisters_casts_and_spilt_pesticide_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "司机一路上打瞌睡,好几次压线",
    "外卖员把我家地址和门禁密码告诉了陌生人",
    "The carbon monoxide detector went off after your engineer left.",
    "每次用瓦斯热水器洗完澡都头晕",
    "The cable on the rowing machine is frayed down to a few strands.",
    "电热毯开了一会儿,布都焦黄了",
    # A national broadcaster asking before anything has aired is a journalist's inquiry (clar 4).
    "我是中央电视台的编导,正在就续航问题做采访,希望贵司接受采访",
    "BBC Watchdog here: your response before we decide whether to run a piece, please.",
])
def test_drowsy_drivers_door_codes_co_alarms_and_scorched_blankets_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "A KPDN complaint is next if the warranty isn't honoured.",
    "银行APP一直登勿上,急煞了",
    "收款码一上午收不了钱",
    "等了一整天师傅都没来,我要发疯了",
    "I am done with you people.",
    "医院的缴费机用不了,窗口排了两百米",
    "我这火噌噌往上冒",
    "再不退款我就去你们总部举牌子",
    "你們客服講話很機車,我快氣死了",
    "我要打电视台的热线,让记者来看看",
    "停電了,我爸在用呼吸器",
    "我跑了六趟了,你们这是在折腾老百姓",
    "我恨死你们了",
    "办后事还被你们加钱,我们心都碎了",
    "My bank card is blocked abroad and I cannot pay for anything.",
    "Nae heatin and ma gran's 86.",
    "I swear to god I am going to scream.",
    "我要把截图贴到Dcard上",
    "我有朋友在报社,你们看着办",
    "Absolutely ragin about the parcel.",
    "你们的良心不会痛吗",
])
def test_acronym_threats_placards_newsroom_friends_and_cold_grans_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "There was a small fire in the car park last year that was dealt with quickly.",
    "B超要预约两周,检查医生说最好一周内做",
    "书包带被夹在门缝里,旁边的人帮忙拽了出来",
    "The chemist told me my prescription would be ready at two.",
    "游戏账号被误封,申诉提交了三天还没回",
    "我们村水浑的事县里的论坛有人发过",
    "上次救护车进不来,绕到后门进的",
    "The groomer cut my spaniel's ears too short.",
    "The water bill has been charged under the wrong tariff.",
    "I'll be taking this to A Current Affair if nobody rings.",
    "Trading Standards said I should contact you directly first.",
    "电热毯很暖和,我当时还没睡着就热了",
])
def test_words_of_the_v30_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) > 2


@pytest.mark.parametrize(("traditional", "simplified"), [
    ("整棟大樓停電了,我阿公在用呼吸器", "整栋大楼停电了,我阿公在用呼吸器"),
    ("你們的熱水器漏電,我被電到送醫了", "你们的热水器漏电,我被电到送医了"),
    ("外送員把我家地址和門禁密碼告訴了陌生人", "外送员把我家地址和门禁密码告诉了陌生人"),
    ("客服講話很機車,我快氣死了", "客服讲话很机车,我快气死了"),
])
def test_traditional_chinese_is_triaged_as_its_simplified_form(traditional: str,
                                                               simplified: str) -> None:
    assert normalise(None, traditional) == normalise(None, simplified)
    assert level(traditional, models=RULES_ONLY) == level(simplified, models=RULES_ONLY) < 4


@pytest.mark.parametrize("content", [
    "The gas cylinder burst in our kitchen this morning.",
    "He was moved to the burns unit last night.",
    "After the injection my mother stopped breathing and the crash team came.",
    "The surgeons operated on the wrong knee.",
    "The council has issued the landlord a compliance notice over the damp.",
    "区教育局今天派督导组进校了,查强制买教辅的事",
    "有人在群里发了一份Excel,整个小区的姓名和身份证号都在上面",
    "医院垃圾桶里扔着几十个病人的病历,姓名电话都在",
    "教务系统不用登录就能看到两万多名学生的身份证号",
    "驿站把几百张快递面单当废纸卖了,上面都是姓名电话",
    "Panorama ran the story about your care homes last night.",
])
def test_bursts_burns_units_rescues_notices_and_leaks_by_the_dozen_are_level_one(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 1


@pytest.mark.parametrize("content", [
    "我被电了一下,人没受伤,但插座外壳是破的",
    "A producer from a national news programme is asking about my claim;"
    " it is still in the research phase.",
    "央视的编导打电话来了解情况,说还在前期了解,没定什么时候播",
    "地铁站的屏蔽门关不上,列车进站时人就站在旁边",
    "I'm getting current from the washing machine door.",
    "The courier got my number from your app and keeps texting me.",
    "吃完食堂的菜有点拉肚子,人倒是没大碍,也没去医院",
    "Anyone with the tracking link can see my full address.",
    "小区电线被老鼠咬破了皮,下雨天滋滋响",
])
def test_shocks_without_injury_researching_broadcasters_and_open_platform_doors_are_level_two(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 2


@pytest.mark.parametrize("content", [
    "再乱收费我就把价目单交给电视台",
    "再拖下去我只好请晚报的朋友来看看",
    "I'd hate for this to end up in the papers.",
    "I'll be posting the whole thing on r/australia.",
    "The Gazette would love this story.",
    "再不退我就去省教育厅反映",
    "再不处理我就找生态环境局了",
    "If you ring me again I'm calling the guards.",
    "I will lodge a case with the consumers association.",
    "I have already explained this to three people; I will be writing to TRAI.",
    "I can't stop shaking after how your staff spoke to me.",
    "那个收费员骂我,我激到手都震",
    "Nakakainis! Two hours and no one at the counter.",
    "Our online banking has been down all morning.",
    "The shop's server is down since five hours.",
    "外卖后台系统从中午崩到现在,一单都接不了",
    "服务区的充电桩全是坏的,车只剩5%的电",
    "店长说有本事你去告,我倒想问问都市报的记者朋友们",
    "我要去315晚会曝光你们",
])
def test_stories_handed_to_papers_provincial_bureaus_guards_and_outages_are_level_three(
        content: str) -> None:
    assert level(content, models=RULES_ONLY) == 3


@pytest.mark.parametrize("content", [
    "Your app hides the freeze button three menus down.",
    "招生广告写着暑期爆炸式提分,结果退步了",
    "沙发坐垫塌了个坑,想问能不能换",
    "I am an advocate by profession, writing as a customer about a late parcel.",
    "急救中心旁边的停车场几点关门",
    "催收一天打了二十多个电话",
])
def test_words_of_the_v31_rules_in_other_senses_do_not_fire(content: str) -> None:
    assert level(content, models=RULES_ONLY) == 4
