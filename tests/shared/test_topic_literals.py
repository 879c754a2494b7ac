"""The event schemas are the one source of topics: no string literal anywhere else in the
code (services, shared, deploy, bench, tests) spells a registered topic; code names it
through its class (`ComplaintReceived.topic`)."""

from __future__ import annotations

import ast
from pathlib import Path

from shared.events import TOPICS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "intake_svc", "triage_svc", "notify_svc", "sentiment_svc",
            "drill_svc",
            "deploy", "bench", "tests")
HOME = ROOT / "shared" / "events"


def topic_literals(source: str) -> list[tuple[int, str]]:
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value in TOPICS]


def test_the_walk_finds_a_topic_literal_and_only_an_exact_one() -> None:
    source = f'X = "{TOPICS[0]}"\nY = "{TOPICS[0]}s"\ndef f() -> str:\n    return "{TOPICS[1]}"\n'
    assert topic_literals(source) == [(1, TOPICS[0]), (4, TOPICS[1])]


def test_no_topic_string_literal_outside_shared_events() -> None:
    files = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             if not path.is_relative_to(HOME)]
    assert len(files) > 200  # the walk does see the code
    found = [f"{path.relative_to(ROOT)}:{line}: {value!r}" for path in files
             for line, value in topic_literals(path.read_text(encoding="utf-8"))]
    assert found == []
