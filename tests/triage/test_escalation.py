"""Escalation on durable timers, in embedded mode through the gateway: a missed deadline
climbs one step once and is recorded; work done in time cancels the step; silence at a step
reaches the next role up (跨级上报) unless notify's acknowledgement arrives first; a restart
neither loses nor repeats a timer. Time is moved by handing the check a later `now`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.launcher import build_embedded
from services.settings import GatewaySettings
from shared.events.schemas import NotificationAcknowledged
from shared.runtime import ServiceRuntime
from tests.support import ADMIN, System, Tally
from triage_svc import escalation
from triage_svc.models import Escalation
from triage_svc.rules import Rules

LEVEL_1 = "热水器爆炸，有人受伤住院"
LEVEL_4 = "发票开错了，需要重新开具"
SECOND = timedelta(seconds=1)


def _triage(system: System) -> tuple[ServiceRuntime, Rules]:
    app = system.embedded.services["triage"]
    return app.state.runtime, app.state.rules


async def _file(system: System, content: str, applied: int) -> dict[str, Any]:
    posted = await system.client.post("/api/v1/complaints",
                                      json={"channel": "hotline", "content": content})
    assert posted.status_code == 202, posted.text
    await system.notified.applied(applied)
    view = (await system.client.get(f"/api/v1/complaints/{posted.json()['id']}")).json()
    case: dict[str, Any] = view["case"]
    return case


async def _case(system: System, case_id: str) -> dict[str, Any]:
    answer = await system.client.get(f"/api/v1/cases/{case_id}")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def _at(case: dict[str, Any], clock: str) -> datetime:
    return datetime.fromisoformat(case["deadlines"][f"{clock}_by"])


async def _timers(runtime: ServiceRuntime, case_id: str) -> dict[int, Escalation]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(Escalation).where(Escalation.case_id == case_id))
        return {t.step: t for t in rows}


async def test_a_missed_deadline_escalates_once_and_is_recorded(system: System) -> None:
    runtime, rules = _triage(system)
    case = await _file(system, LEVEL_1, 1)
    assert case["response_level"] == 1
    report_due = _at(case, "report")

    assert await escalation.check(runtime, rules, now=report_due - SECOND) == 0
    assert await escalation.check(runtime, rules, now=report_due + SECOND) == 1
    assert await escalation.check(runtime, rules, now=report_due + 2 * SECOND) == 0

    after = await _case(system, case["id"])
    assert after["escalation_step"] == 1
    assert after["overdue"] is False  # by the wall clock nothing has run out yet
    [entry] = [t for t in after["timeline"] if t["action"] == "escalated"]
    assert entry["actor"] == "triage"
    assert entry["detail"]["role"] == "general_affairs"
    assert entry["detail"]["clock"] == "report"
    assert entry["detail"]["reason"] == "deadline_missed"
    assert "missed" in entry["reason"]

    await system.notified.applied(2)  # notify took case.escalated to general affairs
    sent = (await system.client.get("/api/v1/notifications",
                                    params={"case_id": case["id"]})).json()["items"]
    escalated = [d for d in sent if d.get("escalation_id")]
    assert {d["recipient"] for d in escalated} == {"general-affairs"}


async def test_work_done_in_time_cancels_the_step(system: System) -> None:
    runtime, rules = _triage(system)
    case = await _file(system, LEVEL_4, 1)
    assert case["response_level"] == 4
    ops = system.as_key("operator")
    for path, body in (("acknowledge", {}), ("answer", {"text": "已重新开具发票"})):
        done = await system.client.post(f"/api/v1/cases/{case['id']}/{path}", json=body,
                                        headers=ops)
        assert done.status_code == 200, done.text

    assert await escalation.check(runtime, rules, now=_at(case, "resolve") + SECOND) == 0
    [timer] = (await _timers(runtime, case["id"])).values()
    assert (timer.role, timer.status) == ("general_affairs", "cancelled")
    assert (await _case(system, case["id"]))["escalation_step"] == 0


async def test_silence_skips_a_level_and_an_acknowledgement_stops_it(system: System) -> None:
    runtime, rules = _triage(system)
    acks = Tally()  # triage applying notify's acknowledgements, nothing else
    runtime.listeners.append(lambda outcome, delivery: acks.observe(outcome, delivery)
                             if delivery.topic == NotificationAcknowledged.topic else None)
    silent = await _file(system, LEVEL_1, 1)
    heard = await _file(system, "门店起火，顾客受伤住院", 2)
    missed = max(_at(silent, "report"), _at(heard, "report")) + SECOND
    assert await escalation.check(runtime, rules, now=missed) == 2
    await system.notified.applied(4)

    # general affairs acknowledges `heard`'s escalation through notify's public ack route.
    notify = system.embedded.services["notify"].state.notifier
    sent = (await system.client.get("/api/v1/notifications",
                                    params={"case_id": heard["id"]})).json()["items"]
    [delivery] = [d for d in sent if d.get("escalation_id")]
    acked = await system.client.post("/api/v1/notifications/ack", headers={},
                                     json={"token": notify.tokens.token_for(delivery["id"])})
    assert acked.status_code == 200, acked.text
    await acks.wait_for(lambda: acks.outcomes["applied"] >= 1)

    ack_window = timedelta(minutes=15)  # [escalation.ack_within] 1
    assert await escalation.check(runtime, rules, now=missed + ack_window - SECOND) == 0
    assert await escalation.check(runtime, rules, now=missed + ack_window + SECOND) == 1

    up = await _timers(runtime, silent["id"])
    assert (up[2].role, up[2].status, up[2].reason, up[2].skipped_role) == (
        "leadership_group", "fired", "not_acknowledged", "general_affairs")
    assert up[1].ack_due is None  # its silence was acted on, once
    assert (await _case(system, silent["id"]))["escalation_step"] == 2
    calm = await _timers(runtime, heard["id"])
    assert calm[1].acknowledged_by == delivery["recipient"]
    assert calm[1].acknowledged_at is not None and calm[1].ack_due is None
    assert calm[2].status == "pending"  # only its own clock can move it now
    assert (await _case(system, heard["id"]))["escalation_step"] == 1
    timeline = (await _case(system, heard["id"]))["timeline"]
    assert any(t["action"] == "notification_acknowledged" for t in timeline)


async def test_a_restart_neither_loses_nor_repeats_a_timer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))  # every service's files, kept across runs
    async def run(check_at: datetime | None, content: str | None = None
                  ) -> tuple[str | None, int]:
        embedded = build_embedded(GatewaySettings(data_dir=tmp_path, dev_api_key=ADMIN))
        app = embedded.gateway
        triage = embedded.services["triage"].state
        applied = Tally()
        embedded.services["notify"].state.runtime.listeners.append(applied.observe)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://beacon",
                headers={"Authorization": f"Bearer {ADMIN}"}) as client:
            case_id = None
            if content is not None:
                posted = await client.post("/api/v1/complaints",
                                           json={"channel": "hotline", "content": content})
                await applied.applied(1)
                view = (await client.get(f"/api/v1/complaints/{posted.json()['id']}")).json()
                case_id = view["case"]["id"]
            fired = 0
            if check_at is not None:
                fired = await escalation.check(triage.runtime, triage.rules, now=check_at)
            return case_id, fired

    case_id, _ = await run(None, LEVEL_1)
    later = datetime.now().astimezone() + timedelta(hours=1)
    assert (await run(later))[1] == 1  # the timer survived the restart
    assert (await run(later + SECOND))[1] == 0  # and fired only once
    assert case_id is not None
