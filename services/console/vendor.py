"""Copy the console's browser assets from the npm project in assets/ into static/vendor/.

`python -m services.console.vendor` (after `npm ci` in assets/) rewrites static/vendor/: the
files the pages load, each package's licence texts and MANIFEST.json saying where every file
came from. `--check` verifies static/vendor/ against the pins, the lockfile and the manifest;
it needs no node_modules, but compares with it too when it is there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

HERE = Path(__file__).resolve().parent
ASSETS_DIR = HERE / "assets"
VENDOR_DIR = HERE / "static" / "vendor"
MANIFEST_NAME = "MANIFEST.json"
# npm ranges (^, ~, x, >=) would let `npm install` move a file under the manifest's feet.
EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+")


@dataclass(frozen=True)
class Package:
    name: str
    assets: tuple[tuple[str, str], ...]  # (vendored name, path inside the npm package)
    # Licence and notice texts to ship beside the assets: (suffix of the copy, path inside
    # the package). Apache-2.0 and BSD want their NOTICE and sub-licences passed on too.
    legal: tuple[tuple[str, str], ...] = (("LICENSE.txt", "LICENSE"),)
    # For a tarball that ships no licence text: a file in assets/licenses/ copied from the
    # project's repository at the pinned release.
    licence_text: str | None = None
    # For a package.json without a "license" field: the SPDX id of its LICENSE text.
    spdx_fallback: str | None = None


PACKAGES: tuple[Package, ...] = (
    Package("htmx.org", assets=(("htmx.min.js", "dist/htmx.min.js"),)),
    # The common build has line, bar, pie and scatter with markArea, dataZoom, legend,
    # tooltip, dataset and aria (echarts/index.common.js), at two thirds of the full size.
    Package(
        "echarts",
        assets=(("echarts.common.min.js", "dist/echarts.common.min.js"),),
        legal=(
            ("LICENSE.txt", "LICENSE"),
            ("NOTICE.txt", "NOTICE"),
            ("LICENSE-d3.txt", "licenses/LICENSE-d3"),
        ),
    ),
    # CSS only: the console's interactivity is htmx and static/console.js, not Bootstrap's JS.
    Package("bootstrap", assets=(("bootstrap.min.css", "dist/css/bootstrap.min.css"),)),
)


class Entry(TypedDict):
    file: str
    kind: Literal["asset", "legal"]
    package: str
    version: str
    source: str
    license: str
    license_file: str
    size: int
    sha256: str


class VendorError(Exception):
    """Something a person must fix (run `npm ci`, update PACKAGES); the message says what."""


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pinned_versions(assets_dir: Path = ASSETS_DIR) -> dict[str, str]:
    """The dependencies of assets/package.json, as written there."""
    deps: dict[str, str] = read_json(assets_dir / "package.json").get("dependencies", {})
    return deps


def locked_versions(assets_dir: Path = ASSETS_DIR) -> dict[str, str]:
    """The top-level packages of assets/package-lock.json and the versions it resolved."""
    packages: dict[str, Any] = read_json(assets_dir / "package-lock.json").get("packages", {})
    prefix = "node_modules/"
    return {
        key.removeprefix(prefix): str(meta.get("version"))
        for key, meta in packages.items()
        if key.startswith(prefix) and "/node_modules/" not in key
    }


def spdx_of(package: Package, meta: dict[str, Any]) -> str:
    declared = meta.get("license")
    if isinstance(declared, str) and declared:
        if package.spdx_fallback and declared != package.spdx_fallback:
            raise VendorError(f"{package.name} now declares {declared}: update spdx_fallback")
        return declared
    if package.spdx_fallback:
        return package.spdx_fallback
    raise VendorError(f"{package.name}: package.json has no licence; set spdx_fallback")


def legal_sources(package: Package, assets_dir: Path) -> list[tuple[str, str, Path]]:
    """(vendored name, source as recorded, path) of each licence or notice text."""
    root = assets_dir / "node_modules" / package.name
    found = [
        (f"{package.name}.{suffix}", inner, root / inner) for suffix, inner in package.legal
    ]
    if package.licence_text:
        own = assets_dir / "licenses" / package.licence_text
        found.insert(0, (f"{package.name}.LICENSE.txt", f"licenses/{package.licence_text}", own))
    return found


@dataclass(frozen=True)
class Release:
    """What every file vendored from one installed package has in common."""

    package: str
    version: str
    licence: str
    licence_file: str

    def entry(self, kind: Literal["asset", "legal"], name: str, source: str, path: Path) -> Entry:
        if not path.is_file():
            raise VendorError(f"{self.package} {self.version} has no {source}")
        return Entry(
            file=name, kind=kind, package=self.package, version=self.version, source=source,
            license=self.licence, license_file=self.licence_file,
            size=path.stat().st_size, sha256=sha256_of(path),
        )  # fmt: skip


def release_of(package: Package, assets_dir: Path) -> Release:
    meta_path = assets_dir / "node_modules" / package.name / "package.json"
    if not meta_path.is_file():
        raise VendorError(f"{package.name} is not installed: run `npm ci` in {assets_dir}")
    meta: dict[str, Any] = read_json(meta_path)
    legal = legal_sources(package, assets_dir)
    if not legal:
        raise VendorError(f"{package.name}: no licence text; set legal or licence_text")
    return Release(package.name, str(meta["version"]), spdx_of(package, meta), legal[0][0])


def plan_package(package: Package, assets_dir: Path) -> list[tuple[Entry, Path]]:
    """The manifest entries for one installed package, each with the file to copy."""
    release = release_of(package, assets_dir)
    root = assets_dir / "node_modules" / package.name
    planned = [
        (release.entry("asset", name, inner, root / inner), root / inner)
        for name, inner in package.assets
    ]
    planned += [
        (release.entry("legal", name, source, path), path)
        for name, source, path in legal_sources(package, assets_dir)
    ]
    return planned


def plan(assets_dir: Path = ASSETS_DIR) -> list[tuple[Entry, Path]]:
    """Every file to vendor, after checking node_modules holds what package.json pins."""
    problems = pin_problems(assets_dir)
    if problems:
        raise VendorError("; ".join(problems))
    planned = [item for package in PACKAGES for item in plan_package(package, assets_dir)]
    pins = pinned_versions(assets_dir)
    for entry, _ in planned:
        if entry["version"] != pins[entry["package"]]:
            raise VendorError(
                f"node_modules has {entry['package']} {entry['version']}, package.json pins "
                f"{pins[entry['package']]}: run `npm ci` in {assets_dir}"
            )
    return planned


def write_manifest(entries: list[Entry], vendor_dir: Path) -> None:
    text = json.dumps({"generated_by": "python -m services.console.vendor", "files": entries},
                      indent=2)
    (vendor_dir / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")


def load_manifest(vendor_dir: Path = VENDOR_DIR) -> list[Entry]:
    entries: list[Entry] = read_json(vendor_dir / MANIFEST_NAME)["files"]
    return entries


def vendor(assets_dir: Path = ASSETS_DIR, vendor_dir: Path = VENDOR_DIR) -> list[Entry]:
    """Copy the planned files, drop any stale ones and rewrite the manifest."""
    planned = plan(assets_dir)
    vendor_dir.mkdir(parents=True, exist_ok=True)
    keep = {entry["file"] for entry, _ in planned} | {MANIFEST_NAME}
    for stale in vendor_dir.iterdir():
        if stale.is_file() and stale.name not in keep:
            stale.unlink()
    for entry, source in planned:
        (vendor_dir / entry["file"]).write_bytes(source.read_bytes())
    entries = [entry for entry, _ in planned]
    write_manifest(entries, vendor_dir)
    return entries


def pin_problems(assets_dir: Path = ASSETS_DIR) -> list[str]:
    """package.json must pin exactly the vendored packages, exactly, as the lockfile has them."""
    pins, locked = pinned_versions(assets_dir), locked_versions(assets_dir)
    wanted = {package.name for package in PACKAGES}
    problems = [f"package.json lacks {name}" for name in sorted(wanted - pins.keys())]
    problems += [f"package.json has unvendored {name}" for name in sorted(pins.keys() - wanted)]
    for name, version in sorted(pins.items()):
        if not EXACT_VERSION.fullmatch(version):
            problems.append(f"package.json pins {name} {version!r}, not an exact version")
        elif locked.get(name) != version:
            problems.append(f"package-lock.json has {name} {locked.get(name)}, not {version}")
    return problems


def manifest_problems(assets_dir: Path = ASSETS_DIR, vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """Each vendored file is listed, present, unchanged and at the pinned version."""
    entries, pins = load_manifest(vendor_dir), pinned_versions(assets_dir)
    listed = {entry["file"] for entry in entries}
    present = {path.name for path in vendor_dir.iterdir()} - {MANIFEST_NAME}
    problems = [f"{name} is in static/vendor but not in the manifest"
                for name in sorted(present - listed)]  # fmt: skip
    for entry in entries:
        path = vendor_dir / entry["file"]
        if not path.is_file():
            problems.append(f"{entry['file']} is in the manifest but missing")
        elif sha256_of(path) != entry["sha256"]:
            problems.append(f"{entry['file']} differs from its manifest sha256")
        if pins.get(entry["package"]) != entry["version"]:
            problems.append(f"{entry['file']} is {entry['package']} {entry['version']}, "
                            f"package.json pins {pins.get(entry['package'])}")  # fmt: skip
    return problems


def freshness_problems(assets_dir: Path, vendor_dir: Path) -> list[str]:
    """With node_modules installed, the manifest must be what vendoring it would write."""
    try:
        fresh = [entry for entry, _ in plan(assets_dir)]
    except VendorError as error:
        return [str(error)]
    if fresh != load_manifest(vendor_dir):
        return ["static/vendor is not what node_modules holds: run `make vendor`"]
    return []


def check(assets_dir: Path = ASSETS_DIR, vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """Every problem found, or none; node_modules is consulted only when installed."""
    if not (vendor_dir / MANIFEST_NAME).is_file():
        return [f"{vendor_dir / MANIFEST_NAME} is missing: run `make vendor`"]
    problems = pin_problems(assets_dir) + manifest_problems(assets_dir, vendor_dir)
    if not problems and (assets_dir / "node_modules").is_dir():
        problems += freshness_problems(assets_dir, vendor_dir)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.console.vendor",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true",
                        help="verify static/vendor/ instead of rewriting it")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(f"vendor: {problem}", file=sys.stderr)
        return 1 if problems else 0
    try:
        entries = vendor()
    except VendorError as error:
        print(f"vendor: {error}", file=sys.stderr)
        return 1
    for entry in entries:
        origin = f"{entry['package']} {entry['version']}"
        print(f"{entry['file']:32} {origin:22} {entry['size']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
