"""The case page's case file: plan, investigation, opinion, transfer, follow-up impossible
and archive through the forms (the API's own refusals shown), the record on the page, and
the dossier PDF through the console (masked for a user without a reveal)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support import PASSWORD, ConsoleWorld, file_case, pdf_text, sign_in

PHONE = "13912345678"


async def _case(world: ConsoleWorld, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await world.system.client.get(f"/api/v1/cases/{case_id}")).json()
    return found


async def test_the_case_file_forms_record_and_show_the_record(world: ConsoleWorld,
                                                              tmp_path: Path) -> None:
    case_id = await file_case(world.system, f"发票开错了，请回电 {PHONE}")
    async with world.browser() as browser:
        token = await sign_in(browser, "duty", PASSWORD)

        async def do(action: str, **form: str) -> str:
            answer = await browser.post(f"/cases/{case_id}/do/{action}",
                                        data={"csrf_token": token, **form})
            assert answer.status_code == 200, answer.text
            return answer.text

        page = (await browser.get(f"/cases/{case_id}")).text
        for button in ("do-plan", "do-investigation", "do-opinion", "do-transfer",
                       "do-follow-up-impossible", "do-archive"):
            assert f'id="{button}"' in page, button
        # A fresh case shows the common actions; its case file is folded away until the
        # case is under investigation.
        assert 'id="actions-handle"' in page and 'id="actions-file">' in page
        await do("acknowledge")
        await do("state", state="investigating")
        page = (await browser.get(f"/cases/{case_id}")).text
        assert 'id="actions-file" open>' in page and 'id="actions-lessons">' in page
        panel = await do("plan", method="核对后重开发票", owner="wang.fang",
                         due_at="2099-01-01T10:00")
        assert "核对后重开发票" in panel and 'id="plan-due-at"' in panel
        await do("investigation", findings="税号录错", root_cause="系统未校验",
                 evidence_name="开票记录", evidence_url="https://files.example.com/1.pdf")
        bad = await browser.post(f"/cases/{case_id}/do/investigation", data={
            "csrf_token": token, "findings": "f", "root_cause": "r",
            "evidence_url": "javascript:alert(1)"})
        assert bad.status_code == 422 and "Refused" not in bad.text  # zh: 被拒绝
        await do("opinion", text="重开发票并致歉")
        panel = await do("transfer", to_department="财务部", to_owner="qian.hua",
                         reason="开票属财务部")
        assert 'id="case-owner">qian.hua' in panel
        refused = await browser.post(f"/cases/{case_id}/do/state", data={
            "csrf_token": token, "state": "closed"})
        assert refused.status_code == 409
        await do("answer", text="已重开")
        await do("follow-up-impossible", reason="电话停机")
        await do("state", state="closed")
        panel = await do("archive")
        assert 'id="archived-badge"' in panel

        case = await _case(world, case_id)
        assert case["owner"] == "qian.hua" and case["archived_at"] is not None
        [plan] = [r for r in case["records"] if r["kind"] == "plan"]
        assert datetime.fromisoformat(plan["body"]["due_at"]) == datetime(  # console's zone
            2099, 1, 1, 2, 0, tzinfo=UTC)
        [inv] = [r for r in case["records"] if r["kind"] == "investigation"]
        assert inv["body"]["evidence"] == [{"name": "开票记录",
                                            "url": "https://files.example.com/1.pdf"}]
        page = (await browser.get(f"/cases/{case_id}")).text
        assert 'id="archived-note"' in page and 'id="do-plan"' not in page
        assert "调查核实" in page and "处理意见" in page  # zh labels of the records

        dossier = await browser.get(f"/cases/{case_id}/dossier.pdf")
        assert dossier.status_code == 200 and dossier.content.startswith(b"%PDF-")
        assert dossier.headers["content-type"] == "application/pdf"
        text = pdf_text(dossier.content, tmp_path)
        assert "投诉案件档案" in text and PHONE not in text and "139****5678" in text
