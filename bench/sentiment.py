"""Sentiment intake throughput and burst-to-alert latency: `python bench/sentiment.py`.

    python bench/sentiment.py                      # embedded and tansu, 20 batches each
    python bench/sentiment.py --batches 5 --modes embedded
    python bench/sentiment.py --modes embedded --database-url postgresql+asyncpg://…/db

Per mode a sentiment app of its own (SQLite file in a temporary folder, or the throughput
phase on `--database-url`) runs in this process
and is driven through its ASGI interface, so the figures are the service's, not HTTP's:
  embedded  the in-memory bus;
  tansu     KafkaBus on a Tansu broker started here (its events really cross Kafka).
1. Throughput: `--batches` POSTs of 1,000 distinct mentions (zh and en, news/weibo/forum
   mixes, some reposts), each stored, scored, risk-assessed, clustered, counted for spikes,
   with its `mention.scored` event in the outbox. accepted/s = mentions / wall time.
   "published" waits until the relay has put every event on the bus.
2. Burst latency: after six simulated hours of calm history (the intake state's clock is moved,
   not slept), a burst of negative mentions arrives in batches of 20; the time from the POST
   of the burst's first mention to the `opinion.alert` reaching a consumer on the bus.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from deploy.tansu import Tansu
from sentiment_svc.main import create_app
from sentiment_svc.settings import SentimentSettings
from sentiment_svc.state import MentionIntakeState
from shared.bus import Bus, BusMessage, MemoryBroker, MemoryBus
from shared.bus.kafka import KafkaBus
from shared.caller import Caller, signed_headers
from shared.events.schemas import OpinionAlert
from shared.runtime import ServiceRuntime
from shared.settings import BusSettings

ZH = ["{p}用了{n}天就坏了，客服一直推脱，太失望了", "{p}售后很快，师傅专业，点赞",
      "市场监管部门发布{p}抽检结果，共抽检{n}批次", "请问{p}保修多久？", "曝光！{p}漏电，{n}人受伤",
      "转发微博 //@用户{n}: {p}漏电事件持续发酵"]
EN = ["My {p} broke after {n} days and support ignores me.", "Great {p}, works perfectly, thanks!",
      "The regulator will publish {p} test results for {n} batches on Monday."]
PRODUCTS = ["热水器", "冰箱", "宽带", "手机", "洗衣机", "电动车", "净水器", "空调"]
SOURCES = ["news", "weibo", "forum", "hotline_board", "wechat"]


RUN = uuid.uuid4().hex[:8]  # URLs of this run's own: a database given again still takes them


def mentions(batch: int, rng: random.Random) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(1000):
        n = batch * 1000 + i
        template = rng.choice(EN) if rng.random() < 0.2 else rng.choice(ZH)
        out.append({"source": rng.choice(SOURCES), "url": f"https://bench.example/{RUN}/{n}",
                    "content": template.format(p=rng.choice(PRODUCTS), n=n),
                    "reach": {"followers": rng.randint(0, 100000), "reposts": rng.randint(0, 50)}})
    return out


class AsGateway(httpx.Auth):
    """Services answer only the gateway's signed calls: sign each as the gateway would."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        caller = Caller("bench", "bench", frozenset({"admin"}))
        request.headers.update(signed_headers(self.secret, caller, request.method,
                                              request.url.path, uuid.uuid4().hex))
        yield request


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@contextlib.asynccontextmanager
async def running(mode: str, folder: Path, bootstrap: str | None,
                  database_url: str | None) -> AsyncIterator[
        tuple[FastAPI, httpx.AsyncClient, Bus]]:
    bus_settings = BusSettings(kind="kafka", kafka_bootstrap_servers=bootstrap,
                               kafka_partitions=6) if bootstrap else BusSettings()
    sqlite = f"sqlite+aiosqlite:///{folder / f'{mode}.db'}"
    settings = SentimentSettings(data_dir=folder, bus=bus_settings,
                                 database_url=database_url or sqlite)
    broker = MemoryBroker()
    app = create_app(settings, broker=broker)
    watcher: Bus = (KafkaBus(bus_settings, client_id="bench-watch") if bootstrap
                    else MemoryBus(broker))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://s", timeout=120,
            auth=AsGateway(app.state.internal_secret)) as client:
        yield app, client, watcher


