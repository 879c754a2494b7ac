"""The unified external statement (统一口径): draft, approve with a scope of its own, then
distribution to every department liaison and the public-opinion team."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from shared.events.schemas import IncidentOpened, StatementApproved, StatementDistributed
from tests.notify.peers import notify_settings, running

ROSTER = """
[[member]]
id = "liaison-sales"
roles = ["department_liaison"]
department = "销售部"
channels = { log = "l1" }
[[member]]
id = "liaison-service"
roles = ["department_liaison"]
department = "售后服务部"
channels = { log = "l2" }
[[member]]
id = "opinion"
roles = ["public_opinion_team"]
channels = { log = "o" }
[[member]]
id = "ga"
roles = ["general_affairs"]
channels = { log = "ga" }
[routing]
1 = ["general_affairs"]
2 = ["general_affairs"]
3 = ["general_affairs"]
4 = ["general_affairs"]
"""

WRITER = {"x-beacon-owner": "brand-officer", "x-beacon-scopes": "cases:write cases:read"}
APPROVER = {"x-beacon-owner": "leader-wang", "x-beacon-scopes": "statements:approve"}


async def test_draft_approve_distribute(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        drafted = await notify.client.post("/api/v1/statements", headers=WRITER, json={
            "title": "关于热水器事件的说明", "text": "公司已成立专项小组，正在全力处理。",
            "incident_id": "i" * 32})
        assert drafted.status_code == 201, drafted.text
        statement = drafted.json()
        assert statement["status"] == "draft" and statement["drafted_by"] == "brand-officer"
        path = f"/api/v1/statements/{statement['id']}/approve"

        refused = await notify.client.post(path, headers=WRITER)
        assert refused.status_code == 403 and "statements:approve" in refused.json()["detail"]

        before = len(notify.handled.seen)
        approved = await notify.client.post(path, headers=APPROVER)
        assert approved.status_code == 200, approved.text
        await notify.handled.until(lambda: len(notify.handled.seen) > before)  # distributed

        again = await notify.client.post(path, headers=APPROVER)
        assert again.status_code == 409

        view = (await notify.client.get(f"/api/v1/statements/{statement['id']}")).json()
        items = await notify.deliveries(statement_id=statement["id"])
        [event] = await notify.until_published(StatementApproved, 1)
    assert view["status"] == "distributed" and view["approved_by"] == "leader-wang"
    assert view["text"] == "公司已成立专项小组，正在全力处理。"
    approved_at = dt.datetime.fromisoformat(view["approved_at"])
    assert dt.datetime.fromisoformat(view["distribute_by"]) - approved_at == dt.timedelta(
        minutes=30)
    assert {d["recipient"] for d in items} == {"liaison-sales", "liaison-service", "opinion"}
    assert {d["status"] for d in items} == {"sent"}
    assert event.data["approved_by"] == "leader-wang" and event.subject == statement["id"]


async def test_a_drills_statements_say_so(tmp_path: Path) -> None:
    """A statement for an incident a drill opened carries the drill flag, so that the
    public-opinion report leaves it out; one for a real incident does not."""
    drill, real = "d" * 32, "r" * 32
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        await notify.publish(IncidentOpened(
            incident_id=drill, kind="public_opinion", response_level=2, summary="演练：舆情",
            opened_at=dt.datetime.now(dt.UTC), drill=True), drill)
        for incident in (drill, real):
            drafted = await notify.client.post("/api/v1/statements", headers=WRITER, json={
                "title": "说明", "text": "正在处理。", "incident_id": incident})
            assert drafted.status_code == 201, drafted.text
            approve = f"/api/v1/statements/{drafted.json()['id']}/approve"
            assert (await notify.client.post(approve, headers=APPROVER)).status_code == 200
        approved = await notify.until_published(StatementApproved, 2)
        distributed = await notify.until_published(StatementDistributed, 2)
    for events in (approved, distributed):
        assert {e.data["incident_id"]: e.data["drill"] for e in events} == {
            drill: True, real: False}


async def test_drafting_needs_cases_write_and_unknown_statements_are_404(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        refused = await notify.client.post("/api/v1/statements", json={"title": "t", "text": "x"},
                                           headers={"x-beacon-scopes": "cases:read"})
        missing = await notify.client.post("/api/v1/statements/nope/approve", headers=APPROVER)
        view = await notify.client.get("/api/v1/statements/nope")
    assert refused.status_code == 403 and missing.status_code == 404 and view.status_code == 404


async def test_the_drafter_never_approves_their_own_statement(tmp_path: Path) -> None:
    """Four eyes (双人审核): the same caller cannot draft and approve, whatever its scopes."""
    admin = {"x-beacon-owner": "ops-admin", "x-beacon-scopes": "admin"}
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        for drafter in (admin, {**APPROVER, "x-beacon-scopes": "statements:approve cases:write"}):
            drafted = await notify.client.post("/api/v1/statements", headers=drafter, json={
                "title": "说明", "text": "正在处理。"})
            assert drafted.status_code == 201, drafted.text
            path = f"/api/v1/statements/{drafted.json()['id']}/approve"
            own = await notify.client.post(path, headers=drafter)
            assert own.status_code == 403
            assert "you drafted this statement" in own.json()["detail"]
            assert (await notify.client.get(path.removesuffix("/approve"))).json()[
                "status"] == "draft"
            other = APPROVER if drafter is admin else admin
            approved = await notify.client.post(path, headers=other)
            assert approved.status_code == 200, approved.text
            assert approved.json()["approved_by"] == other["x-beacon-owner"]
