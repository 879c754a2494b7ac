from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.events.schemas import ComplaintReceived
from triage_svc.rules import RulesError, load_rules
from triage_svc.service import assess, deadlines

RULES = load_rules()
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def complaint(content: str, **fields: object) -> ComplaintReceived:
    return ComplaintReceived.model_validate(
        {"complaint_id": "c1", "channel": "hotline", "content": content, "received_at": NOW,
         **fields})


@pytest.mark.parametrize(("content", "fields", "level", "category"), [
    ("热水器爆炸，有人受伤住院", {}, 1, "safety"),
    ("The heater exploded and a child was seriously injured", {}, 1, "safety"),
    ("我们小区三十多户一起投诉物业乱收费", {"people_count": 35}, 1, "billing"),
    ("记者来电询问贵公司的退款问题", {}, 2, "after_sales"),
    ("账单多收了二十元", {"channel": "media"}, 2, "billing"),
    # Right by the labelling policy (no matter named: `other`): the complement naive Bayes
    # model named after_sales here from its adoption until the models retrained on v14
    # (rules v21, 2026-12-03), and again since they retrained on v17 (rules v24,
    # 2026-12-04): "12315" and "再不处理" lean after_sales in the retired sets. Strict, so
    # the day a retraining gets it right again this fails and the mark comes off.
    pytest.param("再不处理我就去12315投诉，太过分了", {}, 3, "other",
                 marks=pytest.mark.xfail(strict=True, reason="the category model names "
                                         "after_sales for a threat with no matter")),
    ("客服态度很差，一直不耐烦", {}, 4, "service_attitude"),
    ("The product arrived broken, quality is poor", {}, 4, "product_quality"),
])
def test_levels_and_categories(content: str, fields: dict[str, object], level: int,
                               category: str) -> None:
    result = assess(complaint(content, **fields), RULES)
    assert (result.response_level, result.category) == (level, category)


def test_a_threat_to_go_to_the_regulator_is_level_3() -> None:
    # The level of the xfailed case above, which its category alone fails.
    assert assess(complaint("再不处理我就去12315投诉，太过分了"), RULES).response_level == 3


def test_every_rule_that_fired_gives_a_reason() -> None:
    # "我要找记者" is a threat to go to the press (level 3), not a journalist's inquiry.
    result = assess(complaint("产品爆炸了，我要找记者曝光，太过分了"), RULES)
    assert result.response_level == 1
    names = {reason.rsplit("[", 1)[1].split(" ")[0] for reason in result.level_reasons
             if " → level " in reason}
    assert names == {"public_safety", "threat_to_expose", "strong_emotion"}
    assert any('"爆炸"' in reason for reason in result.level_reasons)


def test_ordinary_complaint_says_why_it_is_level_four() -> None:
    result = assess(complaint("营业厅排队时间太长"), RULES)
    assert result.response_level == 4
    assert result.category == "process"
    assert "level 4" in result.level_reasons[0]


def test_deadlines_follow_the_level_clocks() -> None:
    clocks = deadlines(1, NOW, RULES)
    assert clocks.report_by - NOW == timedelta(minutes=15)
    assert clocks.resolve_by - NOW == timedelta(hours=24)
    assert deadlines(4, NOW, RULES).first_contact_by - NOW == timedelta(hours=24)


@pytest.mark.parametrize(("text", "fault"), [
    ("version = 1\n[[rule]]\nname = 'x'\nlevel = 7\nreason = 'r'\nterms = ['a']", "level must"),
    ("version = 1\n[[rule\n", "line 2"),
    ("version = 1\n", "no [[rule]]"),
])
def test_a_bad_rules_file_is_refused_naming_the_fault(tmp_path: Path, text: str,
                                                      fault: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulesError, match=fault.replace("[", r"\[")):
        load_rules(path)
