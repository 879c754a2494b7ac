"""Every event type renders in Chinese and English for every channel family, with the level,
category, deadlines, reasons and links, and never anything about the complainant."""

from __future__ import annotations

import pytest

from notify_svc.models import DIGEST_EVENT_TYPE
from notify_svc.templating import BLOCKS, Templates
from shared.events.schemas import (
    CaseEscalated,
    ComplaintTriaged,
    IncidentOpened,
    IncidentUpdated,
    RectificationOverdue,
    StatementApproved,
)
from tests.notify.peers import NOW, triaged

LINKS = {"base": "https://b", "case": "https://b/api/v1/cases/k", "ack": "https://b/ack?t=1",
         "incident": "https://b/api/v1/incidents/i", "statement": "https://b/api/v1/statements/s"}

CASES = {
    ComplaintTriaged.topic: triaged(1, department="售后服务部").model_dump(mode="json"),
    CaseEscalated.topic: CaseEscalated(
        escalation_id="e", case_id="k", complaint_id="c", response_level=1, step=2,
        step_role="leadership_group", clock="report", reason="not_acknowledged", deadline=NOW,
        escalated_at=NOW, skipped_role="general_affairs").model_dump(mode="json"),
    IncidentOpened.topic: IncidentOpened(
        incident_id="i", kind="public_opinion", response_level=1, summary="微博负面集中",
        opened_at=NOW, mention_ids=["m"]).model_dump(mode="json"),
    IncidentUpdated.topic: IncidentUpdated(
        incident_id="i", kind="group", action="raised", response_level=1, previous_level=2,
        summary="群体投诉", opened_at=NOW, updated_at=NOW, complaint_count=31,
        mention_count=0).model_dump(mode="json"),
    StatementApproved.topic: StatementApproved(
        statement_id="s", title="说明", text="公司正在处理。", approved_by="leader",
        approved_at=NOW).model_dump(mode="json"),
    RectificationOverdue.topic: RectificationOverdue(
        rectification_id="r", case_id="k", complaint_id="c", action="更换营业厅叫号系统",
        owner="wang.fang", due_at=NOW, overdue_at=NOW).model_dump(mode="json"),
    DIGEST_EVENT_TYPE: {"items": [triaged(4).model_dump(mode="json")] * 2},
}


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("event_type", list(CASES))
def test_every_event_type_renders_in_both_languages(event_type: str, language: str) -> None:
    message = Templates("Asia/Shanghai").render(
        event_type, language, {"d": CASES[event_type], "links": LINKS, "drill": False})
    for block in BLOCKS:
        assert getattr(message, block), f"{block} is empty"
    assert "https://b" in message.text and "ack" in message.sms + message.text


def test_triaged_shows_level_category_reasons_deadlines_and_case_link() -> None:
    zh = Templates("Asia/Shanghai").render(ComplaintTriaged.topic, "zh", {
        "d": CASES[ComplaintTriaged.topic], "links": LINKS, "drill": True})
    assert zh.subject.startswith("【演练】【一级投诉】安全隐患（售后服务部）")
    for expected in ("有人受伤住院", "办结时限：2026-03-03 09:00", LINKS["case"], LINKS["ack"]):
        assert expected in zh.text


def test_a_raised_incident_says_from_which_level() -> None:
    zh = Templates("Asia/Shanghai").render(IncidentUpdated.topic, "zh", {
        "d": CASES[IncidentUpdated.topic], "links": LINKS, "drill": False})
    assert "升级为一级" in zh.subject and "原二级" in zh.text and "31 件" in zh.text


def test_an_overdue_rectification_names_the_action_owner_and_deadline() -> None:
    for language, words in (("zh", ("整改措施：更换营业厅叫号系统", "责任人：wang.fang")),
                            ("en", ("Corrective action: 更换营业厅叫号系统", "Owner: wang.fang"))):
        message = Templates("Asia/Shanghai").render(RectificationOverdue.topic, language, {
            "d": CASES[RectificationOverdue.topic], "links": LINKS, "drill": False})
        assert all(word in message.text for word in words), message.text
        assert LINKS["case"] in message.text and LINKS["incident"] not in message.text
