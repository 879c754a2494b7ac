"""Drill runs in embedded mode, through the gateway: a compressed run that finishes and is
scored, stop, clean-up, scopes, the PDF, and drill traffic kept out of real figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support import System, eventually, pdf_text

# Five minutes of drill time at speed 100: three seconds. A level-1 complaint, a second
# one nobody acknowledges, and ten angry posts (a drill opinion alert, so a drill incident
# for the statement to name).
SCENARIO: dict[str, Any] = {
    "name": "compressed-test",
    "title": "压缩演练",
    "length": "5m",
    "complaints": [
        {"ref": "blast", "at": "0m", "content": "热水器爆炸，我父亲被烫伤送医院住院了",
         "target": {"department": "售后服务部"},
         "complainant": {"name": "演练甲", "phone": "13800000001"}},
        {"ref": "ignored", "at": "1m", "content": "营业厅排队时间太长，服务态度也差",
         "complainant": {"name": "演练乙", "phone": "13800000002"}},
    ],
    "mentions": [
        {"ref": "posts", "at": "30s", "source": "weibo", "repeat": 10, "every": "5s",
         "content": "气死了！这家公司的热水器爆炸把人烫伤住院，投诉没人管，大家千万别买！"},
    ],
    "expect": [
        {"role": "duty_officer", "do": "level", "complaint": "blast", "level": 1},
        {"role": "duty_officer", "do": "acknowledge", "complaint": "blast"},
        {"role": "department_head", "do": "first_contact", "complaint": "blast"},
        {"role": "duty_officer", "do": "acknowledge", "complaint": "ignored"},
        {"role": "opinion_officer", "do": "incident", "incident_kind": "public_opinion"},
        {"role": "opinion_officer", "do": "statement_drafted", "within": "1h"},
        {"role": "leader", "do": "statement_approved", "within": "30m"},
        {"role": "general_affairs", "do": "statement_distributed"},
        {"role": "leader", "do": "escalation", "complaint": "blast", "step": 3},
    ],
}
OPERATOR = {"Authorization": "Bearer key-operator"}


async def _run(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/drills/{run_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _case_of(client: httpx.AsyncClient, complaint_id: str) -> dict[str, Any] | None:
    answer = await client.get(f"/api/v1/cases/of-complaint/{complaint_id}")
    found: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
    return found


async def test_a_compressed_run_finishes_and_is_scored(system: System, tmp_path: Path) -> None:
    client = system.client
    started = await client.post("/api/v1/drills", json={"scenario": SCENARIO, "speed": 100})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    assert started.json()["state"] == "running"

    async def both_filed() -> list[str] | None:
        ids: list[str] = (await _run(client, run_id))["complaint_ids"]
        return ids if len(ids) == 2 else None

    blast_id, _ = await eventually(both_filed, "both drill complaints filed")
    blast = await eventually(lambda: _case_of(client, blast_id), "the blast's case")
    assert blast["response_level"] == 1
    # The duty officer acknowledges at once and starts investigating (first contact).
    case_path = f"/api/v1/cases/{blast['id']}"
    assert (await client.post(f"{case_path}/acknowledge", json={}, headers=OPERATOR)
            ).status_code == 200
    assert (await client.post(f"{case_path}/state", json={"state": "investigating"},
                              headers=OPERATOR)).status_code == 200

    async def drill_incident() -> str | None:
        found = (await client.get("/api/v1/incidents", params={
            "kind": "public_opinion", "drill": "true"})).json()["items"]
        return found[0]["id"] if found else None

    incident_id = await eventually(drill_incident, "the drill's public-opinion incident")
    drafted = await client.post("/api/v1/statements", headers=OPERATOR, json={
        "title": "关于热水器事件的说明", "text": "我们已派专人赶赴现场。",
        "incident_id": incident_id})
    assert drafted.status_code == 201, drafted.text
    approved = await client.post(f"/api/v1/statements/{drafted.json()['id']}/approve")
    assert approved.status_code == 200, approved.text

    async def finished() -> dict[str, Any] | None:
        run = await _run(client, run_id)
        return run if run["state"] == "finished" else None

    run = await eventually(finished, "the run finished")
    assert run["injections"] == {"pending": 0, "posted": 12, "failed": 0, "cancelled": 0}
    assert len(run["mention_ids"]) == 10

    async def scored() -> dict[str, Any] | None:
        report: dict[str, Any] = (await client.get(f"/api/v1/drills/{run_id}/report")).json()
        return report if report["statement"]["distributed_at"] else None

    report = await eventually(scored, "the statement's distribution in the report")
    verdicts = {(e["do"], e["complaint"]): e["verdict"] for e in report["expectations"]}
    assert verdicts == {
        ("level", "blast"): "met", ("acknowledge", "blast"): "met",
        ("first_contact", "blast"): "met", ("acknowledge", "ignored"): "missed",
        ("incident", None): "met", ("statement_drafted", None): "met",
        ("statement_approved", None): "met", ("statement_distributed", None): "met",
        ("escalation", "blast"): "missed"}
    speed = report["response_speed"]
    assert speed["by_role"]["duty_officer"] == {"met": 1, "missed": 1, "pending": 0,
                                                "score": 50.0}
    assert speed["by_role"]["department_head"]["met"] == 1
    cases = {c["ref"]: c for c in speed["cases"]}
    acknowledge = cases["blast"]["measures"][0]
    assert acknowledge["clock"] == "acknowledge" and acknowledge["allowed_min"] == 15
    assert acknowledge["verdict"] == "met" and acknowledge["took_min"] < 15
    assert cases["blast"]["acknowledged_by"] == "ops"
    assert report["handling_efficiency"]["missed"] == 2  # the drill ended with neither answered
    assert report["coordination"]["incidents"] == ["public_opinion level 3"] or \
        report["coordination"]["incidents"][0].startswith("public_opinion")
    assert report["statement"]["distributed_within_half_hour"] is True
    assert report["statement"]["score"] == 100.0
    findings = {f["expectation"]: f for f in report["findings"]}
    assert set(findings) == {"acknowledge ignored", "escalation blast step 3"}
    assert findings["acknowledge ignored"]["evidence"] == \
        "ignored: not acknowledged (allowed 240 min)"  # level 4: four hours
    assert findings["acknowledge ignored"]["role"] == "duty_officer"
    assert report["overall"] == round(100 * 7 / 9, 1)
    assert any("statement distributed" in line for line in report["timeline"])

    printed = await client.get(f"/api/v1/drills/{run_id}/report", params={"format": "pdf"})
    assert printed.status_code == 200
    assert printed.headers["content-type"] == "application/pdf"
    text = pdf_text(printed.content, tmp_path)
    for words in ("应急演练评估报告", "响应速度", "统一口径", "问题清单",
                  "ignored: not acknowledged"):
        assert words in text, words

    # Real figures never see the drill.
    stats = (await client.get("/api/v1/cases/stats")).json()
    assert stats["by_state"] == {} and stats["open_incidents"] == {}, stats
    drill_stats = (await client.get("/api/v1/cases/stats", params={"drill": "true"})).json()
    assert sum(drill_stats["by_state"].values()) == 2, drill_stats
    opinion = (await client.get("/api/v1/reports/public-opinion")).json()
    assert opinion["volume"]["mentions"] == 0 and opinion["alerts"] == []
    trends = (await client.get("/api/v1/mentions/trends")).json()
    assert trends["top_topics"] == [] and trends["alerts"] == []
    assert (await client.get("/api/v1/incidents", params={"drill": "false"})).json()[
        "items"] == []
    real_mentions = (await client.get("/api/v1/mentions", params={"drill": "false"})).json()
    assert real_mentions["items"] == []
    drill_mentions = (await client.get("/api/v1/mentions", params={"drill": "true"})).json()
    assert len(drill_mentions["items"]) == 10
    mention = (await client.get(f"/api/v1/mentions/{run['mention_ids'][0]}")).json()
    assert mention["drill"] is True and mention["linked_complaint_ids"] == []


async def test_a_run_is_stopped_and_cleaned_up(system: System) -> None:
    client = system.client
    listed = (await client.get("/api/v1/drills/scenarios")).json()["items"]
    assert {s["name"] for s in listed} >= {"product-safety-casualties",
                                           "branch-group-complaint", "media-exposure-viral"}
    safety = next(s for s in listed if s["name"] == "product-safety-casualties")
    assert safety["length"] == "2h" and safety["length_s"] == 7200 and safety["title"]

    started = await client.post("/api/v1/drills", json={"scenario": "product-safety-casualties"})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]

    async def first_filed() -> list[str]:
        ids: list[str] = (await _run(client, run_id))["complaint_ids"]
        return ids

    await eventually(first_filed, "the first complaint filed")

    async def level_seen() -> bool:
        report = (await client.get(f"/api/v1/drills/{run_id}/report")).json()
        return bool(report["expectations"][0]["verdict"] == "met")

    await eventually(level_seen, "its case's level in the drill's read model")
    early = await client.delete(f"/api/v1/drills/{run_id}")
    assert early.status_code == 409 and "stop it first" in early.json()["detail"]

    stopped = await client.post(f"/api/v1/drills/{run_id}/stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] == "stopped" and stopped.json()["stopped_by"] == "dev"
    assert stopped.json()["injections"] == {"pending": 0, "posted": 1, "failed": 0,
                                            "cancelled": 11}
    again = await client.post(f"/api/v1/drills/{run_id}/stop")
    assert again.status_code == 409 and "already stopped" in again.json()["detail"]

    report = (await client.get(f"/api/v1/drills/{run_id}/report")).json()
    assert report["run"]["state"] == "stopped"
    # Stopped before anyone acted: every expectation is a finding, but triage's level.
    assert [e["verdict"] for e in report["expectations"]] == ["met"] + ["missed"] * 5
    assert len(report["findings"]) == 5
    listed_runs = (await client.get("/api/v1/drills", params={"state": "stopped"})).json()
    assert [r["id"] for r in listed_runs["items"]] == [run_id]

    assert (await client.delete(f"/api/v1/drills/{run_id}")).status_code == 204
    assert (await client.get(f"/api/v1/drills/{run_id}")).status_code == 404
    assert (await client.get(f"/api/v1/drills/{run_id}/report")).status_code == 404
    assert (await client.delete(f"/api/v1/drills/{run_id}")).status_code == 404
    runtime = system.embedded.services["drill"].state.runtime
    async with runtime.db.session() as session:
        for table in ("drill_runs", "drill_injections", "drill_cases"):
            rows = (await session.execute(runtime.metadata.tables[table].select())).all()
            assert rows == [], table


async def test_bad_starts_and_scopes(system: System) -> None:
    client = system.client
    unknown = await client.post("/api/v1/drills", json={"scenario": "no-such-drill"})
    assert unknown.status_code == 422 and "no shipped scenario" in unknown.json()["detail"]
    inline = await client.post("/api/v1/drills", json={"scenario": {**SCENARIO, "length": "1x"}})
    assert inline.status_code == 422
    assert [e["field"] for e in inline.json()["errors"]] == ["scenario.length"]
    too_fast = await client.post("/api/v1/drills", json={"scenario": "media-exposure-viral",
                                                         "speed": 10_000})
    assert too_fast.status_code == 422
    # Readers of cases read runs and reports; cases:write (API.md) or drills:run starts one.
    reader = {"Authorization": "Bearer key-operator-pii"}
    refused = await client.post("/api/v1/drills", json={"scenario": "media-exposure-viral"},
                                headers=reader)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this key lacks the scope cases:write or drills:run"
    assert (await client.get("/api/v1/drills/scenarios", headers=reader)).status_code == 200
    hotline = await client.get("/api/v1/drills", headers={"Authorization": "Bearer key-hotline-a"})
    assert hotline.status_code == 403
    assert (await client.get("/api/v1/drills/" + "0" * 32)).status_code == 404


async def test_shipped_scenarios_run_compressed_to_the_end(system: System) -> None:
    """The three shipped scenarios at speed 3600: two hours at most, so two seconds. Their
    incidents open as drills and are the runs' (the verdicts on time depend on how fast this
    machine is, so they are not asserted here)."""
    client = system.client
    runs = {}
    for name in ("branch-group-complaint", "media-exposure-viral",
                 "product-safety-casualties"):
        started = await client.post("/api/v1/drills", json={"scenario": name, "speed": 3600})
        assert started.status_code == 201, started.text
        runs[name] = started.json()["id"]

    async def incidents_of(run_id: str) -> list[str] | None:
        report = (await client.get(f"/api/v1/drills/{run_id}/report")).json()
        found: list[str] = report["coordination"]["incidents"]
        return found if found and report["run"]["state"] == "finished" else None

    group = await eventually(lambda: incidents_of(runs["branch-group-complaint"]),
                             "the group drill's incident")
    assert group == ["group level 2"]
    opinion = await eventually(lambda: incidents_of(runs["media-exposure-viral"]),
                               "the viral drill's incident")
    assert [i.split(" level ")[0] for i in opinion] == ["public_opinion"]
    # The reposted report opens the public-opinion incident the statement is to name.
    safety = await eventually(lambda: incidents_of(runs["product-safety-casualties"]),
                              "the safety drill's incident")
    assert [i.split(" level ")[0] for i in safety] == ["public_opinion"]
    viral = (await client.get(f"/api/v1/drills/{runs['media-exposure-viral']}")).json()
    assert viral["injections"]["posted"] == 13 and len(viral["mention_ids"]) == 12
    real = (await client.get("/api/v1/incidents", params={"drill": "false"})).json()
    assert real["items"] == []
