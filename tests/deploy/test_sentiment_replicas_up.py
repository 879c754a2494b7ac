"""`SENTIMENT_REPLICAS=2 python -m deploy.local up`: two sentiment processes behind the
gateway, on their SQLite file (no DATABASE_URL) and Tansu, and reposts of one story posted
through the gateway (which spreads them over both) are one story and one topic."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy import local
from deploy.support import free_port
from tests.support import clean_env

pytestmark = pytest.mark.kafka
STORY = "燃气管道老化漏气引发爆炸，多人烧伤，燃气公司至今拒不回应，太过分了"


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[str, str, local.State]]:
    key = "dep_" + secrets.token_urlsafe(24)
    env = clean_env() | {
        "DEV_API_KEY": key, "SENTIMENT_REPLICAS": "2",
        # Our own broker: topic and group names are fixed, so sharing one would mix runs.
        "KAFKA_PORT": str(free_port()), "GATEWAY_PORT": str(free_port()),
    }
    try:
        state = local.up(env, tmp_path)
        yield state.gateway_url, key, state
    finally:
        local.down(tmp_path)


@pytest.mark.timeout(300)
def test_two_sentiment_replicas_give_one_story(
        deployment: tuple[str, str, local.State]) -> None:
    url, key, state = deployment
    replicas = [p for p in state.processes if p.role == "sentiment"]
    assert len(replicas) == 2 and all(local.alive(p) for p in replicas)
    ids: list[str] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as client:
        for batch in range(6):  # round-robin: each replica takes three batches
            answer = client.post("/api/v1/mentions", json={"mentions": [
                {"source": "weibo", "url": f"https://w.example/up/{batch}/{i}",
                 "content": f"转发微博 //@网友{batch}{i}: {STORY}"} for i in range(3)]})
            assert answer.status_code == 202, answer.text
            ids += answer.json()["ids"]
        got = [client.get(f"/api/v1/mentions/{i}").json() for i in ids]
    assert len(ids) == 18
    assert len({m["cluster_id"] for m in got}) == 1
    assert len({m["topic_id"] for m in got}) == 1
