"""Two sentiment replicas on one PostgreSQL database and Tansu give the stories, topics and
alerts one replica gives for the same mentions: a calm hour posted to either replica in
turn, then bursts of reposts of two stories posted to both at once, and half an hour later
a second burst of the first story (issue #15: a new wave, alerted once more). Every story
is one story and every spike one `opinion.alert` on the log, whichever replica took its
mentions (their batches take turns on the intake revision and catch up on each other's
stories and topics; with the indexes only in each process, each replica opened stories
and topics of its own and alerted for them)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from deploy.tansu import Tansu
from sentiment_svc.main import create_app
from sentiment_svc.models import Alert, Mention
from sentiment_svc.settings import SentimentSettings
from shared.bus import MemoryBroker
from shared.events.schemas import OpinionAlert
from shared.settings import BusSettings
from tests.support import (
    PARTITIONS,
    Clock,
    as_gateway,
    events_on_the_log,
    eventually,
    own_database,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

CALM = ["请问社保卡在哪里补办", "物业通知明天停水", "今天去营业厅办理了业务",
        "客服很耐心，问题解决了"]
GAS = "燃气管道老化漏气引发爆炸，多人烧伤，燃气公司至今拒不回应，太过分了"
HEATER = "星光牌热水器洗澡时漏电，家人被电击送医，厂家推卸责任拒不赔偿"

Post = tuple[int, list[dict[str, Any]]]  # (the replica to post to, the batch)


def _calm(step: int) -> list[Post]:
    """Two batches of two calm mentions, one to each replica."""
    items = [{"source": "weibo", "url": f"https://w.example/calm/{step}/{n}",
              "content": f"{CALM[n]}（{step}）"} for n in range(len(CALM))]
    return [(0, items[:2]), (1, items[2:])]


def _burst(name: str, story: str, count: int, size: int) -> list[Post]:
    """`count` reposts of `story` in batches of `size`, to either replica in turn."""
    items = [{"source": "weibo", "url": f"https://w.example/{name}/{i}",
              "content": f"转发微博 //@网友{name}{i}: {story}"} for i in range(count)]
    return [(n % 2, items[i:i + size]) for n, i in enumerate(range(0, count, size))]


def _interleave(*runs: list[Post]) -> list[Post]:
    return [post for group in zip(*runs, strict=True) for post in group]


# (clock step in minutes before it, posts sent one after the other or all at once)
SCRIPT: list[tuple[int, list[Post], bool]] = [
    *[(10, _calm(step), False) for step in range(6)],  # the overall scope's warm-up
    (10, _interleave(_burst("gas", GAS, 16, 4), _burst("heater", HEATER, 16, 4)), True),
    # A new topic's first bucket seeds its baseline (16): the second wave is four times it.
    (30, _burst("gas2", GAS, 64, 8), True),
]


@contextlib.asynccontextmanager
async def _replicas(count: int, url: str, tmp_path: Path, bus: BusSettings | None,
                    clock: Clock) -> AsyncIterator[tuple[list[FastAPI], list[httpx.AsyncClient]]]:
    broker = MemoryBroker()
    async with contextlib.AsyncExitStack() as stack:
        apps, clients = [], []
        for n in range(count):
            settings = SentimentSettings(database_url=url, data_dir=tmp_path / f"{count}-{n}",
                                         bus=bus or BusSettings())
            app = create_app(settings, broker=broker)
            app.state.intake_state.clock = clock  # one simulated time for every replica
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps.append(app)
            clients.append(await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://sentiment-{n}",
                auth=as_gateway(app))))
        yield apps, clients


async def _play(clients: list[httpx.AsyncClient], clock: Clock) -> None:
    for minutes, posts, together in SCRIPT:
        clock.advance(minutes=minutes)

        async def post(replica: int, batch: list[dict[str, Any]]) -> None:
            answer = await clients[replica % len(clients)].post(
                "/api/v1/mentions", json={"mentions": batch})
            assert answer.status_code == 202 and answer.json()["accepted"] == len(batch)

        if together:
            await asyncio.gather(*(post(r, b) for r, b in posts))
        else:
            for replica, batch in posts:
                await post(replica, batch)


Groups = Counter[frozenset[str]]


async def _outcome(app: FastAPI) -> tuple[Groups, Groups, Counter[tuple[Any, ...]], set[str]]:
    """The mentions grouped by story and by topic (as sets of their URLs, which both runs
    share), the alerts (scope, the topic's URLs, a new wave or not) and their ids."""
    async with app.state.runtime.db.session() as session:
        mentions = (await session.execute(
            select(Mention.url, Mention.cluster_id, Mention.topic_id))).all()
        alerts = (await session.scalars(select(Alert))).all()
    stories: dict[str, set[str]] = {}
    topics: dict[str, set[str]] = {}
    for url, story, topic in mentions:
        stories.setdefault(story, set()).add(url)
        topics.setdefault(topic, set()).add(url)
    waves = Counter((a.scope.split(":")[0],
                     frozenset(topics[a.topic_id]) if a.topic_id else None,
                     "another wave" in a.evidence["summary"]) for a in alerts)
    return (Counter(frozenset(s) for s in stories.values()),
            Counter(frozenset(t) for t in topics.values()), waves, {a.id for a in alerts})


async def test_two_replicas_give_one_replicas_stories_and_one_alert_per_spike(
        own_tansu: Tansu, pg_url: str, tmp_path: Path) -> None:
    # A broker of its own: the group name is fixed, and Tansu (0.6) may leave a group that
    # members of an earlier run left mid-rebalance stuck for the next one.
    bus = BusSettings(kind="kafka", kafka_bootstrap_servers=own_tansu.bootstrap,
                      kafka_partitions=PARTITIONS, kafka_connect_timeout_s=5,
                      kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=300)
    clock = Clock()
    async with own_database(pg_url) as alone_url, _replicas(
            1, alone_url, tmp_path, None, clock) as (alone, clients):
        await _play(clients, clock)
        expected = await _outcome(alone[0])
    clock = Clock()
    async with own_database(pg_url) as shared_url, _replicas(
            2, shared_url, tmp_path, bus, clock) as (apps, clients):
        await _play(clients, clock)
        got = await _outcome(apps[0])

        async def published() -> bool:
            return all([await app.state.runtime.relay.backlog() == 0 for app in apps])

        await eventually(published, "both outboxes drained")
        logged = [e.payload() for e in await events_on_the_log(own_tansu.bootstrap,
                                                                    OpinionAlert.topic)]
    stories, topics, waves, alert_ids = got
    # The reference itself: each burst's story is one story and one topic, and the gas
    # story's topic and the overall scope alerted twice (its second burst a new wave).
    gas = [t for t in expected[1] if any("/gas/" in u for u in t)]
    assert len(gas) == 1 and sum(expected[1][t] for t in gas) == 1
    assert expected[2][("topic", gas[0], False)] == 1 and expected[2][("topic", gas[0], True)] == 1
    assert expected[2][("overall", None, False)] == 1
    assert expected[2][("overall", None, True)] == 1
    # Two replicas: the same stories, the same topics, the same alerts ...
    assert stories == expected[0]
    assert topics == expected[1]
    assert waves == expected[2]
    # ... and each alert once on the log.
    on_the_log = Counter(a.alert_id for a in logged if isinstance(a, OpinionAlert)
                         and a.alert_id in alert_ids)
    assert on_the_log == dict.fromkeys(alert_ids, 1)
    assert len(alert_ids) == sum(waves.values()) == sum(expected[2].values())
    # Both replicas took part.
    assert all(app.state.intake_state.revision > 0 for app in apps)
