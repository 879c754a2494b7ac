"""A bad setting ends `python -m services …` with exit code 2 and one line naming the
setting, never a traceback: that line is what an operator reads first."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.support import free_port
from triage_svc.rules import DEFAULT_RULES

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "beacon: configuration error:"
SECRET = "config-test-internal-secret"


def run_services(
    args: list[str], env: dict[str, str], data_dir: Path
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in {"PII_KEYS", "DATABASE_URL", "BUS", "KAFKA_BOOTSTRAP_SERVERS",
                         "DEV_API_KEY", "GATEWAY_PORT", "KAFKA_PARTITIONS"}
            and not k.endswith("_DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "services", *args], cwd=ROOT, capture_output=True, text=True,
        env=base | {"DATA_DIR": str(data_dir), "BEACON_INTERNAL_SECRET": SECRET} | env,
        timeout=40, check=False,
    )


def unused_port() -> int:
    """A port nothing listens on (it was free a moment ago; nobody here takes it)."""
    return free_port()


# (arguments, environment, the setting the one line must name)
Case = tuple[list[str], Callable[[], dict[str, str]], str]
def _bad_rules() -> Path:
    """The shipped rules with an escalation step naming a role outside the chain."""
    path = Path(tempfile.mkdtemp()) / "rules.toml"
    path.write_text(DEFAULT_RULES.read_text(encoding="utf-8").replace(
        '4 = [{role = "general_affairs", clock = "resolve"}]',
        '4 = [{role = "mayor", clock = "resolve"}]'), encoding="utf-8")
    return path


CASES: dict[str, Case] = {
    "unreachable broker": (
        ["triage"], lambda: {"BUS": "kafka", "KAFKA_CONNECT_TIMEOUT_S": "3",
                             "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}"},
        "KAFKA_BOOTSTRAP_SERVERS"),
    "malformed database URL": (
        ["triage"], lambda: {"BUS": "kafka", "DATABASE_URL": "not a url",
                             "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}"},
        "DATABASE_URL"),
    "unreachable PostgreSQL": (
        ["triage"], lambda: {
            "BUS": "kafka", "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}",
            "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{unused_port()}/x"},
        "DATABASE_URL"),
    "partitions not a number": (
        [], lambda: {"KAFKA_PARTITIONS": "abc"}, "KAFKA_PARTITIONS"),
    "intake without PII keys": (
        ["intake"], lambda: {"BUS": "kafka",
                             "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}"},
        "PII_KEYS"),
    "intake with empty PII keys": (
        ["intake"], lambda: {"BUS": "kafka", "PII_KEYS": " ",
                             "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}"},
        "PII_KEYS"),
    "bad escalation step": (
        ["triage"], lambda: {"BUS": "kafka", "TRIAGE_RULES_FILE": str(_bad_rules()),
                             "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}"},
        "TRIAGE_RULES_FILE"),
    "service alone on the memory bus": (["triage"], lambda: {"BUS": "memory"}, "BUS"),
    "gateway port out of range": ([], lambda: {"GATEWAY_PORT": "99999"}, "GATEWAY_PORT"),
    "service without the internal secret": (
        ["triage"], lambda: {"BUS": "kafka", "BEACON_INTERNAL_SECRET": "",
                             "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}"},
        "BEACON_INTERNAL_SECRET"),
    "gateway without the internal secret": (
        ["gateway"], lambda: {"BEACON_INTERNAL_SECRET": ""}, "BEACON_INTERNAL_SECRET"),
    "missing rules file": (
        ["triage"], lambda: {"BUS": "kafka", "TRIAGE_RULES_FILE": "/nonexistent/rules.toml",
                             "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}"},
        "TRIAGE_RULES_FILE"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_setting_ends_in_one_line_naming_it(case: str, tmp_path: Path) -> None:
    args, make_env, setting = CASES[case]
    done = run_services(args, make_env(), tmp_path)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith(PREFIX)]
    assert len(lines) == 1, done.stderr
    named = lines[0].removeprefix(PREFIX).strip().split(":", 1)[0]
    assert setting in named.split("/"), lines[0]
