"""Group complaints (群体投诉) and public opinion (舆情), in embedded mode through the
gateway: paraphrases from several complainants about one target open one group incident and
raise their levels; unrelated complaints, one complainant repeating, and drills beside real
traffic do not; an opinion.alert opens or raises a public-opinion incident; a mention linked
to an open complaint makes it a media complaint of at least level 2, even when the link
arrives before the complaint is triaged. Drills stay out of the statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shared.events import Envelope, EventPayload
from shared.events.schemas import (
    ComplaintReceived,
    IncidentUpdated,
    MentionLinked,
    NotificationSent,
    OpinionAlert,
    StatementApproved,
)
from shared.runtime import ServiceRuntime
from tests.support import System, Tally
from triage_svc import severity


@pytest.fixture(autouse=True)
def levels_from_the_rules_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about grouping and links, so the levels they start from come from the
    rules alone: the severity model's view of a text (discoloured water may be a hazard)
    must not move them."""
    monkeypatch.setattr(severity, "load_model", lambda *_args: None)


ESTATE = {"department": "阳光小区物业服务中心"}
WATER = [  # one matter, five ways of saying it
    "阳光小区的自来水发黄，还有一股异味，已经三天了",
    "我们小区自来水颜色发黄有异味，持续三天没人管",
    "阳光小区停水后来水发黄发臭，连续三天了",
    "自来水又黄又臭，小区已经三天这样了，物业不管",
    "小区的水发黄，有异味，三天了还没解决",
    "家里自来水发黄有异味，孩子都不敢洗澡",
]
UNRELATED = [
    "物业费太贵了，收费不合理",
    "电梯坏了一个星期没人修",
    "保安态度很差，对老人大声呵斥",
    "小区门口的路灯坏了，晚上很黑",
    "快递柜被占满了，取件很不方便",
    "垃圾站夏天很臭，希望多清运几次",
]


