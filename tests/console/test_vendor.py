"""The console's vendored browser assets are exactly what the manifest and package.json say:
pinned versions, unchanged bytes, no stray or missing files, and each with its licence.
The checks read the committed files only, so they need no node_modules."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from services.console import vendor
from services.console.vendor import ASSETS_DIR, MANIFEST_NAME, PACKAGES, VENDOR_DIR


def _manifest() -> list[vendor.Entry]:
    return vendor.load_manifest(VENDOR_DIR)


def _pins() -> dict[str, str]:
    pins: dict[str, str] = json.loads((ASSETS_DIR / "package.json").read_text())["dependencies"]
    return pins


def test_every_vendored_file_matches_its_manifest_sha256() -> None:
    for entry in _manifest():
        digest = hashlib.sha256((VENDOR_DIR / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], entry["file"]


def test_static_vendor_holds_only_manifest_files() -> None:
    present = {path.name for path in VENDOR_DIR.iterdir()} - {MANIFEST_NAME}
    assert present == {entry["file"] for entry in _manifest()}


def test_every_package_asset_is_in_the_manifest() -> None:
    listed = {(entry["package"], entry["file"]) for entry in _manifest()}
    for package in PACKAGES:
        for name, _ in package.assets:
            assert (package.name, name) in listed


def test_package_json_pins_exact_versions_that_the_manifest_and_lockfile_share() -> None:
    pins = _pins()
    assert set(pins) == {package.name for package in PACKAGES}
    for name, version in pins.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is a range"
    assert {name: vendor.locked_versions()[name] for name in pins} == pins
    for entry in _manifest():
        assert entry["version"] == pins[entry["package"]], entry["file"]


def test_htmx_is_2_0() -> None:
    # htmx 4 changed the attribute syntax the templates use.
    pins = _pins()
    assert pins["htmx.org"].startswith("2.0."), pins["htmx.org"]
    htmx = (VENDOR_DIR / "htmx.min.js").read_text(encoding="utf-8")
    assert f'version:"{pins["htmx.org"]}"' in htmx


def test_every_vendored_file_names_an_spdx_licence_and_a_shipped_licence_file() -> None:
    for entry in _manifest():
        assert re.fullmatch(r"[A-Za-z0-9.+-]+", entry["license"]), entry
        assert entry["license_file"] == f"{entry['package']}.LICENSE.txt"
        assert (VENDOR_DIR / entry["license_file"]).stat().st_size > 100


def test_the_vendor_check_finds_nothing() -> None:
    assert vendor.check() == []


def _fake_npm_project(root: Path) -> Path:
    """An assets/ folder whose node_modules has every vendored file, made up, at the pins."""
    assets = root / "assets"
    (assets / "licenses").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ASSETS_DIR / name, assets / name)
    for package in PACKAGES:
        installed = assets / "node_modules" / package.name
        installed.mkdir(parents=True)
        meta = {"version": _pins()[package.name], "license": package.spdx_fallback or "MIT"}
        (installed / "package.json").write_text(json.dumps(meta))
        for inner in [inner for _, inner in package.assets + package.legal]:
            (installed / inner).parent.mkdir(parents=True, exist_ok=True)
            (installed / inner).write_text(f"{package.name} {inner}\n")
        if package.licence_text:
            (assets / "licenses" / package.licence_text).write_text("MIT licence text\n")
    return assets


@pytest.fixture
def vendored(tmp_path: Path) -> tuple[Path, Path]:
    assets, out = _fake_npm_project(tmp_path), tmp_path / "vendor"
    vendor.vendor(assets, out)
    assert vendor.check(assets, out) == []
    return assets, out


def test_check_reports_an_edited_file(vendored: tuple[Path, Path]) -> None:
    assets, out = vendored
    (out / "htmx.min.js").write_text("tampered")
    assert vendor.check(assets, out) == ["htmx.min.js differs from its manifest sha256"]


def test_check_reports_a_stray_and_a_missing_file(vendored: tuple[Path, Path]) -> None:
    assets, out = vendored
    (out / "extra.js").write_text("")
    (out / "htmx.min.js").unlink()
    assert vendor.check(assets, out) == [
        "extra.js is in static/vendor but not in the manifest",
        "htmx.min.js is in the manifest but missing",
    ]


def test_check_reports_a_range_and_a_pin_the_manifest_lacks(vendored: tuple[Path, Path]) -> None:
    assets, out = vendored
    package_json = assets / "package.json"
    meta = json.loads(package_json.read_text())
    meta["dependencies"]["bootstrap"] = "^5.3.0"
    package_json.write_text(json.dumps(meta))
    problems = vendor.check(assets, out)
    assert "package.json pins bootstrap '^5.3.0', not an exact version" in problems
    assert any(p.startswith("bootstrap.min.css is bootstrap ") for p in problems)


def test_check_reports_node_modules_newer_than_static_vendor(
    vendored: tuple[Path, Path],
) -> None:
    assets, out = vendored
    (assets / "node_modules" / "echarts" / "dist" / "echarts.common.min.js").write_text("new")
    assert vendor.check(assets, out) == [
        "static/vendor is not what node_modules holds: run `make vendor`"
    ]


def test_vendoring_removes_files_no_longer_vendored(vendored: tuple[Path, Path]) -> None:
    assets, out = vendored
    (out / "old.js").write_text("")
    vendor.vendor(assets, out)
    assert not (out / "old.js").exists()
