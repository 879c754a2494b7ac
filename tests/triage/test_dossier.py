"""The dossier (归档资料) as JSON and as PDF: every part of the record, personal data in
free text only for a caller with pii:read, Chinese text that survives pdftotext."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.pii_text import mask_text
from shared.privacy import mask_email
from tests.support import System, file_case, pdf_text


async def _post(system: System, case_id: str, action: str, body: dict[str, Any]) -> None:
    answer = await system.client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                                      headers=system.as_key("operator"))
    assert answer.status_code == 200, answer.text


PHONE, EMAIL = "13812345678", "zhang.san@example.com"
CONTENT = f"发票开错了，需要重新开具，请回电 {PHONE} 或发邮件 {EMAIL}"


async def _full_case(system: System) -> str:
    case_id = await file_case(system, CONTENT, people_count=6)  # 6 people: a group incident
    await _post(system, case_id, "acknowledge", {"note": "值班员已接"})
    await _post(system, case_id, "plan", {"method": "核对后重开发票", "owner": "wang.fang",
                                          "due_at": "2099-01-01T10:00:00+08:00"})
    await _post(system, case_id, "investigation", {
        "findings": f"开票员录错税号，已致电 {PHONE} 核实", "root_cause": "系统未校验税号",
        "evidence": [{"name": "开票记录", "url": "https://files.example.com/1.pdf"}]})
    await _post(system, case_id, "opinion", {"text": "重开发票并致歉"})
    await _post(system, case_id, "answer", {"text": "已为您重开发票，快递已寄出"})
    await _post(system, case_id, "follow-up", {"satisfaction": 4, "note": "基本满意"})
    await _post(system, case_id, "state", {"state": "closed"})
    await _post(system, case_id, "archive", {})
    return case_id


async def test_the_dossier_holds_the_whole_record_and_masks_without_pii(
        system: System) -> None:
    case_id = await _full_case(system)
    shown = await system.client.get(f"/api/v1/cases/{case_id}/dossier",
                                    headers=system.as_key("operator-pii"))
    assert shown.status_code == 200, shown.text
    dossier = shown.json()
    assert dossier["personal_data"] == "shown"
    # Intake masks personal data typed into a complaint before any event carries it (the
    # text as typed stays sealed there, GET /api/v1/complaints/{id}): triage never had it.
    assert dossier["registration"]["content"] == mask_text(CONTENT)
    # What operators typed into the case file itself is shown in clear with pii:read.
    assert PHONE in dossier["investigations"][0]["body"]["findings"]
    assert dossier["registration"]["people_count"] == 6
    assert dossier["plans"][0]["body"]["owner"] == "wang.fang"
    assert dossier["investigations"][0]["body"]["evidence"][0]["name"] == "开票记录"
    assert dossier["opinions"][0]["body"]["text"] == "重开发票并致歉"
    assert dossier["answers"][0]["text"].startswith("已为您重开发票")
    assert [(f["satisfaction"], f["note"]) for f in dossier["follow_ups"]] == [(4, "基本满意")]
    assert dossier["case"]["archived_at"] is not None and dossier["case"]["owner"] == "ops"
    assert dossier["timeline"][0]["action"] == "triaged"
    assert dossier["timeline"][-1]["action"] == "archived"
    assert {e["clock"] for e in dossier["escalations"]} >= {"plan", "resolve"}
    assert [a["actor"] for a in dossier["acknowledgements"]][:1] == ["ops"]
    assert dossier["incident"]["kind"] == "group"
    assert dossier["case"]["complaint_id"] in dossier["incident"]["complaint_ids"]
    assert dossier["mentions"] == []
    assert "notify" in dossier["notifications"]

    masked = await system.client.get(f"/api/v1/cases/{case_id}/dossier",
                                     headers=system.as_key("operator"))
    assert masked.status_code == 200
    assert masked.json()["personal_data"] == "masked"
    assert PHONE not in masked.text and EMAIL not in masked.text
    assert "138****5678" in masked.json()["registration"]["content"]
    assert "138****5678" in masked.json()["investigations"][0]["body"]["findings"]
    assert mask_email(EMAIL) in masked.json()["registration"]["content"]
    assert masked.json()["case"]["id"] == case_id  # identifiers are left alone

    assert (await system.client.get("/api/v1/cases/nope/dossier")).status_code == 404
    bad = await system.client.get(f"/api/v1/cases/{case_id}/dossier?format=docx")
    assert bad.status_code == 422
    hotline = await system.client.get(f"/api/v1/cases/{case_id}/dossier",
                                      headers=system.as_key("hotline-a"))
    assert hotline.status_code == 403


async def test_the_pdf_embeds_a_cjk_font_and_keeps_chinese_and_masking(
        system: System, tmp_path: Path) -> None:
    case_id = await _full_case(system)
    shown = await system.client.get(f"/api/v1/cases/{case_id}/dossier?format=pdf",
                                    headers=system.as_key("operator-pii"))
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.content.startswith(b"%PDF-")
    text = pdf_text(shown.content, tmp_path)
    for words in ("投诉案件档案", "投诉登记表", "调查报告", "处理意见", "反馈记录", "回访",
                  "系统未校验税号", "重开发票并致歉", "已为您重开发票", "个人信息已显示"):
        assert words in text, words
    assert PHONE in text
    # The CJK font is embedded (a CFF program, FontFile3), not merely named.
    assert b"NotoSansCJKSC" in shown.content and b"/FontFile3" in shown.content

    masked = await system.client.get(f"/api/v1/cases/{case_id}/dossier?format=pdf",
                                     headers=system.as_key("operator"))
    text = pdf_text(masked.content, tmp_path)
    assert "个人信息已隐藏" in text and "调查报告" in text
    assert PHONE not in text and EMAIL not in text
    assert "138****5678" in text