class Triage:
    """Files complaints and waits until triage has applied each."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.runtime: ServiceRuntime = system.embedded.services["triage"].state.runtime
        self.applied = Tally()
        # Only what these tests send: notify's deliveries and statements reach triage too.
        self.runtime.listeners.append(lambda outcome, delivery: None if delivery.topic in (
            NotificationSent.topic, StatementApproved.topic)
            else self.applied.observe(outcome, delivery))
        self.expected = 0

    async def file(self, content: str, person: int, **extra: Any) -> dict[str, Any]:
        body = {"channel": "hotline", "content": content, "target": ESTATE,
                "complainant": {"phone": f"1390000{person:04d}"}, **extra}
        posted = await self.system.client.post("/api/v1/complaints", json=body)
        assert posted.status_code == 202, posted.text
        await self.settled(1)
        return await self.case_of(posted.json()["id"])

    async def settled(self, events: int) -> None:
        self.expected += events
        await self.applied.wait_for(lambda: self.applied.outcomes["applied"] >= self.expected)

    async def case_of(self, complaint_id: str) -> dict[str, Any]:
        """The whole case (the complaint view carries API.md's summary of it)."""
        view = await self.system.client.get(f"/api/v1/complaints/{complaint_id}")
        return await self.case(view.json()["case"]["id"])

    async def case(self, case_id: str) -> dict[str, Any]:
        body: dict[str, Any] = (await self.system.client.get(f"/api/v1/cases/{case_id}")).json()
        return body

    async def incidents(self, **params: str) -> list[dict[str, Any]]:
        answer = await self.system.client.get("/api/v1/incidents", params=params)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def publish(self, data: EventPayload, key: str) -> None:
        async with self.runtime.unit() as unit:  # as if sentiment had published it
            await unit.emit(data, subject=key)
        await self.settled(1)


async def test_paraphrases_from_five_complainants_open_one_group(system: System) -> None:
    triage = Triage(system)
    first = [await triage.file(text, person) for person, text in enumerate(WATER[:4])]
    assert {c["response_level"] for c in first} <= {3, 4}  # each alone is ordinary
    assert await triage.incidents(kind="group") == []

    fifth = await triage.file(WATER[4], 4)
    [group] = await triage.incidents(kind="group", state="open")
    assert group["response_level"] == 2
    assert sorted(group["complaint_ids"]) == sorted(c["complaint_id"] for c in [*first, fifth])
    assert fifth["response_level"] == 2 and fifth["incident_id"] == group["id"]
    assert any("群体投诉" in reason for reason in fifth["level_reasons"])
    for earlier in first:
        case = await triage.case(earlier["id"])
        assert (case["response_level"], case["incident_id"]) == (2, group["id"])
        [raised] = [t for t in case["timeline"] if t["action"] == "level_raised"]
        assert raised["detail"] == {"from": earlier["response_level"], "to": 2,
                                    "incident_id": group["id"]}

    sixth = await triage.file(WATER[5], 5)
    [group] = await triage.incidents(kind="group")
    assert sixth["incident_id"] == group["id"] and len(group["complaint_ids"]) == 6
    assert group["people_count"] == 6

    await system.notified.wait_for(lambda: "applied" in system.notified.outcomes)
    sent = (await system.client.get("/api/v1/notifications", params={
        "case_id": first[0]["id"]})).json()["items"]
    assert sent, "a raised case reaches its new level's people"


async def test_a_group_forms_when_its_earliest_complaint_is_triaged_last(
        system: System) -> None:
    """Complaints on different partitions are triaged in any order (the CI run of stop 23
    saw it): the last one triaged, though received first, still finds the four after it."""
    triage = Triage(system)
    start = datetime.now(UTC)
    for person, text in enumerate(WATER[:5]):
        complaint_id = f"{person:032x}"
        await triage.publish(ComplaintReceived(
            complaint_id=complaint_id, channel="hotline", content=text, target=ESTATE,
            complainant_key=f"person-{person}",
            received_at=start + timedelta(seconds=5 - person)), complaint_id)
    [group] = await triage.incidents(kind="group")
    assert sorted(group["complaint_ids"]) == [f"{p:032x}" for p in range(5)]


async def test_a_closed_group_takes_no_more_and_later_look_alikes_start_anew(
        system: System) -> None:
    triage = Triage(system)
    for person, text in enumerate(WATER[:5]):
        await triage.file(text, person)
    [group] = await triage.incidents(kind="group")
    ops = system.as_key("operator")
    path = f"/api/v1/incidents/{group['id']}/close"

    assert (await system.client.post(path, json={"reason": " "}, headers=ops)).status_code == 422
    closed = await system.client.post(path, json={"reason": "已更换水管，水质检测合格"},
                                      headers=ops)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["closed_by"]) == ("closed", "ops")
    again = await system.client.post(path, json={"reason": "again"}, headers=ops)
    assert again.status_code == 409 and "closed" in again.json()["detail"]
    await triage.settled(0)

    late = [await triage.file(WATER[i % 6], person) for i, person in enumerate(range(5, 9))]
    assert {c["incident_id"] for c in late} == {None}  # handled members count no more
    [still] = await triage.incidents(kind="group")
    assert (still["id"], still["state"], len(still["complaint_ids"])) == (group["id"], "closed", 5)
    fifth_new = await triage.file(WATER[1], 9)  # five new complainants: a new group
    [fresh] = await triage.incidents(kind="group", state="open")
    assert fresh["id"] != group["id"] and fifth_new["incident_id"] == fresh["id"]
    assert len(fresh["complaint_ids"]) == 5


async def test_unrelated_complaints_and_one_repeating_complainant_do_not_merge(
        system: System) -> None:
    triage = Triage(system)
    for person, text in enumerate(UNRELATED):
        await triage.file(text, person)
    for _ in range(5):
        await triage.file(WATER[0], 99)  # the same person five times: repeated, not a group
    assert await triage.incidents(kind="group") == []


async def test_a_complaint_for_many_people_is_a_group_and_a_large_one_is_level_1(
        system: System) -> None:
    triage = Triage(system)
    small = await triage.file("楼上装修噪音太大，我们几户都受不了", 1, people_count=6)
    large = await triage.file("开发商延期交房，业主集体维权", 2, people_count=40,
                              target={"department": "售楼处"})
    groups = {g["complaint_ids"][0]: g for g in await triage.incidents(kind="group")}
    assert groups[small["complaint_id"]]["response_level"] == 2
    assert groups[large["complaint_id"]]["response_level"] == 1
    assert (await triage.case(large["id"]))["response_level"] == 1


async def test_drills_never_group_with_real_complaints_nor_count(system: System) -> None:
    triage = Triage(system)
    for person, text in enumerate(WATER[:3]):
        await triage.file(text, person)
    for person, text in enumerate(WATER[3:5], start=10):
        await triage.file(text, person, drill=True)
    assert await triage.incidents(kind="group") == []

    real = (await system.client.get("/api/v1/cases/stats")).json()
    drill = (await system.client.get("/api/v1/cases/stats", params={"drill": "true"})).json()
    assert sum(real["by_level"]["open"].values()) == 3
    assert sum(drill["by_level"]["open"].values()) == 2
    assert real["by_state"] == {"triaged": 3} and drill["by_state"] == {"triaged": 2}


