"""Routing by category as well as by level (法务部协助处理 …), the 媒体投诉登记表 e-mailed to
general affairs when a media complaint's full-account clock fires, and the hotline callback
of a transfer out of the organisation's jurisdiction (转交相关单位)."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from notify_svc.roster import RosterError, parse_roster
from notify_svc.templating import Templates
from shared.events.schemas import CaseEscalated, MediaForm, MediaInterview, MediaMention
from tests.notify.peers import ADMIN, NOW, HttpPeer, SmtpPeer, notify_settings, running, triaged
from tests.notify.test_callbacks import SECRET, updated, verified

CATEGORY_ROSTER = """
[[member]]
id = "owner"
roles = ["case_owner"]
channels = { log = "owner" }
[[member]]
id = "legal"
roles = ["legal_department"]
channels = { log = "legal" }
[[member]]
id = "safety"
roles = ["safety_officer"]
channels = { log = "safety" }
[routing]
1 = ["case_owner"]
2 = ["case_owner"]
3 = ["case_owner"]
4 = ["case_owner"]
[digest]
levels = [4]
[category]
legal = ["legal_department"]
safety = ["safety_officer"]
"""


async def test_a_category_reaches_its_role_at_once_besides_the_level(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, CATEGORY_ROSTER)) as notify:
        legal = triaged(4, complaint_id="l" * 32).model_copy(update={"category": "legal"})
        await notify.publish(legal, "l" * 32)
        billing = triaged(3, complaint_id="b" * 32).model_copy(update={"category": "billing"})
        await notify.publish(billing, "b" * 32)
        legal_sent = await notify.deliveries(complaint_id="l" * 32)
        billing_sent = await notify.deliveries(complaint_id="b" * 32)
    by_recipient = {d["recipient"]: d["status"] for d in legal_sent}
    # The level-4 owner waits for the digest; the legal department is told now.
    assert by_recipient["owner"] == "batched"
    assert by_recipient["legal"] != "batched"
    assert "safety" not in by_recipient
    assert {d["recipient"] for d in billing_sent} == {"owner"}  # no category role


def test_an_unknown_category_in_the_roster_is_refused() -> None:
    text = CATEGORY_ROSTER + 'fax = ["x"]\n'
    with pytest.raises(RosterError, match="unknown category fax"):
        parse_roster(tomllib.loads(text), "roster.toml", text)


def test_the_shipped_roster_routes_legal_privacy_and_safety() -> None:
    from notify_svc.roster import load_roster

    rules = load_roster().rules
    assert rules.categories == {"legal": ("legal_department",),
                                "privacy": ("data_protection_officer",),
                                "safety": ("safety_officer",)}


def _media_escalation() -> CaseEscalated:
    hour = dt.timedelta(hours=1)
    form = MediaForm(
        received_at=NOW, media_since=NOW, channel="hotline", subject="宽带断网",
        content="断网三天没人管，我要找记者曝光", location="幸福小区",
        category="after_sales", receiving_department="客服部", receiver="wang.fang",
        state="acknowledged",
        mentions=[MediaMention(source="weibo", url="https://weibo.example/1")],
        interviews=[MediaInterview(at=NOW, place="营业厅", reporter="李记者", outlet="都市晚报",
                                   answers="已安排抢修，今日恢复", topic="断网")])
    return CaseEscalated(
        escalation_id="e" * 32, case_id="k" * 32, complaint_id="c" * 32, response_level=3,
        step=1, step_role="general_affairs", clock="media_account", reason="deadline_missed",
        deadline=NOW + hour, escalated_at=NOW + hour, media_form=form)


async def test_the_media_form_is_rendered_and_emailed_to_general_affairs(
        tmp_path: Path) -> None:
    roster = ('[[member]]\nid = "ga"\nroles = ["general_affairs"]\n'
              'channels = { email = "ga@example.org" }\n[routing]\n'
              + "".join(f'{level} = ["general_affairs"]\n' for level in (1, 2, 3, 4))
              + "[digest]\nlevels = []\n")
    with SmtpPeer() as smtp:
        settings = notify_settings(tmp_path, roster, smtp_port=smtp.port)
        async with running(settings) as notify:
            await notify.publish(_media_escalation(), "c" * 32)
            mail = await smtp.next()
    assert mail["To"] == "ga@example.org"
    assert "媒体投诉登记表" in str(mail["Subject"])
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    for shown in ("《媒体投诉登记表》", "接收部门：客服部", "接收人员：wang.fang",
                  "投诉内容：断网三天没人管，我要找记者曝光", "都市晚报 李记者",
                  "已安排抢修，今日恢复",
                  "weibo https://weibo.example/1", "媒体投诉登记表报综合部"):
        assert shown in body, shown


@pytest.mark.parametrize("language", ["zh", "en"])
def test_only_the_full_account_step_carries_the_form(language: str) -> None:
    templates = Templates("Asia/Shanghai")
    links = {"case": "https://b/c", "ack": "https://b/a"}
    with_form = _media_escalation()
    without = with_form.model_copy(update={"media_form": None, "clock": "media_report",
                                           "step": 0, "step_role": "account_manager"})
    full = templates.render(CaseEscalated.topic, language, {
        "d": with_form.model_dump(mode="json"), "links": links, "drill": False})
    plain = templates.render(CaseEscalated.topic, language, {
        "d": without.model_dump(mode="json"), "links": links, "drill": False})
    assert "都市晚报" in full.text and "媒体投诉登记表" in full.subject
    assert "都市晚报" not in plain.text and "媒体投诉登记表" not in plain.subject


async def test_an_out_of_jurisdiction_transfer_calls_the_hotline_back(tmp_path: Path) -> None:
    roster = ('[[member]]\nid = "x"\nroles = ["leadership_group"]\nchannels = { log = "x" }\n'
              '[routing]\n' + "".join(f'{level} = ["leadership_group"]\n'
                                      for level in (1, 2, 3, 4)) + "[digest]\nlevels = []\n")
    async with HttpPeer() as peer, running(notify_settings(tmp_path, roster)) as notify:
        answer = await notify.client.put("/api/v1/callbacks/hotline-a", headers=ADMIN,
                                         json={"url": peer.url("/status"), "secret": SECRET})
        assert answer.status_code == 200, answer.text
        await notify.publish(updated("transferred", "acknowledged", to_department="市场监管局",
                                     out_of_jurisdiction=True), "c" * 32)
        outside = verified(*(lambda got: (got.body, got.headers))(await peer.next()))
        await notify.publish(updated("transferred", "acknowledged", to_department="财务部"),
                             "c" * 32)
        inside = verified(*(lambda got: (got.body, got.headers))(await peer.next()))
    assert (outside["action"], outside["out_of_jurisdiction"], outside["transferred_to"]) == (
        "transferred", True, "市场监管局")
    assert outside["status"] == "in_progress"
    # A transfer inside the organisation is no news of another unit for the complainant.
    assert "transferred_to" not in inside and inside["sequence"] == outside["sequence"] + 1
