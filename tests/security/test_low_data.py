"""Issue 13, point 7 (the data side): an empty Idempotency-Key was taken as a key; short
values were masked weakly (`876*4321`); retiring the oldest PII key would have changed every
fingerprint; acknowledgement tokens never expired; a mention URL could be `javascript:`;
content of zero-width spaces was accepted."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from intake_svc.main import create_app as intake_app
from intake_svc.settings import IntakeSettings
from shared.privacy import new_key_ring_spec
from tests.notify.peers import HttpPeer, general_affairs_roster, notify_settings, running, triaged
from tests.support import System

COMPLAINT = {"channel": "hotline", "content": "水管漏水"}


@pytest.mark.parametrize("key", ["", "   ", "\t"])
async def test_an_empty_idempotency_key_is_refused(system: System, key: str) -> None:
    answer = await system.client.post("/api/v1/complaints", json=COMPLAINT,
                                      headers={"Idempotency-Key": key})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "header.idempotency-key"
    assert await system.complaints_stored() == 0


async def test_a_short_phone_shows_at_most_a_third(system: System) -> None:
    posted = await system.client.post("/api/v1/complaints", json={
        **COMPLAINT, "complainant": {"phone": "87654321", "id_number": "A1234567"}})
    view = await system.client.get(posted.json()["status_url"],
                                   headers=system.as_key("operator"))
    person = view.json()["complainant"]
    assert person["phone"] == "8******1"
    assert sum(c != "*" for c in person["id_number"]) <= len("A1234567") // 3


def test_retiring_the_oldest_pii_key_keeps_every_fingerprint(tmp_path: Path) -> None:
    oldest, newer = new_key_ring_spec("k1"), new_key_ring_spec("k2")
    rings = [oldest, f"{newer},{oldest}", newer]  # rotate, then retire k1
    prints = set()
    for ring in rings:
        app = intake_app(IntakeSettings(data_dir=tmp_path, pii_keys=ring,
                                        database_url=f"sqlite:///{tmp_path / 'i.db'}"))
        prints.add(app.state.cipher.fingerprint("13812345678", "a@b.cn"))
    assert len(prints) == 1 and None not in prints


async def test_an_old_acknowledgement_token_expires(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(
            tmp_path, general_affairs_roster(peer.url("/ga")), ack_token_ttl_s=0.001)) as notify:
        await notify.publish(triaged(1), "c" * 32)
        got = await peer.next()
        ack = urlsplit(got.json()["ack_url"])
        token = parse_qs(ack.query)["token"][0]
        page = await notify.client.get(ack.path, params={"token": token})
        posted = await notify.client.post(ack.path, json={"token": token})
        [item] = await notify.deliveries(complaint_id="c" * 32)
    assert page.status_code == 410 and "expired" in page.text and "<button" not in page.text
    assert "script-src 'nonce-" in page.headers["content-security-policy"]
    assert posted.status_code == 410 and "expired" in posted.json()["detail"]
    assert item["acknowledged_at"] is None


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>x</script>",
                                 "file:///etc/passwd", "//evil.example/x"])
async def test_a_mention_url_must_be_http(system: System, url: str) -> None:
    mention = {"source": "weibo", "content": "小区停水", "url": url}
    single = await system.client.post("/api/v1/mentions", json=mention)
    assert single.status_code == 422, single.text
    assert any(e["message"] == "must be an http:// or https:// address without spaces"
               for e in single.json()["errors"])
    batch = await system.client.post("/api/v1/mentions", json={"mentions": [mention]})
    assert [r["status"] for r in batch.json()["results"]] == [422]


@pytest.mark.parametrize("content", ["\u200b", "\u200b\u200c\u200d", "\ufeff\u2060", " \u200b\n"])
async def test_content_of_invisible_characters_is_refused_in_words(
        system: System, content: str) -> None:
    complaint = await system.client.post("/api/v1/complaints",
                                         json={**COMPLAINT, "content": content})
    mention = await system.client.post("/api/v1/mentions",
                                       json={"source": "weibo", "content": content})
    for answer in (complaint, mention):
        assert answer.status_code == 422, answer.text
        messages = [e["message"] for e in answer.json()["errors"]]
        assert ("must contain a visible character, not only spaces or zero-width characters"
                in messages)
    assert await system.complaints_stored() == 0