async def test_an_opinion_alert_opens_then_raises_a_public_opinion_incident(
        system: System) -> None:
    triage = Triage(system)
    now = datetime.now(UTC)

    def alert(n: int, level: int) -> OpinionAlert:
        return OpinionAlert(
            alert_id=f"a{n}", warning_level=level, scope="topic", topic_id="t-water",
            summary="阳光小区水质负面舆情上升", window_start=now, window_end=now,
            negative_count=12 * n, baseline=1.5, negative_share=0.8,
            top_mention_ids=[f"m{n}", "m0"], raised_at=now)

    await triage.publish(alert(1, 3), "a1")
    [incident] = await triage.incidents(kind="public_opinion")
    assert incident["response_level"] == 3 and sorted(incident["mention_ids"]) == ["m0", "m1"]

    await triage.publish(alert(2, 1), "a2")
    [incident] = await triage.incidents(kind="public_opinion")
    assert incident["response_level"] == 1
    assert sorted(incident["mention_ids"]) == ["m0", "m1", "m2"]


async def test_a_linked_mention_makes_an_open_complaint_a_media_complaint(
        system: System) -> None:
    triage = Triage(system)
    case = await triage.file(WATER[0], 1)
    assert (case["response_level"], case["media"]) == (4, False)

    await triage.publish(MentionLinked(
        mention_id="m-weibo-1", complaint_ids=[case["complaint_id"]], similarity=0.7,
        source="weibo", url="https://weibo.example/1", linked_at=datetime.now(UTC)),
        "m-weibo-1")
    after = await triage.case(case["id"])
    assert (after["response_level"], after["media"]) == (2, True)
    [raised] = [t for t in after["timeline"] if t["action"] == "level_raised"]
    assert raised["detail"]["mention_id"] == "m-weibo-1"
    assert any("媒体投诉" in r for r in after["level_reasons"])


async def test_a_link_that_arrives_before_its_case_is_applied_when_it_opens(
        system: System) -> None:
    triage = Triage(system)
    complaint_id = "c" * 32
    await triage.publish(MentionLinked(
        mention_id="m-early", complaint_ids=[complaint_id], similarity=0.9, source="news",
        linked_at=datetime.now(UTC)), "m-early")
    await triage.publish(ComplaintReceived(
        complaint_id=complaint_id, channel="hotline", content=WATER[1],
        received_at=datetime.now(UTC)), complaint_id)  # intake never saw it: ask triage
    [case] = (await system.client.get("/api/v1/cases", params={
        "complaint_id": complaint_id})).json()["items"]
    assert (case["response_level"], case["media"]) == (2, True)


async def test_a_later_wave_adds_its_evidence_to_the_open_incident(system: System) -> None:
    """Issue #15: a second alert on the same topic, half an hour later and no more severe,
    adds its mentions and counts to the open incident and announces `members_added`."""
    triage = Triage(system)
    first_at = datetime.now(UTC).replace(microsecond=0)
    second_at = first_at + timedelta(minutes=30)

    def wave(n: int, at: datetime, negatives: int) -> OpinionAlert:
        return OpinionAlert(
            alert_id=f"w{n}", warning_level=2, scope="topic", topic_id="t-gas",
            summary=f"燃气爆炸负面舆情: {negatives} negative", window_start=at,
            window_end=at, negative_count=negatives, baseline=1.0, negative_share=0.9,
            top_mention_ids=[f"m{n}-{i}" for i in range(5)], raised_at=at)

    await triage.publish(wave(1, first_at, 40), "w1")
    await triage.publish(wave(2, second_at, 120), "w2")
    [incident] = await triage.incidents(kind="public_opinion")
    assert len(incident["mention_ids"]) == 10
    assert {f"m2-{i}" for i in range(5)} <= set(incident["mention_ids"])
    assert datetime.fromisoformat(incident["updated_at"]) == second_at
    assert "120" in incident["summary"]
    table = triage.runtime.outbox
    async with triage.runtime.db.session() as session:
        rows = (await session.execute(select(table.c.envelope).where(
            table.c.topic == IncidentUpdated.topic))).scalars().all()
    [updated] = [Envelope.from_bytes(r.encode()).payload() for r in rows]
    assert isinstance(updated, IncidentUpdated)
    assert updated.action == "members_added" and updated.mention_count == 10
    assert sorted(updated.added_mention_ids) == [f"m2-{i}" for i in range(5)]
