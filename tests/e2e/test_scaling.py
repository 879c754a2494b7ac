"""Independent scaling, with real parts: `make up`'s own code runs Tansu, PostgreSQL and one
process per replica (two triage, two notify). While complaints flow in through the gateway
without pause, one triage and one notify replica are stopped (SIGTERM, or SIGKILL), then a
new replica of each is started and joins its consumer groups. Every complaint accepted must
come out triaged once (one case) and notified once in effect (each delivery of its level
once per recipient and channel): nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import secrets
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy import local
from deploy.support import free_port
from services.settings import SERVICES
from shared.events.schemas import ComplaintReceived, ComplaintTriaged
from tests.support import (
    TEXTS,
    clean_env,
    complaint_body,
    connect,
    eventually_blocking,
    expected_deliveries,
    settled,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SHUTDOWN_TIMEOUT_S = 10.0
SEND_INTERVAL_S = 0.15  # the sender's pace (about six complaints a second), not a wait
PHASE_DEADLINE_S = 90.0  # a SIGKILLed member is noticed after its session timeout only
SETTLE_DEADLINE_S = 120.0


@dataclass
class Deployment:
    env: dict[str, str]
    data_dir: Path
    url: str
    key: str
    database_url: str


@pytest.fixture
def deployment(tmp_path: Path, fresh_database_url: str) -> Iterator[Deployment]:
    key = "e2e_" + secrets.token_urlsafe(24)
    env = clean_env() | {
        "DATABASE_URL": fresh_database_url, "DEV_API_KEY": key,
        "KAFKA_PORT": str(free_port()), "GATEWAY_PORT": str(free_port()),
        "TRIAGE_REPLICAS": "2", "NOTIFY_REPLICAS": "2",
        "SHUTDOWN_TIMEOUT_S": str(SHUTDOWN_TIMEOUT_S),
    }
    data_dir = tmp_path / "run"
    try:
        state = local.up(env, data_dir)
        yield Deployment(env, data_dir, state.gateway_url, key, fresh_database_url)
    finally:
        local.down(data_dir)


class Sender(threading.Thread):
    """Posts complaints through the gateway without pause until stopped. A request that
    fails is sent again with the same Idempotency-Key, so each complaint is accepted once."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(name="complaint-sender", daemon=True)
        self.url, self.key = url, key
        self.accepted: list[str] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.run_id = secrets.token_hex(4)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=15,
                          headers={"Authorization": f"Bearer {self.key}"}) as client:
            i = 0
            while not self.stopping.is_set():
                self._send(client, i)
                i += 1
                self.stopping.wait(SEND_INTERVAL_S)

    def _send(self, client: httpx.Client, i: int) -> None:
        body = complaint_body(TEXTS[i % len(TEXTS)], i)
        headers = {"Idempotency-Key": f"scale-{self.run_id}-{i}"}
        problem = ""

        def accepted() -> str | None:
            nonlocal problem
            try:
                answer = client.post("/api/v1/complaints", json=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = repr(exc)
                return None
            if answer.status_code in (200, 202):
                complaint_id: str = answer.json()["id"]
                return complaint_id
            problem = f"{answer.status_code} {answer.text[:200]}"
            return None

        try:
            self.accepted.append(eventually_blocking(accepted, f"complaint {i} accepted",
                                                     within=30, every=0.2))
        except TimeoutError:
            self.failures.append(f"complaint {i}: {problem}")

    def count(self) -> int:
        return len(self.accepted)

    def stop(self) -> list[str]:
        self.stopping.set()
        self.join(timeout=60)
        assert not self.is_alive(), "the sender did not stop"
        return list(self.accepted)


@dataclass
class Snapshot:
    """What the databases hold for the complaints, read straight from PostgreSQL: the API
    shows one case per complaint and would hide a second."""

    complaints: set[str]
    cases: Counter[str]  # complaint id -> cases
    levels: dict[str, int]
    categories: dict[str, str]
    triaged_events: Counter[str]  # complaint id -> complaint.triaged events in triage's outbox
    deliveries: dict[str, Counter[tuple[str, str]]]  # complaint id -> (recipient, channel)

    def settled(self, complaint_id: str) -> bool:
        level = self.levels.get(complaint_id)
        return level is not None and set(self.deliveries.get(complaint_id, ())) >= (
            expected_deliveries(level, self.categories.get(complaint_id)))


async def _snapshot(database_url: str) -> Snapshot:
    conn = await connect(database_url)
    try:
        complaints = {r["id"] for r in await conn.fetch("SELECT id FROM intake_complaints")}
        cases: Counter[str] = Counter()
        levels, categories = {}, {}
        for row in await conn.fetch(
                "SELECT complaint_id, response_level, category FROM triage_cases"):
            cases[row["complaint_id"]] += 1
            levels[row["complaint_id"]] = row["response_level"]
            categories[row["complaint_id"]] = row["category"]
        triaged = Counter(r["event_key"] for r in await conn.fetch(
            "SELECT event_key FROM triage_outbox WHERE topic = 'complaint.triaged'"))
        deliveries: dict[str, Counter[tuple[str, str]]] = {}
        for row in await conn.fetch(
                "SELECT complaint_id, recipient, channel FROM notify_deliveries "
                "WHERE event_type = 'complaint.triaged'"):
            deliveries.setdefault(row["complaint_id"], Counter())[
                (row["recipient"], row["channel"])] += 1
    finally:
        await conn.close()
    return Snapshot(complaints, cases, levels, categories, triaged, deliveries)


def snapshot(database_url: str) -> Snapshot:
    return asyncio.run(_snapshot(database_url))


def applied(url: str, service: str, topic: str) -> float:
    """Events this very replica applied, from its /metrics (0 while it answers nothing)."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "beacon_events_handled":
            for sample in family.samples:
                if (sample.name == "beacon_events_handled_total"
                        and sample.labels == {"service": service, "topic": topic,
                                              "outcome": "applied"}):
                    return sample.value
    return 0.0


def all_settled(database_url: str, ids: list[str]) -> bool:
    now = snapshot(database_url)
    return all(now.settled(i) for i in ids)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_replicas_leave_and_join_while_complaints_flow(
    deployment: Deployment, sig: signal.Signals
) -> None:
    d = deployment
    sender = Sender(d.url, d.key)
    sender.start()
    try:
        eventually_blocking(lambda: sender.count() >= 10
                            and all_settled(d.database_url, sender.accepted[:10]),
                            "the first complaints settled on 2 triage + 2 notify",
                            within=PHASE_DEADLINE_S, every=0.3)

        # (a) One replica of each leaves while complaints keep coming.
        stopped = [local.stop_replica(d.data_dir, name, sig) for name in ("triage-1", "notify-1")]
        for gone in stopped:
            if sig == signal.SIGTERM:
                assert gone.exit_code == 0 and not gone.killed, gone
                assert gone.seconds < SHUTDOWN_TIMEOUT_S + 1, gone
            else:
                assert gone.exit_code == -signal.SIGKILL, gone
        print(f"stopped with {sig.name}: {stopped}")
        after_stop = sender.count()
        eventually_blocking(lambda: sender.count() >= after_stop + 10
                            and all_settled(d.database_url, sender.accepted[:after_stop + 10]),
                            "complaints sent after the stop settled on the survivors",
                            within=PHASE_DEADLINE_S, every=0.3)

        # (b) A new replica of each joins its groups and takes a share of the work.
        triage = local.start_replica(d.data_dir, "triage", d.env)
        notify = local.start_replica(d.data_dir, "notify", d.env)
        eventually_blocking(lambda: applied(triage.url, "triage", ComplaintReceived.topic) > 0
                            and applied(notify.url, "notify", ComplaintTriaged.topic) > 0,
                            "the new replicas applied events of their own",
                            within=PHASE_DEADLINE_S, every=0.3)
        after_join = sender.count()
        eventually_blocking(lambda: sender.count() >= after_join + 10,
                            "complaints accepted after the join",
                            within=PHASE_DEADLINE_S, every=0.3)
    finally:
        ids = sender.stop()

    print(f"{len(ids)} complaints accepted")
    assert not sender.failures, sender.failures
    assert len(ids) == len(set(ids))
    eventually_blocking(lambda: all_settled(d.database_url, ids),
                        f"all {len(ids)} complaints triaged and notified",
                        within=SETTLE_DEADLINE_S, every=1.0)

    now = snapshot(d.database_url)
    assert now.complaints == set(ids), "stored complaints differ from the accepted ones"
    assert set(now.cases) == set(ids) and set(now.cases.values()) == {1}, (
        "not exactly one case per complaint", [c for c, n in now.cases.items() if n != 1])
    assert set(now.triaged_events) == set(ids) and set(now.triaged_events.values()) == {1}, (
        [c for c, n in now.triaged_events.items() if n != 1])
    for complaint_id in ids:
        made = now.deliveries[complaint_id]
        assert set(made) == expected_deliveries(
            now.levels[complaint_id], now.categories[complaint_id]), complaint_id
        assert set(made.values()) == {1}, (complaint_id, made)

    # The gateway's view agrees, now that every replica it routes to is back.
    state = local.read_state(d.data_dir)
    assert state is not None
    assert triage.url in state.routes["triage"] and notify.url in state.routes["notify"]
    assert sorted(p.name for p in state.processes if p.role in ("triage", "notify")) == [
        "notify-0", "notify-2", "triage-0", "triage-2"]
    sample = ids[:: max(len(ids) // 20, 1)]
    with httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {d.key}"},
                      timeout=10) as client:
        for complaint_id in sample:
            seen = settled(client, complaint_id)
            assert seen is not None, complaint_id
            complaint, items = seen
            case = complaint["case"]
            assert isinstance(case, dict) and case["response_level"] == now.levels[complaint_id]
            pairs = [(i["recipient"], i["channel"]) for i in items
                     if i.get("event_type", ComplaintTriaged.topic) == ComplaintTriaged.topic]
            assert sorted(pairs) == sorted(now.deliveries[complaint_id]), complaint_id


def _free_run(width: int) -> int:
    """A base port with `width` free ports from it."""
    for _ in range(50):
        base = free_port()
        if base + width < 65535 and all(local.bindable(p) for p in range(base, base + width)):
            return base
    raise AssertionError("no run of free ports")


def api_requests(url: str, route: str) -> float:
    """Requests for `route` this very replica answered (probes and scrapes not counted)."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "beacon_http_requests_total"
               and sample.labels.get("route") == route)


