"""The gateway follows the replicas GATEWAY_UPSTREAMS_FILE names while it runs (#16, #18):
a replica added there gets requests, one removed gets none, none at all is a refused
connection (503 at the gateway), and a file it cannot read changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.upstreams import Upstream, UpstreamsWatcher, read_upstreams_file
from shared.settings import ConfigError


def _replica(url: str) -> httpx.AsyncClient:
    """A client whose replica answers with its own URL."""
    app = FastAPI()

    @app.get("/who")
    async def who() -> dict[str, str]:
        return {"url": url}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=url)


async def _seen(upstream: Upstream, requests: int = 6) -> set[str]:
    return {(await upstream.request("GET", "/who")).json()["url"] for _ in range(requests)}


async def test_follow_adds_and_drops_replicas_and_none_refuses() -> None:
    upstream = Upstream("triage", [_replica("http://r:1")], _replica)
    try:
        assert await _seen(upstream) == {"http://r:1"}
        assert upstream.follow(["http://r:1", "http://r:2"])
        assert await _seen(upstream) == {"http://r:1", "http://r:2"}
        assert not upstream.follow(["http://r:1/", "http://r:2"])  # the same list
        assert upstream.follow(["http://r:2"])
        assert await _seen(upstream) == {"http://r:2"}
        assert upstream.follow([])
        with pytest.raises(httpx.ConnectError, match="no replica of triage"):
            await upstream.request("GET", "/who")
        assert upstream.follow(["http://r:1"])  # back: the same client again
        assert await _seen(upstream) == {"http://r:1"}
    finally:
        await upstream.aclose()


async def test_the_watcher_applies_the_file_and_ignores_a_broken_one(tmp_path: Path) -> None:
    path = tmp_path / "upstreams.json"
    upstreams = {name: Upstream(name, [_replica(f"http://{name}:1")], _replica)
                 for name in ("intake", "triage")}
    watcher = UpstreamsWatcher(path, upstreams)
    try:
        path.write_text(json.dumps({"intake": ["http://intake:1"],
                                    "triage": ["http://triage:1", "http://triage:2"]}))
        assert watcher.check() == ["triage"]
        assert await _seen(upstreams["triage"]) == {"http://triage:1", "http://triage:2"}
        assert watcher.check() == []
        path.write_text("{not json")
        assert watcher.check() == []
        assert upstreams["triage"].urls == ["http://triage:1", "http://triage:2"]
        path.write_text(json.dumps({"intake": ["http://intake:1"]}))  # triage scaled to 0
        assert watcher.check() == ["triage"]
        assert upstreams["triage"].urls == []
    finally:
        for upstream in upstreams.values():
            await upstream.aclose()


def test_a_missing_or_malformed_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_UPSTREAMS_FILE"):
        read_upstreams_file(tmp_path / "none.json", ("intake",))
    (tmp_path / "bad.json").write_text(json.dumps({"intake": "http://a:1"}))
    with pytest.raises(ConfigError, match="GATEWAY_UPSTREAMS_FILE"):
        read_upstreams_file(tmp_path / "bad.json", ("intake",))
    (tmp_path / "ok.json").write_text(json.dumps({"intake": ["http://a:1"]}))
    assert read_upstreams_file(tmp_path / "ok.json", ("intake", "triage")) == {
        "intake": ["http://a:1"], "triage": []}
