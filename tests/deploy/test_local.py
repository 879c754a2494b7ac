"""`python -m deploy.local`'s settings and choices that need no running process: the base
port, where replicas land, what `scale` accepts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from deploy import local
from deploy.support import free_port
from shared.settings import ConfigError, settings_from_env


def base_port(env: dict[str, str]) -> int | None:
    return settings_from_env(local.LocalSettings, env).base_port


def _free_run(width: int = 8) -> int:
    """A base port with `width` free ports from it (probed, as `up` probes them)."""
    for _ in range(50):
        base = free_port()
        if base + width < 65535 and all(local.bindable(p) for p in range(base, base + width)):
            return base
    raise AssertionError("no run of free ports")


def _state(tmp_path: Path, base: int | None, gateway: int) -> local.State:
    return local.State(str(tmp_path), f"http://127.0.0.1:{gateway}", "127.0.0.1:9092", "k",
                       base_port=base)


def test_base_port_is_optional_and_checked() -> None:
    assert base_port({}) is None
    assert base_port({"BEACON_BASE_PORT": "9100"}) == 9100
    for bad in ("80", "65500", "nine", "-1"):
        with pytest.raises(ConfigError, match="BEACON_BASE_PORT"):
            base_port({"BEACON_BASE_PORT": bad})


def test_replicas_take_the_lowest_free_port_from_the_base(tmp_path: Path) -> None:
    base = _free_run()
    state = _state(tmp_path, base, gateway=base + 1)  # the gateway's port is never handed out
    assert local.port_for(state, base + 1) == base
    # A port someone else holds is skipped too.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base))
        squatter.listen()
        assert local.port_for(state, base + 1) == base + 2


def test_without_a_base_any_free_port(tmp_path: Path) -> None:
    state = _state(tmp_path, None, gateway=8000)
    port = local.port_for(state, 8000)
    assert local.bindable(port)


def test_scale_accepts_zero_and_refuses_beyond_the_bounds(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="from 0 to 32"):
        local.scale(tmp_path, "triage", local.MAX_REPLICAS + 1, {})
    with pytest.raises(ConfigError, match="unknown service"):
        local.scale(tmp_path, "gateway", 1, {})
    with pytest.raises(local.LocalError, match="not running"):
        local.scale(tmp_path, "triage", 0, {})  # 0 is a count like any other


def test_the_command_line_explains_its_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert local.main(["scale", "triage"]) == 2
    assert local.main(["scale", "triage", "-1"]) == 2
    assert "usage: python -m deploy.local scale <service> <replicas>" in capsys.readouterr().err
    assert local.main(["nothing"]) == 2
    assert "up|down|status|scale" in capsys.readouterr().err
