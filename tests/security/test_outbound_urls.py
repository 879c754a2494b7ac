"""Issue 13, point 6: callback and webhook URLs reached loopback, private and link-local
addresses, and the peer's answer was copied into `last_error` for any cases:read key to
read. Now such URLs are refused at registration (422) unless OUTBOUND_URL_ALLOWLIST names
them, checked again at send time against what the name resolves to then, and `last_error`
keeps the status and a short reason only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notify.peers import (
    ADMIN,
    Behaviour,
    HttpPeer,
    general_affairs_roster,
    notify_settings,
    running,
    triaged,
)

INTERNAL = ["http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.0.0.8/hook",
            "http://192.168.1.20/hook", "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.9/hook", "http://[::1]:8080/hook", "http://[fd00:ec2::254]/",
            "http://[::ffff:127.0.0.1]/hook", "http://224.0.0.1/hook", "http://0.0.0.0/hook",
            "https://2130706433/hook"]  # 127.0.0.1 as one number
SECRET = "a-callback-secret-0123456789"
ROUTING = "".join(f'{level} = ["general_affairs"]\n' for level in (1, 2, 3, 4))
EMPTY_ROSTER = f"[routing]\n{ROUTING}[digest]\nlevels = []\n"


def _member(url: str, **extra: str) -> dict[str, object]:
    return {**extra, "name": "Ops", "roles": ["general_affairs"],
            "channels": {"webhook": {"address": url}}}


@pytest.mark.parametrize("url", INTERNAL)
async def test_internal_urls_are_refused_at_registration(tmp_path: Path, url: str) -> None:
    settings = notify_settings(tmp_path, EMPTY_ROSTER, outbound_url_allowlist=None)
    async with running(settings) as notify:
        callback = await notify.client.put("/api/v1/callbacks/hotline-a", headers=ADMIN,
                                           json={"url": url, "secret": SECRET})
        member = await notify.client.put("/api/v1/roster/members/ops", headers=ADMIN,
                                         json=_member(url))
        roster = await notify.client.put("/api/v1/roster/members", headers=ADMIN,
                                         json=[_member(url, id="ops")])
        listed = (await notify.client.get("/api/v1/callbacks", headers=ADMIN)).json()
    assert callback.status_code == 422, callback.text
    assert callback.json()["errors"][0]["field"] == "url"
    assert "OUTBOUND_URL_ALLOWLIST" in callback.json()["errors"][0]["message"]
    assert member.status_code == 422
    assert member.json()["errors"][0]["field"] == "channels.webhook.address"
    assert roster.status_code == 422
    assert roster.json()["errors"][0]["field"] == "0.channels.webhook.address"
    assert listed["items"] == []


async def test_public_and_allow_listed_urls_are_accepted(tmp_path: Path) -> None:
    settings = notify_settings(tmp_path, EMPTY_ROSTER, outbound_url_allowlist="10.0.0.8:8443")
    async with running(settings) as notify:
        public = await notify.client.put("/api/v1/callbacks/a", headers=ADMIN,
                                         json={"url": "https://8.8.8.8/cb", "secret": SECRET})
        named = await notify.client.put("/api/v1/callbacks/b", headers=ADMIN,
                                        json={"url": "https://10.0.0.8:8443/cb",
                                              "secret": SECRET})
        other_port = await notify.client.put("/api/v1/callbacks/c", headers=ADMIN,
                                             json={"url": "https://10.0.0.8/cb",
                                                   "secret": SECRET})
    assert public.status_code == 200 and named.status_code == 200
    assert other_port.status_code == 422  # the allow-list named a port


async def test_a_roster_file_url_to_loopback_is_refused_at_send_time(tmp_path: Path) -> None:
    """The roster file is not an API: its URLs meet the check when something is sent."""
    async with HttpPeer() as peer:
        hook = f"http://localhost:{peer.port}/ga"
        settings = notify_settings(tmp_path, general_affairs_roster(hook),
                                   outbound_url_allowlist=None)
        async with running(settings) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(notify.sent("dead"))
            [item] = await notify.deliveries(complaint_id="c" * 32)
    assert peer.received == [] and peer.behaviour == {}
    assert item["status"] == "dead" and item["last_error"].startswith("refused:")


async def test_dns_rebinding_gains_nothing(tmp_path: Path) -> None:
    """A name that resolved to a public address at registration and to loopback at send
    time is refused at send time; nothing reaches the loopback peer. (No DNS server runs
    here, so the name's two answers come from a resolver given to the guard.)"""
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"], ["127.0.0.1"]])

    async def rebinding(_host: str, _port: int) -> list[str]:
        return next(answers)

    async with HttpPeer() as peer:
        settings = notify_settings(tmp_path, EMPTY_ROSTER, outbound_url_allowlist=None)
        async with running(settings) as notify:
            notify.app.state.guard.resolver = rebinding
            put = await notify.client.put(
                "/api/v1/roster/members/ops", headers=ADMIN,
                json=_member(f"http://hooks.rebind.test:{peer.port}/ga"))
            assert put.status_code == 200, put.text
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(notify.sent("dead"))
            [item] = await notify.deliveries(complaint_id="c" * 32)
    assert peer.received == [] and peer.behaviour == {}
    assert "127.0.0.1" in item["last_error"] and item["last_error"].startswith("refused:")


async def test_last_error_never_carries_the_peers_words(tmp_path: Path) -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/ga"] = Behaviour(status=403, fail_times=None)
        peer.behaviour["/robot"] = Behaviour(
            status=200, body={"errcode": 310000, "errmsg": "internal-secret-token-5f2"})
        roster = general_affairs_roster(peer.url("/ga")).replace(
            'webhook = "', f'dingtalk = "{peer.url("/robot")}", webhook = "')
        async with running(notify_settings(tmp_path, roster)) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(lambda: notify.count("dead") == 2)
            items = {i["channel"]: i for i in await notify.deliveries(complaint_id="c" * 32)}
    assert items["webhook"]["last_error"] == "HTTP 403 Forbidden"
    assert items["dingtalk"]["last_error"] == "dingtalk error 310000"
    assert all("failing on purpose" not in i["last_error"] and "internal-secret" not in
               i["last_error"] for i in items.values())
