"""What the distributed-mode tests share: a fresh PostgreSQL database that `up` itself must
create, a clean environment for `up`, and complaints sent and checked through the gateway.
With CI set, a missing PostgreSQL fails the run; locally it skips."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from notify_svc.roster import load_roster

PG_URL = os.environ.get(
    "BEACON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/beacon_test"
)
DELIVERY_DEADLINE_S = 60.0
LEVEL_1 = ["产品爆炸，有人受伤住院", "门店起火，顾客受伤住院", "热水器爆炸，邻居重伤"]
OTHERS = [
    "记者打电话说要采访我们门店的服务问题",
    "我已经找了律师，准备起诉贵公司",
    "插座漏电，存在安全隐患",
    "快递送晚了两天，包装也破了",
    "客服态度不好，电话一直没人接",
    "发票开错了，需要重新开具",
]
TEXTS = LEVEL_1 + OTHERS
# Some PII: with two intake replicas, one stores and the other may read it back, which only
# works when `up` gave both the same PII key ring.
COMPLAINANT = {"name": "张三", "phone": "13800000000"}
Settled = tuple[dict[str, object], list[dict[str, str]]]  # (complaint view, its deliveries)


def missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI and is not reachable")
    pytest.skip(f"{what} not reachable")


async def connect(url: str, database: str | None = None) -> asyncpg.Connection:
    """asyncpg to the database of a SQLAlchemy URL (or to another one on its server)."""
    parsed = make_url(url)
    return await asyncpg.connect(host=parsed.host, port=parsed.port or 5432,
                                 user=parsed.username, password=parsed.password,
                                 database=database or parsed.database, timeout=5)


async def maintenance(sql: str) -> None:
    conn = await connect(PG_URL, "postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new database name; `up` itself must create it, and we drop it afterwards."""
    name = f"beacon_e2e_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(maintenance("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        missing(f"PostgreSQL at {PG_URL} ({exc})")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE: a replica killed on a timeout may leave a connection behind for a moment.
        asyncio.run(maintenance(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """One fresh database for the module."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """One fresh database for the test."""
    with fresh_database() as url:
        yield url


def clean_env() -> dict[str, str]:
    """The test's environment less anything that would point the deployment elsewhere."""
    prefixes = ("GATEWAY_", "INTAKE_", "TRIAGE_", "NOTIFY_", "SENTIMENT_", "KAFKA_", "BUS")
    exact = {"DATABASE_URL", "PII_KEYS", "DEV_API_KEY", "DATA_DIR", "SHUTDOWN_TIMEOUT_S"}
    return {k: v for k, v in os.environ.items()
            if k not in exact and not k.startswith(prefixes)}


def complaint_body(text: str, i: int) -> dict[str, object]:
    body: dict[str, object] = {"channel": "hotline", "content": f"{text}（第{i}件）"}
    if i % 3 == 0:
        body["complainant"] = COMPLAINANT
    return body


def submit(client: httpx.Client, text: str, i: int) -> str:
    answer = client.post("/api/v1/complaints", json=complaint_body(text, i))
    assert answer.status_code == 202, answer.text
    complaint_id: str = answer.json()["id"]
    return complaint_id


def expected_deliveries(level: int) -> set[tuple[str, str]]:
    """(recipient, channel) of every delivery a complaint of this level must cause."""
    return {(member.id, channel)
            for member, channel, _ in load_roster().recipients_for_level(level)}


def settled(client: httpx.Client, complaint_id: str) -> Settled | None:
    """(complaint, deliveries) once triaged and every delivery of its level is made; None
    until then (or while the gateway answers with an error)."""
    answer = client.get(f"/api/v1/complaints/{complaint_id}")
    if answer.status_code != 200:
        return None
    complaint = answer.json()
    case = complaint.get("case")
    if not case:
        return None
    found = client.get("/api/v1/notifications", params={"complaint_id": complaint_id})
    items: list[dict[str, str]] = found.json()["items"] if found.status_code == 200 else []
    if len(items) < len(expected_deliveries(int(case["response_level"]))):
        return None
    return complaint, items


def await_all(client: httpx.Client, ids: list[str],
              within: float = DELIVERY_DEADLINE_S) -> dict[str, Settled]:
    """Poll the API until every complaint settled, or fail naming the ones that did not."""
    deadline = time.monotonic() + within
    done: dict[str, Settled] = {}
    while len(done) < len(ids):
        for complaint_id in (i for i in ids if i not in done):
            outcome = settled(client, complaint_id)
            if outcome is not None:
                done[complaint_id] = outcome
        if len(done) < len(ids):
            assert time.monotonic() < deadline, (
                f"not settled after {within}s: {sorted(set(ids) - set(done))}")
            time.sleep(0.2)
    return done


def wait_until(condition: Callable[[], bool], within: float, what: str,
               every: float = 0.3) -> None:
    """Poll `condition` until it holds; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not after {within:.0f}s"
        time.sleep(every)
