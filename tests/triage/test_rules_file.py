"""A bad rules file is refused at start, naming the line and the key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage_svc.rules import DEFAULT_RULES, Clock, RulesError, load_rules

GOOD = DEFAULT_RULES.read_text(encoding="utf-8")
BAD_RESOLVE = 'resolve = "5 weeks"'
EMPTY = 'name = "empty"'


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    return str(caught.value)


def line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[:text.index(needle, start)].count("\n") + 1


def test_the_shipped_file_loads() -> None:
    rules = load_rules()
    assert rules.version >= 2
    assert rules.clocks[2]["resolve"] == Clock(working_days=5)
    assert rules.clocks[1]["report"] == Clock(minutes=15)


def test_a_bad_level_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('name = "press"\nlevel = 2', 'name = "press"\nlevel = 7')
    message = refused(tmp_path, text)
    assert f"rules.toml:{line_of(text, 'level = 7')}:" in message
    assert "(press)" in message and "level must be 1, 2, 3 or 4" in message


def test_a_bad_clock_names_the_key_and_line(tmp_path: Path) -> None:
    text = GOOD.replace('resolve = "5wd"', BAD_RESOLVE)
    message = refused(tmp_path, text)
    assert "[clocks.2] resolve" in message and "'5 weeks'" in message
    assert f":{line_of(text, BAD_RESOLVE)}:" in message


@pytest.mark.parametrize("value", ["0", "-5", '"0wd"', "true", '"3 days"'])
def test_clock_values_are_validated(tmp_path: Path, value: str) -> None:
    text = GOOD.replace('acknowledge = "4h"', f"acknowledge = {value}")
    assert "[clocks.4] acknowledge" in refused(tmp_path, text)


def test_a_missing_clock_is_named(tmp_path: Path) -> None:
    text = GOOD.replace('report = "1wd"\n', "")
    assert "[clocks.4] must set exactly" in refused(tmp_path, text)


def test_an_unknown_key_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('name = "legal_action"\n', 'name = "legal_action"\nterm = ["x"]\n')
    message = refused(tmp_path, text)
    assert "unknown key 'term'" in message and "(legal_action)" in message
    assert f":{line_of(text, 'term = [')}:" in message


def test_a_toml_syntax_error_names_its_line(tmp_path: Path) -> None:
    assert "line 2" in refused(tmp_path, "version = 2\n[[rule]\n")


@pytest.mark.parametrize(("old", "new", "fault"), [
    ('[negation]\nwindow_chars = 4', '[negation]\nwindow_chars = 0', "window_chars"),
    ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "timezone"),
    ("extra_holidays = []", 'extra_holidays = ["soon"]', "extra_holidays"),
    ('category = "privacy"', 'category = "secrets"', "unknown category 'secrets'"),
    ('name = "small_group"', 'name = "press"', "duplicate name 'press'"),
    ("min_people = 30", "min_people = -1", "min_people"),
    ("[categories]\n", "[categories]\nfood = ['x']\n", "unknown category 'food'"),
    ('4 = [{role = "general_affairs", clock = "resolve"}]',
     '4 = [{role = "mayor", clock = "resolve"}]', "'mayor' is not a step"),
    ('4 = [{role = "general_affairs", clock = "resolve"}]',
     '4 = [{role = "general_affairs", clock = "lunch"}]', "unknown clock 'lunch'"),
    ('3 = [{role = "general_affairs", clock = "first_contact"},',
     '3 = [{role = "superior_authority", clock = "first_contact"},', "in order"),
    ('3 = "2h"\n4 = "4h"', '3 = "2h"', "ack_within] must set levels"),
    ("min_complainants = 5", "min_complainants = 0", "min_complainants"),
    ("similarity = 0.6", "similarity = 1.5", "similarity"),
    ("linked_level = 2", "linked_level = 0", "linked_level"),
])
def test_other_faults_are_named(tmp_path: Path, old: str, new: str, fault: str) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    message = refused(tmp_path, text)
    assert fault in message
    assert message.split(":")[1].isdigit()  # every semantic fault carries a line number


def test_a_rule_with_no_trigger_is_refused(tmp_path: Path) -> None:
    text = GOOD + f'\n[[rule]]\n{EMPTY}\nlevel = 3\nreason = "nothing"\n'
    message = refused(tmp_path, text)
    assert "(empty): needs one of" in message
    header = line_of(text, EMPTY) - 1  # the [[rule]] header above the name
    assert f":{header}:" in message


@pytest.mark.parametrize(("old", "new", "said"), [
    ("[group]\n", "[group]\nwindow_hour = 3\n", "[group] unknown key 'window_hour'"),
    ('4 = [{role = "general_affairs", clock = "resolve"}]',
     '4 = [{role = "general_affairs", clok = "resolve"}]',
     "[escalation.steps] 4.1: unknown key 'clok'"),
    ("[calendar]\n", "[calender]\n[calendar]\n", "unknown key 'calender'"),
])
def test_a_misspelt_key_is_refused_in_every_table(tmp_path: Path, old: str, new: str,
                                                  said: str) -> None:
    """Not only in [[rule]]: a typo elsewhere would silently keep the default."""
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    message = refused(tmp_path, text)
    assert said in message
    changed = next(line for line in new.splitlines() if line not in old.splitlines())
    assert f":{line_of(text, changed)}:" in message


def test_what_is_written_wrong_comes_before_what_is_missing(tmp_path: Path) -> None:
    text = "version = 1\n[[rule]]\nname = 'x'\nlevel = 7\nreason = 'r'\nterms = ['a']\n"
    assert f"rules.toml:{line_of(text, 'level = 7')}:" in refused(tmp_path, text)
    assert "rules.toml:1: escalation is required" in refused(
        tmp_path, GOOD[:GOOD.index("[escalation]")])


@pytest.mark.parametrize("term", ["[0-9]+ floors", "(very|so)+ angry"])
def test_a_repetition_sign_in_a_term_is_refused_with_its_line(tmp_path: Path,
                                                              term: str) -> None:
    # `+` is text in a term ("十万+" is one); after a set or a group it reads as "one or
    # more", which terms do not have, so the term would never match: refused, not ignored.
    old = '"十万+", '
    assert old in GOOD
    message = refused(tmp_path, GOOD.replace(old, f'"十万+", "{term}", ', 1))
    assert "is text in a term" in message and term in message
    # the line of the key that holds it, as for every other fault in a list
    assert message.split(":")[1] == str(line_of(GOOD, "terms = [", after='name = "national_media"'))


def test_an_english_term_with_an_accented_letter_is_refused_with_its_line(
        tmp_path: Path) -> None:
    # It would be matched as a Chinese term (gaps of 10 characters, no word starts), so a
    # pattern like "façade*(fell|dropped)" would miss "the facade above ours fell".
    old = '"十万+", '
    term = "(façade|balcony)*(fell|dropped)"
    message = refused(tmp_path, GOOD.replace(old, f'"十万+", "{term}", ', 1))
    assert "accented letter" in message and term in message
    assert message.split(":")[1] == str(line_of(GOOD, "terms = [", after='name = "national_media"'))