async def throughput(app: FastAPI, client: httpx.AsyncClient, batches: int) -> None:
    rng = random.Random(7)
    bodies = [{"mentions": mentions(b, rng)} for b in range(batches)]
    await client.post("/api/v1/mentions", json={"source": "forum", "content": "预热"})
    started, cpu_started = time.perf_counter(), time.process_time()
    for body in bodies:
        answer = await client.post("/api/v1/mentions", json=body)
        assert answer.status_code == 202 and answer.json()["accepted"] == 1000, answer.text
    accepted = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    runtime: ServiceRuntime = app.state.runtime
    while await runtime.relay.backlog():  # noqa: ASYNC110 - the relay signals nothing else
        await asyncio.sleep(0.05)
    published = time.perf_counter() - started
    n = batches * 1000
    print(f"  throughput: {n:,} mentions in batches of 1,000: {n / accepted:,.0f} accepted "
          f"and scored/s; {n / published:,.0f}/s with every mention.scored published")
    print(f"  CPU: {cpu * 1000 / n:.3f} ms per mention accepted (process CPU time, every "
          f"thread), {n / cpu:,.0f} mentions per CPU second")
    async with runtime.db.session() as session:
        clusters = await session.scalar(select(func.count(func.distinct(
            runtime.metadata.tables["sentiment_mentions"].c.cluster_id))))
    print(f"  stories (clusters) formed: {clusters:,}")


async def burst_latency(app: FastAPI, client: httpx.AsyncClient, watcher: Bus) -> None:
    intake_state: MentionIntakeState = app.state.intake_state
    clock = Clock()
    intake_state.clock = clock
    alerted = asyncio.Event()
    seen_at: list[float] = []
    burst_wall = datetime.max.replace(tzinfo=UTC)

    async def on_alert(delivery: BusMessage) -> None:
        # The broker may still hold alerts of the throughput phase: only this burst's count.
        if delivery.envelope.time >= burst_wall:
            seen_at.append(time.perf_counter())
            alerted.set()

    watcher.subscribe([OpinionAlert.topic], "bench-watch", on_alert)
    await watcher.start()
    calm = ["今天去营业厅办理了业务", "请问社保卡在哪补办", "物业通知明天停水", "客服很耐心"]
    clock.offset = -timedelta(hours=6)
    for step in range(36):  # six hours of calm history, one batch per ten minutes
        await client.post("/api/v1/mentions", json={"mentions": [
            {"source": "weibo", "content": f"{t}{step}"} for t in calm]})
        clock.offset += timedelta(minutes=10)
    clock.offset = timedelta(0)
    burst_wall = datetime.now(UTC)
    first = time.perf_counter()
    for wave in range(10):
        await client.post("/api/v1/mentions", json={"mentions": [
            {"source": "weibo",
             "content": f"用户{wave}-{i}：某品牌充电宝起火，厂家拒不赔偿，必须曝光"}
            for i in range(20)]})
        if alerted.is_set():
            break
    await asyncio.wait_for(alerted.wait(), 30)
    print(f"  burst: first mention posted -> opinion.alert consumed from the bus in "
          f"{(seen_at[0] - first) * 1000:.0f} ms")
    await watcher.stop()


async def run_mode(mode: str, batches: int, tansu: Tansu | None,
                   database_url: str | None) -> None:
    print(f"{mode}:")
    with tempfile.TemporaryDirectory() as folder:
        bootstrap = tansu.bootstrap if tansu else None
        async with running(mode, Path(folder), bootstrap,
                                 database_url) as (app, client, watcher):
            await throughput(app, client, batches)
        async with running(mode + "-burst", Path(folder), bootstrap,
                                 None) as (app, client, watcher):
            await burst_latency(app, client, watcher)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--modes", default="embedded,tansu")
    parser.add_argument("--database-url", default=None, help=(
        "throughput on this database (e.g. postgresql+asyncpg://...) instead of a SQLite file"))
    args = parser.parse_args()
    for mode in args.modes.split(","):
        if mode == "tansu":
            with Tansu() as tansu:
                asyncio.run(run_mode(mode, args.batches, tansu, args.database_url))
        else:
            asyncio.run(run_mode(mode, args.batches, None, args.database_url))


if __name__ == "__main__":
    main()
