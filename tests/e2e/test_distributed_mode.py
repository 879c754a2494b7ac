"""Distributed mode end to end, with real parts: Tansu, PostgreSQL, one OS process per
replica (two intake, two triage, two notify), the gateway in front, started by `make up`'s
own code. Complaints go in through the gateway; every one must come out triaged, with its
level's deliveries made exactly once although events cross replicas and consumer groups."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from deploy import local
from deploy.tansu import free_port
from notify_svc.roster import load_roster

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

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
# Some PII: with two intake replicas, one stores and the other may read it back, which only
# works when `up` gave both the same PII key ring.
COMPLAINANT = {"name": "张三", "phone": "13800000000"}
Settled = tuple[dict[str, object], list[dict[str, str]]]  # (complaint view, its deliveries)


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI and is not reachable")
    pytest.skip(f"{what} not reachable")


async def _maintenance(sql: str) -> None:
    url = make_url(PG_URL)
    conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                 password=url.password, database="postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh database name; `up` itself must create it, and we drop it afterwards."""
    name = f"beacon_e2e_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_maintenance("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _missing(f"PostgreSQL at {PG_URL} ({exc})")
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    # FORCE: a replica killed on a timeout may leave a connection behind for a moment.
    asyncio.run(_maintenance(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _clean_env() -> dict[str, str]:
    """The test's environment less anything that would point the deployment elsewhere."""
    prefixes = ("GATEWAY_", "INTAKE_", "TRIAGE_", "NOTIFY_", "SENTIMENT_", "KAFKA_", "BUS")
    exact = {"DATABASE_URL", "PII_KEYS", "DEV_API_KEY", "DATA_DIR"}
    return {k: v for k, v in os.environ.items()
            if k not in exact and not k.startswith(prefixes)}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory,
            database_url: str) -> Iterator[tuple[str, str, Path]]:
    data_dir = tmp_path_factory.mktemp("distributed")
    key = "e2e_" + secrets.token_urlsafe(24)
    env = _clean_env() | {
        "DATABASE_URL": database_url, "DEV_API_KEY": key,
        # Our own broker: topic and group names are fixed, so sharing one would mix runs.
        "KAFKA_PORT": str(free_port()), "GATEWAY_PORT": str(free_port()),
        "INTAKE_REPLICAS": "2", "TRIAGE_REPLICAS": "2", "NOTIFY_REPLICAS": "2",
    }
    try:
        state = local.up(env, data_dir)
        yield state.gateway_url, key, data_dir
    finally:
        local.down(data_dir)


def _submit(client: httpx.Client, text: str, i: int) -> str:
    body: dict[str, object] = {"channel": "hotline", "content": f"{text}（第{i}件）"}
    if i % 3 == 0:
        body["complainant"] = COMPLAINANT
    answer = client.post("/api/v1/complaints", json=body)
    assert answer.status_code == 202, answer.text
    complaint_id: str = answer.json()["id"]
    return complaint_id


def _expected(level: int) -> set[tuple[str, str]]:
    return {(member.id, channel)
            for member, channel, _ in load_roster().recipients_for_level(level)}


def _settled(client: httpx.Client, complaint_id: str) -> Settled | None:
    """(complaint, deliveries) once triaged and every delivery of its level is made."""
    complaint = client.get(f"/api/v1/complaints/{complaint_id}").json()
    case = complaint.get("case")
    if not case:
        return None
    found = client.get("/api/v1/notifications", params={"complaint_id": complaint_id})
    items: list[dict[str, str]] = found.json()["items"] if found.status_code == 200 else []
    if len(items) < len(_expected(int(case["response_level"]))):
        return None
    return complaint, items


def _await_all(client: httpx.Client, ids: list[str]) -> dict[str, Settled]:
    """Poll the API until every complaint settled, or fail naming the ones that did not."""
    deadline = time.monotonic() + DELIVERY_DEADLINE_S
    done: dict[str, Settled] = {}
    while len(done) < len(ids):
        for complaint_id in (i for i in ids if i not in done):
            outcome = _settled(client, complaint_id)
            if outcome is not None:
                done[complaint_id] = outcome
        if len(done) < len(ids):
            assert time.monotonic() < deadline, (
                f"not settled after {DELIVERY_DEADLINE_S}s: {sorted(set(ids) - set(done))}")
            time.sleep(0.2)
    return done


@pytest.mark.timeout(300)
def test_complaints_are_triaged_and_notified_once_across_replicas(
    gateway: tuple[str, str, Path],
) -> None:
    url, key, data_dir = gateway
    texts = [(LEVEL_1 + OTHERS)[i % len(LEVEL_1 + OTHERS)] for i in range(20)]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                      timeout=10) as client:
        sent = {_submit(client, text, i): (text, i) for i, text in enumerate(texts)}
        settled = _await_all(client, list(sent))

    for complaint_id, (complaint, deliveries) in settled.items():
        text, i = sent[complaint_id]
        case = complaint["case"]
        assert isinstance(case, dict)
        level = case["response_level"]
        assert level in (1, 2, 3, 4)
        if text in LEVEL_1:
            assert level == 1, (text, case)
        pairs = [(d["recipient"], d["channel"]) for d in deliveries]
        assert len(pairs) == len(set(pairs)), f"duplicated deliveries for {complaint_id}: {pairs}"
        assert set(pairs) == _expected(level)
        assert {d["case_id"] for d in deliveries} == {case["id"]}
        if i % 3 == 0:
            assert complaint["complainant"] == {**COMPLAINANT, "email": None, "id_number": None}

    state = local.read_state(data_dir)
    assert state is not None
    assert [len(state.urls(n)) for n in ("intake", "triage", "notify", "sentiment")] == [
        2, 2, 2, 1]
