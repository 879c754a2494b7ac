"""docs/api.md keeps to the code: every operation of the gateway's merged OpenAPI is on the
page, and every route the page names as served is in the OpenAPI (the ones it lists under
"Where code and contract differ" are exactly those that are not)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import merged_openapi

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "api.md").read_text()
OURS, DIFFER = PAGE.split("# In this repository", 1)[1].split("## Where code and contract differ")
MENTION = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/v1/[A-Za-z0-9_{}/.-]*[A-Za-z0-9_}])")
ADMIN = "doc-admin-key-0123456789"
# Served, and documented as such, but kept out of the OpenAPI itself.
UNLISTED = {("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs")}


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


async def _operations(tmp_path: Path) -> set[tuple[str, str]]:
    spec = await merged_openapi(tmp_path, ADMIN)
    return {(method.upper(), _normal(path)) for path, ops in spec["paths"].items()
            for method in ops}


def _documented(text: str) -> set[tuple[str, str]]:
    """Routes named in full (`POST /api/v1/cases/{id}/…` introduces actions: not a route)."""
    return {(found[1], _normal(found[2])) for found in MENTION.finditer(text)
            if not text.startswith("/…", found.end())}


async def test_every_operation_is_on_the_page(tmp_path: Path) -> None:
    operations = await _operations(tmp_path)
    assert len(operations) > 30
    named = _documented(PAGE)
    # `POST /api/v1/cases/{id}/…`: `acknowledge`, … names the actions after their prefix.
    actions = set(re.findall(r"`([a-z-]+)`\s+`\{", PAGE))
    missing = {(m, p) for m, p in operations if (m, p) not in named
               and not (p.rsplit("/", 1)[1] in actions and f"{m} {p.rsplit('/', 1)[0]}/…"
                        in PAGE.replace("{id}", "{}"))}
    assert not missing, f"in the OpenAPI, not in docs/api.md: {sorted(missing)}"


async def test_the_page_names_only_served_routes_except_where_it_says(tmp_path: Path) -> None:
    operations = await _operations(tmp_path)
    unserved = _documented(OURS) - operations - UNLISTED
    assert not unserved, f"docs/api.md names routes the code does not serve: {unserved}"
    # Every route the section names is one the code does not serve (today it names none:
    # the contract's second-release routes are all served).
    said_missing = _documented(DIFFER)
    assert not said_missing & operations, (
        "listed as not served, but served:", said_missing & operations)
