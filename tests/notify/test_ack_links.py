"""Acknowledgement links: one public base URL (BEACON_PUBLIC_URL, else the gateway's own
address), shown on notification items to callers with cases:write only; the page in the
reader's language, in local time, saying what is still due on the case."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from notify_svc.settings import NotifySettings
from shared.events.schemas import CaseUpdated, ClockDue, ComplaintTriaged, IncidentOpened
from tests.notify.peers import (
    NOW,
    HttpPeer,
    general_affairs_roster,
    notify_settings,
    running,
    triaged,
)

HOUR = dt.timedelta(hours=1)
WRITER = {"x-beacon-owner": "ops", "x-beacon-scopes": "cases:read cases:write"}
READER = {"x-beacon-owner": "viewer", "x-beacon-scopes": "cases:read"}


def test_links_follow_the_gateway_unless_a_public_url_is_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BEACON_PUBLIC_URL", "NOTIFY_PUBLIC_URL", "GATEWAY_HOST", "GATEWAY_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert NotifySettings().public_base() == "http://127.0.0.1:8000"
    monkeypatch.setenv("GATEWAY_PORT", "8123")
    monkeypatch.setenv("GATEWAY_HOST", "0.0.0.0")  # a wildcard is no address to link to
    assert NotifySettings().public_base() == "http://127.0.0.1:8123"
    monkeypatch.setenv("NOTIFY_PUBLIC_URL", "https://old.example.org/")
    assert NotifySettings().public_base() == "https://old.example.org"  # the older name
    monkeypatch.setenv("BEACON_PUBLIC_URL", "https://beacon.example.org/desk/")
    assert NotifySettings().public_base() == "https://beacon.example.org/desk"
    monkeypatch.setenv("BEACON_PUBLIC_URL", "beacon.example.org")
    with pytest.raises(ValidationError, match="BEACON_PUBLIC_URL"):
        NotifySettings()


def _triaged(outstanding: list[ClockDue]) -> ComplaintTriaged:
    event = triaged(2)
    assert isinstance(event, ComplaintTriaged)
    return event.model_copy(update={"outstanding": outstanding})


async def test_items_show_the_ack_link_to_writers_only(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(
            tmp_path, general_affairs_roster(peer.url("/ga"), log=True))) as notify:
        await notify.publish(_triaged([]), "c" * 32)
        writer = await notify.client.get("/api/v1/notifications",
                                         params={"complaint_id": "c" * 32}, headers=WRITER)
        reader = await notify.client.get("/api/v1/notifications",
                                         params={"complaint_id": "c" * 32}, headers=READER)
    items = writer.json()["items"]
    assert items and all(i["ack_url"].startswith("https://beacon.test/api/v1/notifications/ack"
                                                 "?token=") for i in items)
    assert len({i["ack_url"] for i in items}) == len(items)  # one token per delivery
    assert all(i["ack_url"] is None for i in reader.json()["items"])


async def test_the_page_speaks_the_readers_language_in_local_time_with_what_is_due(
        tmp_path: Path) -> None:
    due = [ClockDue(clock="acknowledge", due_at=NOW + HOUR),
           ClockDue(clock="first_contact", due_at=NOW + 2 * HOUR),
           ClockDue(clock="report", due_at=NOW + 3 * HOUR)]
    async with HttpPeer() as peer, running(notify_settings(
            tmp_path, general_affairs_roster(peer.url("/ga"), log=True))) as notify:
        await notify.publish(_triaged(due), "c" * 32)
        [item, *_] = (await notify.client.get("/api/v1/notifications", headers=WRITER,
                                              params={"complaint_id": "c" * 32})).json()["items"]
        token = parse_qs(urlsplit(item["ack_url"]).query)["token"][0]
        path = "/api/v1/notifications/ack"
        chinese = await notify.client.get(path, params={"token": token})
        english = await notify.client.get(path, params={"token": token},
                                          headers={"accept-language": "en-GB,en;q=0.9,zh;q=0.5"})
        asked = await notify.client.get(path, params={"token": token, "lang": "zh"},
                                        headers={"accept-language": "en"})
        bad_lang = await notify.client.get(path, params={"token": token, "lang": "fr"})
        pressed = await notify.client.post(path, json={"token": token})
        after = await notify.client.get(path, params={"token": token, "lang": "en"})
        # Triage then says the case is acknowledged: the page keeps saying what is left.
        await notify.publish(CaseUpdated(
            case_id="k" * 32, complaint_id="c" * 32, action="acknowledged",
            state="acknowledged", response_level=2, actor="ga", at=NOW,
            outstanding=due[1:]), "c" * 32)
        later = await notify.client.get(path, params={"token": token, "lang": "en"})
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in chinese.text
    assert '<html lang="zh-CN">' in chinese.text and "确认收到" in chinese.text
    # 01:00 UTC is 09:00 in Asia/Shanghai, the configured zone; never the raw UTC stamp.
    assert "首次联系: 2026-03-02 11:00" in chinese.text
    assert '<html lang="en">' in english.text and "Deadlines on this case:" in english.text
    assert "first contact: 2026-03-02 11:00" in english.text
    assert '<html lang="zh-CN">' in asked.text  # ?lang wins over Accept-Language
    assert bad_lang.status_code == 422
    assert pressed.status_code == 200, pressed.text
    assert 'id="ack"' not in after.text
    assert "The case is acknowledged." in after.text and "Still due:" in after.text
    assert "acknowledge: " not in after.text  # met by this acknowledgement
    assert "report up: 2026-03-02 12:00" in after.text
    assert "Times are in Asia/Shanghai." in after.text
    assert "T01:" not in after.text and "+00:00" not in after.text
    assert "first contact: 2026-03-02 11:00" in later.text


async def test_a_page_for_no_case_shows_no_deadlines(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(
            tmp_path, general_affairs_roster(peer.url("/ga"), log=True))) as notify:
        await notify.publish(IncidentOpened(
            incident_id="i" * 32, kind="group", response_level=2, summary="多人反映断网",
            opened_at=NOW), "i" * 32)
        [item, *_] = (await notify.client.get("/api/v1/notifications", headers=WRITER,
                                              params={"incident_id": "i" * 32})).json()["items"]
        page = await notify.client.get(urlsplit(item["ack_url"]).path,
                                       params=parse_qs(urlsplit(item["ack_url"]).query))
    assert page.status_code == 200 and 'id="due"' not in page.text
