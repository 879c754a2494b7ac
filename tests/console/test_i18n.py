"""Every string a page shows has its Chinese (zh-CN is the default), and times are shown
in the configured zone."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from services.console.i18n import ZH, local_time, translator

CONSOLE = Path(__file__).resolve().parents[2] / "services" / "console"
# A literal argument only (`_("statement " + status)` builds its key at render time).
IN_TEMPLATE = re.compile(r"""_\(\s*(["'])(.+?)\1\s*[,)]""")
# Names that are codes the catalogue need not translate (level numbers and the like).
UNTRANSLATED = frozenset({"…"})


def _template_strings() -> set[str]:
    found: set[str] = set()
    for template in (CONSOLE / "templates").glob("*.html"):
        found |= {m.group(2) for m in IN_TEMPLATE.finditer(template.read_text("utf-8"))}
    return found


def _strings_in(node: ast.expr) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def _module_strings() -> set[str]:
    """Messages the page modules hand to templates: `("text {x}", {values})` tuples."""
    found: set[str] = set()
    for module in CONSOLE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            if isinstance(node, ast.Tuple) and len(node.elts) == 2 \
                    and isinstance(node.elts[1], ast.Dict):
                found |= _strings_in(node.elts[0])
    return found


def test_every_template_string_has_its_chinese() -> None:
    strings = _template_strings()
    assert len(strings) > 50  # the scan found the templates' strings at all
    missing = sorted(s for s in strings - UNTRANSLATED if s not in ZH)
    assert missing == []


def test_every_message_a_module_shows_has_its_chinese() -> None:
    strings = _module_strings()
    assert "This action is not allowed now: {detail}" in strings
    assert sorted(s for s in strings if s not in ZH) == []


def test_english_is_the_text_itself_and_values_fill_in() -> None:
    zh, en = translator("zh"), translator("en")
    assert zh("Board") == "值班看板" and en("Board") == "Board"
    assert zh("Level {level}", level=2) == "2级响应"
    assert en("Level {level}", level=2) == "Level 2"


def test_times_are_shown_in_the_configured_zone() -> None:
    moment = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    assert local_time(moment, ZoneInfo("Asia/Shanghai")) == "2026-12-02 00:30"
    assert local_time("2026-12-01T16:30:00Z", ZoneInfo("Europe/London")) == "2026-12-01 16:30"
    assert local_time(None, ZoneInfo("UTC")) == ""
