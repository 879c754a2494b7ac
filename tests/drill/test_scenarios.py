"""Scenario files: the shipped ones load, and a bad one is refused naming its line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from drill_svc.main import create_app
from drill_svc.scenarios import (
    DEFAULT_DIR,
    ScenarioError,
    load_scenarios,
    parse_duration,
    parse_scenario,
)
from drill_svc.settings import DrillSettings
from shared.settings import ConfigError

GOOD = """\
name = "tiny"
title = "一个小演练"
length = "10m"

[[complaints]]
ref = "a"
at = "0m"
content = "热水器爆炸，有人受伤住院"

[[expect]]
role = "duty_officer"
do = "acknowledge"
"""


def test_the_three_shipped_scenarios_load_from_the_plans() -> None:
    found = load_scenarios(DEFAULT_DIR)
    assert set(found) >= {"product-safety-casualties", "branch-group-complaint",
                          "media-exposure-viral"}
    viral = found["media-exposure-viral"]
    assert viral.injection_count() == 13  # one reporter, twelve posts
    assert all(s.source for s in found.values())  # each names the plan it comes from
    assert all(s.expect for s in found.values())


def test_a_good_scenario_parses() -> None:
    scenario = parse_scenario(GOOD, "tiny.toml")
    assert scenario.length_delta == timedelta(minutes=10)
    assert scenario.complaints[0].channel == "hotline"


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace('length = "10m"', 'length = "10 minutes"'),
     "tiny.toml:3: length: a duration is written like 15m, 90s or 1h30m"),
    (GOOD.replace('at = "0m"', 'at = "0m"\ncolour = "red"'),
     "tiny.toml:8: complaints #1 colour: Extra inputs are not permitted"),
    (GOOD.replace('at = "0m"', 'at = "11m"'),
     "tiny.toml: a comes at 11m, after the drill's length"),
    (GOOD.replace('do = "acknowledge"', 'do = "acknowledge"\ncomplaint = "zz"'),
     "tiny.toml: an expectation names complaint 'zz', which the scenario does not inject"),
    (GOOD.replace('do = "acknowledge"', 'do = "level"'),
     "tiny.toml:10: expect #1: an expectation of a level names the level"),
    (GOOD.replace('name = "tiny"', 'name = "Tiny Drill"'),
     "tiny.toml:1: name: String should match pattern"),
    (GOOD.replace('content = "热水器爆炸，有人受伤住院"', ''),
     "tiny.toml:5: complaints #1 content: Field required"),
])
def test_a_bad_scenario_names_its_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(text, "tiny.toml")
    assert str(refused.value).startswith(expected)


def test_broken_toml_names_its_line() -> None:
    with pytest.raises(ScenarioError, match=r"tiny\.toml: .*line 2"):
        parse_scenario('name = "x"\ntitle = \n', "tiny.toml")


@pytest.mark.parametrize("text", ["", "m", "1d", "15 m", "8d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("90s") == timedelta(seconds=90)


def test_a_bad_scenario_file_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "one.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "two.toml").write_text(GOOD, encoding="utf-8")
    settings = DrillSettings(data_dir=tmp_path, scenarios_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"DRILL_SCENARIOS_DIR: .*two\.toml: name 'tiny'"):
        create_app(settings)