@pytest.mark.timeout(300)
def test_base_port_scale_to_zero_and_back_and_a_new_replica_gets_http(
    tmp_path: Path, fresh_database_url: str
) -> None:
    """`make up` with BEACON_BASE_PORT puts the replicas at base+0…; `scale triage 2` adds
    a replica the gateway sends requests to without a restart; `scale triage 0` stops
    triage (503 at the gateway, complaints still accepted); `scale triage 1` brings it
    back and the complaint filed meanwhile is triaged."""
    key = "e2e_" + secrets.token_urlsafe(24)
    base = _free_run(12)
    env = clean_env() | {
        "DATABASE_URL": fresh_database_url, "DEV_API_KEY": key, "BEACON_BASE_PORT": str(base),
        "KAFKA_PORT": str(free_port()), "GATEWAY_PORT": str(free_port()),
        "SHUTDOWN_TIMEOUT_S": "5",
    }
    data_dir = tmp_path / "run"
    try:
        state = local.up(env, data_dir)
        ports = {p.name: p.port for p in state.processes if p.role in SERVICES}
        assert ports == {"intake-0": base, "triage-0": base + 1, "notify-0": base + 2,
                         "sentiment-0": base + 3, "drill-0": base + 4}
        with httpx.Client(base_url=state.gateway_url, timeout=15,
                          headers={"Authorization": f"Bearer {key}"}) as client:
            _scale_and_route(client, data_dir, env, base)
    finally:
        local.down(data_dir)


