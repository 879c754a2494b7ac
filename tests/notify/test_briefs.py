"""Scheduled briefs (日报, 周报): the periods the schedule makes, the roster's `[brief]`
table and its refusals, claiming a period once, sending when both services answered or
after the bounded wait with what came (late figures dropped), the templates in both
languages, the list route; and the whole round through triage and sentiment in embedded
mode. Two replicas on Kafka and PostgreSQL: tests/integration/test_brief_replicas.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from notify_svc import briefs
from notify_svc.roster import BriefSchedule, RosterError, parse_roster
from notify_svc.templating import BLOCKS, Templates
from shared.bus import MemoryBus
from shared.bus.base import BusMessage
from shared.events.schemas import BriefFigures, BriefRequested
from tests.notify.peers import Notify, Waiter, notify_settings, running
from tests.support import System, brief_roster, eventually

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY_9 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Shanghai
SCHEDULE = BriefSchedule(daily=dt.time(8, 30), weekly=(0, dt.time(9, 0)), wait_s=600)
ROSTER = brief_roster(wait_s=600)
TRIAGE = {"cases": 12, "previous": 9, "change_pct": 33.3, "level_1": 1, "level_2": 2,
          "level_3": 4, "level_4": 5, "clocks_met": 30, "clocks_missed": 6,
          "compliance": 0.833, "satisfaction": 4.2, "repeat_complainants": 1,
          "incidents_opened": 1, "top_categories": ["billing 5", "network 3"]}
SENTIMENT = {"mentions": 40, "previous": 20, "negative": 10, "negative_share": 0.25,
             "alerts": 2, "linked_complaints": 3, "top_stories": ["热水器爆炸"]}


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(("now", "kind", "period"), [
    (MONDAY_9, "daily", ("2026-03-01 00:00", "2026-03-02 00:00")),
    (MONDAY_9 - dt.timedelta(minutes=31), "daily", ("2026-02-28 00:00", "2026-03-01 00:00")),
    (MONDAY_9, "weekly", ("2026-02-23 00:00", "2026-03-02 00:00")),
    (MONDAY_9 - dt.timedelta(minutes=1), "weekly", ("2026-02-16 00:00", "2026-02-23 00:00")),
])
def test_the_period_is_the_day_or_week_before_the_send(
        now: dt.datetime, kind: str, period: tuple[str, str]) -> None:
    found = briefs.due_period(SCHEDULE, kind, now, ZONE)
    assert found is not None and (_local(found[0]), _local(found[1])) == period
    assert briefs.due_period(BriefSchedule(), kind, now, ZONE) is None  # not scheduled


@pytest.mark.parametrize(("table", "words"), [
    ('daily = "25:00"', "brief.daily: '25:00' is not a time of day"),
    ('weekly = "funday 09:00"', "brief.weekly: 'funday 09:00': start with a weekday"),
    ('daily = "08:30"\nwait_s = 0\n#', "brief.wait_s"),
    ("roles = []", "brief.roles"),
])
def test_a_bad_brief_table_is_refused_naming_it(table: str, words: str) -> None:
    text = ROSTER.replace('daily = "08:30"', table).replace("wait_s = 600", "")
    with pytest.raises(RosterError) as refused:
        parse_roster(tomllib.loads(text), "roster.toml", text)
    assert words in str(refused.value)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_brief_renders_with_and_without_every_figure(language: str) -> None:
    links = {"base": "https://b", "ack": "https://b/ack?t=1", "case": "", "incident": "",
             "statement": ""}
    full = {"kind": "daily", "period_start": "2026-02-28T16:00:00+00:00",
            "period_end": "2026-03-01T16:00:00+00:00", "triage": TRIAGE,
            "sentiment": SENTIMENT, "missing": []}
    message = Templates("Asia/Shanghai").render("brief", language,
                                                {"d": full, "links": links, "drill": False})
    assert all(getattr(message, block) for block in BLOCKS)
    assert "2026-03-01 00:00" in message.subject and "12" in message.text
    assert "热水器爆炸" in message.text and "83%" in message.text
    partial = {**full, "sentiment": None, "missing": ["sentiment"]}
    cut = Templates("Asia/Shanghai").render("brief", language,
                                            {"d": partial, "links": links, "drill": False})
    assert "sentiment" in cut.text and "热水器爆炸" not in cut.text


@contextlib.asynccontextmanager
async def _requested(notify: Notify) -> AsyncIterator[Waiter]:
    """The brief.requested events notify publishes."""
    seen = Waiter()

    async def observe(delivery: BusMessage) -> None:
        seen.observe(delivery.envelope)

    observer = MemoryBus(notify.broker)
    observer.subscribe([BriefRequested.topic], "test-briefs", observe)
    await observer.start()
    try:
        yield seen
    finally:
        await observer.stop()


async def _brief_deliveries(notify: Notify) -> list[dict[str, Any]]:
    return [d for d in await notify.deliveries() if d["event_type"] == "brief"]


async def test_claimed_once_then_sent_when_both_answered(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify, \
            _requested(notify) as requested:
        runtime = notify.app.state.runtime
        for _ in range(3):  # the timer of every replica, again and again
            await notify.app.state.notifier.check_briefs(runtime, now=MONDAY_9)
        await requested.until(lambda: len(requested.seen) >= 1)
        [event] = requested.seen
        ask = event.payload()
        assert (ask.brief_id, ask.kind) == ("daily-20260301", "daily")
        assert (_local(ask.period_start), _local(ask.period_end)) == (
            "2026-03-01 00:00", "2026-03-02 00:00")

        await notify.publish(BriefFigures(brief_id=ask.brief_id, source="triage",
                                          figures=TRIAGE), subject=ask.brief_id)
        assert await _brief_deliveries(notify) == []  # waits for sentiment
        await notify.publish(BriefFigures(brief_id=ask.brief_id, source="sentiment",
                                          figures=SENTIMENT), subject=ask.brief_id)
        [sent] = await _brief_deliveries(notify)
        assert (sent["recipient"], sent["status"]) == ("leadership", "sent")
        await notify.app.state.notifier.check_briefs(
            runtime, now=MONDAY_9 + dt.timedelta(hours=1))  # past the wait: nothing more
        assert len(await _brief_deliveries(notify)) == 1 and len(requested.seen) == 1

        listed = await notify.client.get("/api/v1/briefs", params={"kind": "daily"})
        assert listed.status_code == 200
        [brief] = listed.json()["items"]
        assert (brief["id"], brief["status"]) == ("daily-20260301", "delivered")
        assert brief["figures"] == {"triage": TRIAGE, "sentiment": SENTIMENT}
        assert (await notify.client.get("/api/v1/briefs", params={"kind": "monthly"})
                ).status_code == 422
        assert (await notify.client.get("/api/v1/briefs", params={"limit": 0})
                ).status_code == 422


async def test_after_the_wait_it_goes_with_what_came(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify, \
            _requested(notify) as requested:
        runtime, notifier = notify.app.state.runtime, notify.app.state.notifier
        await notifier.check_briefs(runtime, now=MONDAY_9)
        await requested.until(lambda: len(requested.seen) == 1)
        brief_id = requested.seen[0].payload().brief_id
        await notify.publish(BriefFigures(brief_id=brief_id, source="triage", figures=TRIAGE),
                             subject=brief_id)
        assert await notifier.check_briefs(runtime, now=MONDAY_9 + dt.timedelta(
            seconds=599)) == 0
        assert await notifier.check_briefs(runtime, now=MONDAY_9 + dt.timedelta(
            seconds=600)) == 1
        [sent] = await _brief_deliveries(notify)
        assert sent["status"] == "sent"
        await notify.publish(BriefFigures(brief_id=brief_id, source="sentiment",
                                          figures=SENTIMENT), subject=brief_id)  # too late
        assert len(await _brief_deliveries(notify)) == 1
        [brief] = (await notify.client.get("/api/v1/briefs")).json()["items"]
        assert set(brief["figures"]) == {"triage"}


async def test_triage_and_sentiment_answer_in_embedded_mode(system: System) -> None:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "话费多扣了二十元",
        "complainant": {"phone": "13800000011"}})
    assert posted.status_code == 202
    await system.notified.applied(1)
    notify = system.embedded.services["notify"].state
    now = dt.datetime.now(dt.UTC)
    await notify.notifier.check_briefs(notify.runtime, now=now)

    async def delivered() -> list[dict[str, Any]] | None:
        answer = await system.client.get("/api/v1/briefs", headers=system.as_key("operator"))
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        done = [i for i in items if i["status"] == "delivered"]
        return done if len(done) == 2 else None

    found = await eventually(delivered, "the daily and weekly briefs, with every figure")
    assert {b["kind"] for b in found} == {"daily", "weekly"}  # the demo roster has both
    for brief in found:
        assert set(brief["figures"]) == {"triage", "sentiment"}
        # Each covers a period before today, so today's complaint is in neither.
        assert brief["figures"]["triage"]["cases"] == 0
        assert "mentions" in brief["figures"]["sentiment"]
    sent = (await system.client.get("/api/v1/notifications")).json()["items"]
    assert [d["recipient"] for d in sent if d["event_type"] == "brief"] == ["leadership"] * 2
    refused = await system.client.get("/api/v1/briefs", headers=system.as_key("hotline-a"))
    assert refused.status_code == 403
