"""Who hears of what: levels, escalations, incidents, the duty schedule, the level-4 digest,
and one delivery per recipient and channel however often an event is redelivered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.events.schemas import CaseEscalated, IncidentOpened, NotificationSent
from tests.notify.peers import NOW, HttpPeer, notify_settings, running, triaged

ROSTER = """
[[member]]
id = "leader"
roles = ["leadership_group"]
channels = {{ log = "leader", webhook = "{hook}" }}

[[member]]
id = "ga"
roles = ["general_affairs"]
channels = {{ log = "ga" }}

[[member]]
id = "duty-a"
roles = ["duty_room"]
channels = {{ log = "duty-a" }}

[[member]]
id = "duty-b"
roles = ["duty_room"]
channels = {{ log = "duty-b" }}

[[member]]
id = "head-sales"
roles = ["department_head"]
department = "销售部"
channels = {{ log = "head-sales" }}

[[member]]
id = "head-service"
roles = ["department_head"]
department = "售后服务部"
channels = {{ log = "head-service" }}

[[member]]
id = "liaison"
roles = ["department_liaison"]
channels = {{ log = "liaison" }}

[[member]]
id = "owner"
roles = ["case_owner"]
language = "en"
channels = {{ log = "owner", webhook = "{owner_hook}" }}

[[member]]
id = "opinion"
roles = ["public_opinion_team"]
channels = {{ log = "opinion" }}

[[member]]
id = "superior"
roles = ["superior_authority"]
channels = {{ log = "superior" }}

{duty}

[routing]
1 = ["leadership_group", "general_affairs", "duty_room"]
2 = ["general_affairs", "department_head"]
3 = ["department_liaison"]
4 = ["case_owner"]

[digest]
levels = [4]

[incident]
public_opinion = ["public_opinion_team"]
"""


def roster(peer: HttpPeer, duty: str = "") -> str:
    return ROSTER.format(hook=peer.url("/leader"), owner_hook=peer.url("/owner"), duty=duty)


def recipients(items: list[dict[str, object]]) -> set[tuple[object, object]]:
    return {(d["recipient"], d["channel"]) for d in items}


async def test_level_one_reaches_leadership_general_affairs_and_duty_room_on_every_channel(
    tmp_path: Path,
) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, roster(peer))) as notify:
        await notify.publish(triaged(1), "c" * 32)
        got = await peer.next()
        assert got.path == "/leader"
        items = await notify.deliveries(complaint_id="c" * 32)
        assert recipients(items) == {("leader", "log"), ("leader", "webhook"), ("ga", "log"),
                                     ("duty-a", "log"), ("duty-b", "log")}
        await notify.outcomes.until(notify.sent())
        items = await notify.deliveries(complaint_id="c" * 32)
        assert {d["status"] for d in items} == {"sent"}
        leader = next(d for d in items if d["recipient"] == "leader")
        assert leader["roles"] == ["leadership_group"]
        # the webhook's text comes from the Chinese template: level, category, reasons, link
        text = got.json()["text"]
        assert "一级" in text and "安全隐患" in text and "有人受伤住院" in text
        assert f"https://beacon.test/api/v1/cases/{'k' * 32}" in text
        sent = await notify.until_published(NotificationSent, 5)
        assert {e.data["recipient"] for e in sent} == {"leader", "ga", "duty-a", "duty-b"}


async def test_level_two_reaches_general_affairs_and_the_departments_own_head(
    tmp_path: Path,
) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, roster(peer))) as notify:
        await notify.publish(triaged(2, department="售后服务部"), "c" * 32)
        items = await notify.deliveries(complaint_id="c" * 32)
        assert recipients(items) == {("ga", "log"), ("head-service", "log")}


async def test_level_three_reaches_the_department_liaison(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, roster(peer))) as notify:
        await notify.publish(triaged(3), "c" * 32)
        assert recipients(await notify.deliveries(complaint_id="c" * 32)) == {
            ("liaison", "log")}


async def test_level_four_reaches_the_case_owner_in_one_digest(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, roster(peer))) as notify:
        for n in range(3):
            await notify.publish(triaged(4, complaint_id=f"{n}" * 32, case_id=f"{n}" * 32),
                                 f"{n}" * 32)
        batched = await notify.deliveries(recipient="owner")
        assert {d["status"] for d in batched} == {"batched"} and len(batched) == 6
        assert peer.received == []

        async with notify.app.state.runtime.unit() as unit:
            digests = await notify.app.state.notifier.make_digests(unit)
        assert {(d.channel, len(d.context["items"])) for d in digests} == {
            ("log", 3), ("webhook", 3)}
        notify.app.state.dispatcher.wake()
        got = await peer.next()
        assert got.path == "/owner" and got.json()["type"] == "notification.digest"
        assert "3 level-4 complaints" in got.json()["subject"]  # the owner reads English
        await notify.outcomes.until(notify.sent())
        members = await notify.deliveries(recipient="owner", status="sent")
        assert len(members) == 8  # 6 carried by 2 digests, and the 2 digests themselves


async def test_escalation_reaches_the_steps_role(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, roster(peer))) as notify:
        await notify.publish(CaseEscalated(
            escalation_id="e1", case_id="k" * 32, complaint_id="c" * 32, response_level=2,
            step=3, step_role="superior_authority", clock="report", reason="not_acknowledged",
            deadline=NOW, escalated_at=NOW, skipped_role="general_affairs",
        ), "c" * 32)
        items = await notify.deliveries(case_id="k" * 32)
        assert recipients(items) == {("superior", "log")}
        assert items[0]["escalation_id"] == "e1"


async def test_public_opinion_incident_reaches_the_public_opinion_team(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, roster(peer))) as notify:
        await notify.publish(IncidentOpened(
            incident_id="i" * 32, kind="public_opinion", response_level=2,
            summary="微博负面集中：热水器爆炸", opened_at=NOW, mention_ids=["m1", "m2"],
        ), "i" * 32)
        items = await notify.deliveries(incident_id="i" * 32)
        assert recipients(items) == {("opinion", "log")}


async def test_duty_room_reaches_only_who_is_on_duty_now(tmp_path: Path) -> None:
    local = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    duty = (f'[[duty]]\ndate = {local.date().isoformat()}\nstart_hour = {local.hour}\n'
            f'end_hour = {local.hour + 1}\nrole = "duty_room"\nmember = "duty-b"\n')
    async with HttpPeer() as peer, running(
            notify_settings(tmp_path, roster(peer, duty))) as notify:
        await notify.publish(triaged(1), "c" * 32)
        items = await notify.deliveries(complaint_id="c" * 32)
        on_duty = {d["recipient"] for d in items if d["roles"] == ["duty_room"]}
        assert on_duty == {"duty-b"}


async def test_a_redelivered_event_is_delivered_once_per_recipient_and_channel(
    tmp_path: Path,
) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, roster(peer))) as notify:
        event = await notify.publish(triaged(1), "c" * 32)
        await notify.send(event)  # the bus delivers it again
        assert [o for o, _ in notify.handled.seen] == ["applied", "duplicate"]
        # and past the inbox: the handler itself, run twice, records nothing the second time
        notifier = notify.app.state.notifier
        async with notify.app.state.runtime.unit() as unit:
            await notifier.handle(unit, event)
        await peer.next()
        await notify.outcomes.until(notify.sent())
        items = await notify.deliveries(complaint_id="c" * 32)
        assert len(items) == len(recipients(items)) == 5
        assert len(peer.on("/leader")) == 1
        assert len(await notify.until_published(NotificationSent, 5)) == 5