def _scale_and_route(client: httpx.Client, data_dir: Path, env: dict[str, str],
                     base: int) -> None:
    done = local.scale(data_dir, "triage", 2, env)
    state = local.read_state(data_dir)
    assert state is not None
    new = next(p for p in state.processes if p.name == "triage-1")
    assert new.port == base + 5 and done == [
        f"started triage-1 on {new.url} (the gateway routes to it within a second)"]
    assert state.routes["triage"] == [f"http://127.0.0.1:{base + 1}", new.url]

    def new_replica_answered() -> bool:
        assert client.get("/api/v1/cases").status_code == 200
        return api_requests(new.url, "/api/v1/cases") > 0

    eventually_blocking(new_replica_answered, "the new replica answered the gateway's requests",
                        within=30, every=0.3)

    local.scale(data_dir, "triage", 0, env)
    state = local.read_state(data_dir)
    assert state is not None and state.urls("triage") == [] and state.routes["triage"] == []
    eventually_blocking(lambda: client.get("/api/v1/cases").status_code == 503,
                        "the gateway answers 503 for a service scaled to 0",
                        within=30, every=0.3)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "triage" in ready.json()["detail"]
    filed = client.post("/api/v1/complaints", json=complaint_body(TEXTS[0], 0))
    assert filed.status_code == 202, filed.text  # intake still takes complaints

    local.scale(data_dir, "triage", 1, env)
    state = local.read_state(data_dir)
    assert state is not None and [p.port for p in state.processes if p.role == "triage"] == [
        base + 1]  # the lowest free port again
    eventually_blocking(lambda: settled(client, filed.json()["id"]) is not None,
                        "the complaint filed while triage was stopped is triaged once it is back",
                        within=90, every=0.3)
    assert client.get("/readyz").status_code == 200
