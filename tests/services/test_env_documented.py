"""Every environment variable the code reads is documented (#16): in a `| variable | … |`
table of the README or docs/configuration.md. The variables are collected from the code
itself, so a new setting without its line fails here:

- every pydantic-settings class in the packages (walked through `BaseSettings`'
  subclasses): its fields' validation aliases, or env prefix + field name;
- every read of the environment in the source (an AST scan): `os.environ[...]`,
  `os.environ.get(...)`, `os.getenv(...)`, and the same on a mapping named `env`, `environ`
  or `base` (how the launchers pass an environment around), including helpers called as
  `f(env, "NAME", …)`. `f"{name.upper()}_PORT"` counts as `<SERVICE>_PORT`.

In the documentation `<SERVICE>_X` stands for each service, `PREFIX_{A,B}_S` for each of
the braces, and `` `_X` `` in a cell that starts with `` `NOTIFY_SMTP_HOST` `` for
`NOTIFY_SMTP_X`."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings

from services.settings import SERVICES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "intake_svc", "triage_svc", "notify_svc", "sentiment_svc",
            "drill_svc",
            "deploy")
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "configuration.md")
ENV_NAMES = {"env", "environ", "base"}
VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*[A-Z0-9]$")
SERVICE = "<SERVICE>"
# Read, but no setting: a pydantic field without an alias is read from the environment
# under its own name. `service_name` is fixed per service class and must not be set.
NOT_SETTINGS = {"SERVICE_NAME"}


# --- what the code reads -------------------------------------------------------------

def _settings_classes() -> list[type[BaseSettings]]:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    found, todo = [], list(BaseSettings.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PACKAGES:
            found.append(cls)
    return found


def _aliases(alias: object) -> Iterator[str]:
    if isinstance(alias, str):
        yield alias
    elif isinstance(alias, AliasChoices):
        for choice in alias.choices:
            yield from _aliases(choice)
    elif isinstance(alias, AliasPath) and isinstance(alias.path[0], str):
        yield alias.path[0]


def settings_variables() -> dict[str, str]:
    """Variable -> the class that reads it."""
    found = {}
    for cls in _settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, info in cls.model_fields.items():
            names = list(_aliases(info.validation_alias)) or [prefix + name]
            for variable in names:
                found[variable.upper()] = f"{cls.__module__}.{cls.__qualname__}"
    return found


def _name_of(node: ast.expr) -> str | None:
    """`"NAME"` -> NAME; `f"{name.upper()}_PORT"` -> <SERVICE>_PORT; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if VARIABLE.match(node.value) else None
    if isinstance(node, ast.JoinedStr):
        text = "".join(str(part.value) if isinstance(part, ast.Constant) else SERVICE
                       for part in node.values)
        return text if VARIABLE.match(text.replace(SERVICE, "S")) else None
    return None


def _is_environment(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ENV_NAMES
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _reads(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        candidate: ast.expr | None = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if _is_environment(node.value):
                candidate = node.slice
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("get", "getenv") and (
                    _is_environment(func.value)
                    or (isinstance(func.value, ast.Name) and func.value.id == "os")):
                candidate = node.args[0]
            elif len(node.args) >= 2 and _is_environment(node.args[0]):
                candidate = node.args[1]  # a helper: f(env, "NAME", …)
        if candidate is not None:
            name = _name_of(candidate)
            if name is not None:
                yield name


def source_variables() -> dict[str, str]:
    """Variable -> the file that reads it."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _reads(ast.parse(path.read_text(), str(path))):
                found[name] = str(path.relative_to(ROOT))
    return found


# --- what the documentation names ----------------------------------------------------

def _expand(token: str, anchor: str | None) -> list[str]:
    if token.startswith("_") and anchor:  # `NOTIFY_SMTP_HOST`, `_PORT`: NOTIFY_SMTP_PORT
        token = anchor.rsplit("_", 1)[0] + token
    braces = re.search(r"\{([A-Z0-9_,]+)\}", token)
    if braces:
        return [t for choice in braces.group(1).split(",")
                for t in _expand(token.replace(braces.group(0), choice, 1), None)]
    names = [token]
    if SERVICE in token:
        names += [token.replace(SERVICE, s.upper()) for s in SERVICES]
    return names


def documented_variables() -> set[str]:
    """The variables named in the first column of every `| variable | … |` table."""
    found: set[str] = set()
    for path in DOCUMENTS:
        if not path.exists():
            continue
        in_table = False
        for line in path.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not line.startswith("|"):
                in_table = False
                continue
            if cells[0] == "variable":
                in_table = True
                continue
            if not in_table:
                continue
            anchor = None  # the cell's first full name
            for token in re.findall(r"`([^`]+)`", cells[0]):
                names = _expand(token, anchor)
                found.update(names)
                if anchor is None and VARIABLE.match(names[0]):
                    anchor = names[0]
    return found


# --- the checks ------------------------------------------------------------------------

def test_the_collectors_see_what_they_should() -> None:
    """The scan is no empty net: known reads of each kind are found."""
    settings, source = settings_variables(), source_variables()
    assert {"GATEWAY_PORT", "BUS", "KAFKA_BOOTSTRAP_SERVERS", "NOTIFY_SMTP_HOST",
            "CONSOLE_TIMEZONE", "SENTIMENT_TOPIC_SPIKE_MIN_COUNT",
            "INTAKE_DATABASE_URL"} <= set(settings)
    # The launcher's and deploy/local's, settings classes too (the per-service ones made
    # in a loop among them).
    assert {"KAFKA_PORT", "SHUTDOWN_TIMEOUT_S", "BEACON_BASE_PORT", "TRIAGE_REPLICAS",
            "SENTIMENT_PORT", "INTAKE_HOST", "DEV_API_KEY"} <= set(settings)
    assert {"LOG_FORMAT", "LOG_ACCESS"} <= set(settings)
    assert not source, f"read by hand, not through a settings class: {source}"
    # Each kind of hand-made read the source scan knows, though the packages no longer
    # make most of them.
    reads = set(_reads(ast.parse(
        'os.environ.get("A_B")\nos.getenv("C_D")\nenv["E_F"]\nbase.get("G_H", "")\n'
        '_int_setting(env, "I_J", 1)\nos.environ[f"{name.upper()}_PORT"]\n'
        'other.get("NOT_ENV")\n')))
    assert reads == {"A_B", "C_D", "E_F", "G_H", "I_J", "<SERVICE>_PORT"}
    assert {"NOTIFY_SMTP_PORT", "NOTIFY_TIMEOUT_EMAIL_S", "TRIAGE_DATABASE_URL",
            "GATEWAY_HOST"} <= documented_variables()


def test_every_variable_read_is_documented() -> None:
    documented = documented_variables()
    read = {**settings_variables(), **source_variables()}
    missing = {name: where for name, where in sorted(read.items())
               if name not in documented and name not in NOT_SETTINGS}
    assert not missing, (
        "read but not in a `| variable |` table of README.md or docs/configuration.md: "
        f"{missing}")
