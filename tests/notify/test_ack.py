"""Acknowledgement: every delivery carries a token; acknowledging publishes
notification.acknowledged (triage's signal to stop skip-level escalation); a token works once."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from shared.events.schemas import CaseEscalated, NotificationAcknowledged
from tests.notify.peers import (
    NOW,
    HttpPeer,
    general_affairs_roster,
    notify_settings,
    running,
    triaged,
)


async def test_the_token_acknowledges_once_and_publishes_it(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(
            notify_settings(tmp_path, general_affairs_roster(peer.url("/ga"), log=True))) as notify:
        await notify.publish(CaseEscalated(
            escalation_id="e7", case_id="k" * 32, complaint_id="c" * 32, response_level=2,
            step=1, step_role="general_affairs", clock="acknowledge", reason="deadline_missed",
            deadline=NOW, escalated_at=NOW), "c" * 32)
        got = await peer.next()
        ack_url = urlsplit(got.json()["ack_url"])
        token = parse_qs(ack_url.query)["token"][0]

        page = await notify.client.get(ack_url.path, params={"token": token})
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "确认收到" in page.text
        [before] = [d for d in await notify.deliveries(case_id="k" * 32)
                    if d["channel"] == "webhook"]
        assert before["acknowledged_at"] is None  # opening the link is not acknowledging

        first = await notify.client.post("/api/v1/notifications/ack", json={"token": token})
        assert first.status_code == 200, first.text
        assert first.json()["acknowledged_by"] == "ga"
        assert first.json()["id"] == got.json()["id"]

        again = await notify.client.post("/api/v1/notifications/ack", json={"token": token})
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert "already acknowledged" in again.json()["detail"]

        [acked] = await notify.until_published(NotificationAcknowledged, 1)
    assert acked.data["delivery_id"] == got.json()["id"]
    assert acked.data["escalation_id"] == "e7"
    assert acked.data["cause_type"] == CaseEscalated.topic
    assert acked.data["roles"] == ["general_affairs"]
    assert acked.data["case_id"] == "k" * 32


async def test_an_unknown_token_is_404(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(
            notify_settings(tmp_path, general_affairs_roster(peer.url("/ga"), log=True))) as notify:
        answer = await notify.client.post("/api/v1/notifications/ack",
                                          json={"token": "not-a-token"})
        page = await notify.client.get("/api/v1/notifications/ack",
                                       params={"token": "not-a-token"})
    assert answer.status_code == 404 and page.status_code == 404
    assert answer.json()["detail"] == "unknown acknowledgement token"


async def test_an_operator_acknowledges_by_delivery_id(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(
            notify_settings(tmp_path, general_affairs_roster(peer.url("/ga"), log=True))) as notify:
        await notify.publish(triaged(1), "c" * 32)
        log_delivery = next(d for d in await notify.deliveries(complaint_id="c" * 32)
                            if d["channel"] == "log")
        path = f"/api/v1/notifications/{log_delivery['id']}/ack"
        headers = {"x-beacon-owner": "ops", "x-beacon-scopes": "cases:write"}
        first = await notify.client.post(path, headers=headers)
        again = await notify.client.post(path, headers=headers)
        missing = await notify.client.post("/api/v1/notifications/nope/ack", headers=headers)
        [acked] = await notify.until_published(NotificationAcknowledged, 1)
    assert first.status_code == 200 and first.json()["acknowledged_by"] == "ops"
    assert again.status_code == 409 and missing.status_code == 404
    assert acked.data["complaint_id"] == "c" * 32
