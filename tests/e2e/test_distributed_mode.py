"""Distributed mode end to end, with real parts: Tansu, PostgreSQL, one OS process per
replica (two intake, two triage, two notify), the gateway in front, started by `make up`'s
own code. Complaints go in through the gateway; every one must come out triaged, with its
level's deliveries made exactly once although events cross replicas and consumer groups."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy import local
from deploy.support import free_port
from tests.support import (
    COMPLAINANT,
    LEVEL_1,
    OTHERS,
    await_all,
    clean_env,
    csrf_token_in,
    eventually_blocking,
    expected_deliveries,
    sse_events_sync,
    submit,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory,
            database_url: str) -> Iterator[tuple[str, str, Path]]:
    data_dir = tmp_path_factory.mktemp("distributed")
    key = "e2e_" + secrets.token_urlsafe(24)
    env = clean_env() | {
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


@pytest.mark.timeout(300)
def test_complaints_are_triaged_and_notified_once_across_replicas(
    gateway: tuple[str, str, Path],
) -> None:
    url, key, data_dir = gateway
    texts = [(LEVEL_1 + OTHERS)[i % len(LEVEL_1 + OTHERS)] for i in range(20)]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                      timeout=10) as client:
        sent = {submit(client, text, i): (text, i) for i, text in enumerate(texts)}
        settled = await_all(client, list(sent))

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
        assert set(pairs) == expected_deliveries(level, case["category"])
        assert {d["case_id"] for d in deliveries} == {case["id"]}
        if i % 3 == 0:
            assert complaint["complainant"] == {**COMPLAINANT, "email": None, "id_number": None}

    state = local.read_state(data_dir)
    assert state is not None
    assert [len(state.urls(n)) for n in ("intake", "triage", "notify", "sentiment")] == [
        2, 2, 2, 1]


@pytest.mark.timeout(120)
def test_the_console_signs_in_and_hears_events_over_kafka(
    gateway: tuple[str, str, Path],
) -> None:
    """The console in distributed mode: its own consumer group on the broker feeds /events."""
    url, key, _ = gateway
    with httpx.Client(base_url=url, timeout=60) as browser, httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
        form = browser.get("/login")
        signed = browser.post("/login", data={"username": "admin", "password": key,
                                              "csrf_token": csrf_token_in(form.text)})
        assert signed.status_code == 303
        assert browser.get("/board").status_code == 200
        with browser.stream("GET", "/events") as answer:
            events = sse_events_sync(answer)
            assert next(events)["event"] in ("hello", "refresh")
            complaint_id = submit(api, LEVEL_1[0], 999)
            for event in events:
                if event.get("event") == "case" and json.loads(event["data"]).get(
                        "complaint_id") == complaint_id:
                    break
            assert json.loads(event["data"])["response_level"] == 1


@pytest.mark.timeout(120)
def test_a_drill_posts_through_the_gateway_and_reads_its_events_from_kafka(
    gateway: tuple[str, str, Path],
) -> None:
    """The drill process posts with its own key (DRILL_API_KEY, made by `up`) to the gateway
    (DRILL_GATEWAY_URL), and builds its report from the broker's events."""
    url, key, _ = gateway
    scenario = {"name": "e2e-drill", "title": "分布式演练", "length": "1m", "complaints": [
        {"ref": "blast", "at": "0m", "content": LEVEL_1[0]}],
        "expect": [{"role": "duty_officer", "do": "level", "complaint": "blast", "level": 1}]}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                      timeout=10) as api:
        started = api.post("/api/v1/drills", json={"scenario": scenario, "speed": 60})
        assert started.status_code == 201, started.text
        report_path = f"/api/v1/drills/{started.json()['id']}/report"

        def scored() -> dict[str, object] | None:
            report: dict[str, object] = api.get(report_path).json()
            run = report["run"]
            assert isinstance(run, dict)
            return report if run["state"] == "finished" and report["overall"] == 100.0 \
                else None

        report = eventually_blocking(scored, "the drill finished and its level seen",
                                     within=60)
        run = report["run"]
        assert isinstance(run, dict) and len(run["complaint_ids"]) == 1
        complaint = api.get(f"/api/v1/complaints/{run['complaint_ids'][0]}").json()
        assert complaint["drill"] is True
