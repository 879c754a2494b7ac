"""Each channel against a real local peer of its protocol; signatures are recomputed here
from the documented algorithms, not with the service's own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import time
from pathlib import Path
from typing import Any

from shared.events.schemas import CaseUpdated, ComplaintTriaged
from tests.notify.peers import (
    ADMIN,
    NOW,
    Behaviour,
    HttpPeer,
    SmtpPeer,
    notify_settings,
    running,
    self_signed,
    triaged,
)

ROUTING = """
[routing]
1 = ["leadership_group"]
2 = ["leadership_group"]
3 = ["leadership_group"]
4 = ["leadership_group"]
[digest]
levels = []
"""


def member(channels: str) -> str:
    return f'[[member]]\nid = "leader"\nroles = ["leadership_group"]\nchannels = {{ {channels} }}\n'


async def test_webhook_is_json_signed_with_hmac_sha256_and_a_timestamp(tmp_path: Path) -> None:
    secret = "whsec-0123456789abcdef"
    async with HttpPeer() as peer:
        roster = member(f'webhook = {{ address = "{peer.url("/hook")}", secret = "{secret}" }}')
        async with running(notify_settings(tmp_path, roster + ROUTING)) as notify:
            await notify.publish(triaged(1), "c" * 32)
            got = await peer.next()
    timestamp = got.headers["x-beacon-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + got.body,
                        hashlib.sha256).hexdigest()
    assert got.headers["x-beacon-signature"] == f"sha256={expected}"
    body = got.json()
    assert got.headers["x-beacon-delivery"] == body["id"]
    assert body["type"] == ComplaintTriaged.topic
    assert body["data"]["response_level"] == 1
    assert body["ack_url"].startswith("https://beacon.test/api/v1/notifications/ack?token=")


async def test_sms_goes_through_the_configured_http_gateway(tmp_path: Path) -> None:
    async with HttpPeer() as peer:
        settings = notify_settings(tmp_path, member('sms = "13800000000"') + ROUTING,
                                   sms_url=peer.url("/sms/send"), sms_token="gw-token",
                                   sms_sign="投诉中心")
        async with running(settings) as notify:
            await notify.publish(triaged(1), "c" * 32)
            got = await peer.next()
    assert got.headers["authorization"] == "Bearer gw-token"
    body = got.json()
    assert body["to"] == "13800000000" and body["sign"] == "投诉中心"
    assert "一级投诉" in body["text"] and "ack?token=" in body["text"]


async def test_dingtalk_robot_markdown_with_its_signature(tmp_path: Path) -> None:
    secret = "SEC0123456789abcdef"
    async with HttpPeer() as peer:
        url = peer.url("/robot/send") + "?access_token=tok"
        roster = member(f'dingtalk = {{ address = "{url}", secret = "{secret}" }}')
        async with running(notify_settings(tmp_path, roster + ROUTING)) as notify:
            await notify.publish(triaged(1), "c" * 32)
            got = await peer.next()
    timestamp = got.query["timestamp"]
    # DingTalk: sign = base64(HmacSHA256(key=secret, "<timestamp>\n<secret>")), URL-encoded
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    assert got.query["sign"] == base64.b64encode(mac.digest()).decode()
    assert got.query["access_token"] == "tok"
    assert abs(int(timestamp) / 1000 - time.time()) < 60
    body = got.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"].startswith("【一级投诉】")
    assert "### 【一级投诉】" in body["markdown"]["text"]


async def test_feishu_robot_text_with_its_signature(tmp_path: Path) -> None:
    secret = "feishu-secret-0123"
    async with HttpPeer() as peer:
        peer.behaviour["/hook/v2"] = peer_ok = _ok({"code": 0, "msg": "success"})
        roster = member(f'feishu = {{ address = "{peer.url("/hook/v2")}", secret = "{secret}" }}')
        async with running(notify_settings(tmp_path, roster + ROUTING)) as notify:
            await notify.publish(triaged(1), "c" * 32)
            got = await peer.next()
    assert peer_ok.seen == 1
    body = got.json()
    # Feishu: sign = base64(HmacSHA256(key="<timestamp>\n<secret>", message=empty))
    mac = hmac.new(f"{body['timestamp']}\n{secret}".encode(), b"", hashlib.sha256)
    assert body["sign"] == base64.b64encode(mac.digest()).decode()
    assert body["msg_type"] == "text" and "一级投诉" in body["content"]["text"]


async def test_wecom_robot_markdown(tmp_path: Path) -> None:
    async with HttpPeer() as peer:
        roster = member(f'wecom = "{peer.url("/cgi-bin/webhook/send")}?key=k1"')
        async with running(notify_settings(tmp_path, roster + ROUTING)) as notify:
            await notify.publish(triaged(1), "c" * 32)
            got = await peer.next()
            await notify.outcomes.until(notify.sent())
    assert got.query == {"key": "k1"}
    body = got.json()
    assert body["msgtype"] == "markdown" and "一级投诉" in body["markdown"]["content"]


async def test_a_robot_error_code_is_a_failed_delivery(tmp_path: Path) -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/robot/send"] = _ok({"errcode": 310000, "errmsg": "sign not match"})
        roster = member(f'dingtalk = "{peer.url("/robot/send")}?access_token=t"')
        async with running(notify_settings(tmp_path, roster + ROUTING)) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(notify.sent("dead"))
            [item] = await notify.deliveries(complaint_id="c" * 32)
    assert item["status"] == "dead" and item["attempts"] == 1  # refused for good: no retry
    assert "310000" in item["last_error"]


async def test_email_over_plain_smtp(tmp_path: Path) -> None:
    with SmtpPeer() as smtp:
        settings = notify_settings(tmp_path, member('email = "leader@example.org"') + ROUTING,
                                   smtp_port=smtp.port, smtp_sender="beacon@example.org")
        async with running(settings) as notify:
            await notify.publish(triaged(1), "c" * 32)
            mail = await smtp.next()
    assert mail["To"] == "leader@example.org" and mail["From"] == "beacon@example.org"
    assert "一级投诉" in str(mail["Subject"])
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes) and "定级理由" in payload.decode()
    assert smtp.mailbox.tls_used == [False]


async def test_email_over_starttls_verifying_the_servers_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    with SmtpPeer(tls=server_tls) as smtp:
        settings = notify_settings(tmp_path, member('email = "leader@example.org"') + ROUTING,
                                   smtp_port=smtp.port, smtp_tls="starttls",
                                   smtp_ca_file=cert)
        async with running(settings) as notify:
            await notify.publish(triaged(1), "c" * 32)
            mail = await smtp.next()
            await notify.outcomes.until(notify.sent())
    assert mail["To"] == "leader@example.org"
    assert smtp.mailbox.tls_used == [True]


async def test_starttls_with_an_untrusted_certificate_is_not_sent(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    with SmtpPeer(tls=server_tls) as smtp:
        settings = notify_settings(tmp_path, member('email = "leader@example.org"') + ROUTING,
                                   smtp_port=smtp.port, smtp_tls="starttls", max_attempts=2)
        async with running(settings) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(notify.sent("dead"))
            [item] = await notify.deliveries(complaint_id="c" * 32)
    assert "CERTIFICATE_VERIFY_FAILED" in item["last_error"] or "certificate" in (
        item["last_error"].lower())
    assert smtp.queue.empty()


async def test_the_hotline_that_filed_a_complaint_is_called_back_on_status_changes(
    tmp_path: Path,
) -> None:
    secret = "hotline-a-callback-secret"
    async with HttpPeer() as peer, running(
            notify_settings(tmp_path, member('log = "l"') + ROUTING)) as notify:
        answer = await notify.client.put("/api/v1/callbacks/hotline-a", headers=ADMIN, json={
            "url": peer.url("/status"), "secret": secret})
        assert answer.status_code == 200, answer.text
        await notify.publish(triaged(1, submitted_by="hotline-a"),
                             "c" * 32)
        first = await peer.next()
        await notify.publish(CaseUpdated(
            case_id="k" * 32, complaint_id="c" * 32, action="state_changed",
            state="investigating", response_level=1, actor="ops", at=NOW,
            submitted_by="hotline-a"), "c" * 32)
        second = await peer.next()
    for got in (first, second):
        expected = hmac.new(secret.encode(), got.headers["x-beacon-timestamp"].encode() + b"."
                            + got.body, hashlib.sha256).hexdigest()
        assert got.headers["x-beacon-signature"] == f"sha256={expected}"
    assert first.json()["status"] == "triaged" and first.json()["complaint_id"] == "c" * 32
    assert second.json()["status"] == "in_progress"
    assert second.json()["state"] == "investigating"
    assert "content" not in first.json()  # a status, never the complaint or complainant


def _ok(body: dict[str, Any]) -> Behaviour:
    return Behaviour(fail_times=0, body=body)
