"""Retention: once the retention period has passed since a case was archived, intake purges
its complaint's personal data (the sealed fields and text are deleted, so nothing can ever
decrypt them), reads answer cleanly with the data shown as purged, triage masks its own
free text for good, and the statistics still count the cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from intake_svc import retention
from intake_svc.models import ArchivedComplaint, Complaint, SealedText
from shared.runtime import ServiceRuntime
from tests.support import System, eventually, file_case

PHONE = "13812345678"
PERSON = {"name": "张三", "phone": PHONE, "email": "zhang.san@example.com",
          "id_number": "110105199001011234"}


def _runtime(system: System, service: str) -> ServiceRuntime:
    runtime: ServiceRuntime = system.embedded.services[service].state.runtime
    return runtime


async def _post(system: System, case_id: str, action: str, body: dict[str, Any]) -> None:
    answer = await system.client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                                      headers=system.as_key("operator"))
    assert answer.status_code == 200, answer.text


async def _archived(system: System, content: str) -> str:
    case_id = await file_case(system, content, complainant=PERSON)
    for action, body in (("acknowledge", {}), ("investigation", {
            "findings": f"已致电 {PHONE} 核实", "root_cause": "开票系统未校验"}),
            ("opinion", {"text": "重开发票"}), ("answer", {"text": f"已回电 {PHONE}"}),
            ("follow-up", {"satisfaction": 4}),
            ("cause-analysis", {"cause": "同一问题第二次", "prevention": "加校验"}),
            ("state", {"state": "closed"}), ("archive", {})):
        await _post(system, case_id, action, body)
    return case_id


async def _complaint_id(system: System, case_id: str) -> str:
    found: str = (await system.client.get(f"/api/v1/cases/{case_id}")).json()["complaint_id"]
    return found


async def test_an_archived_complaint_s_personal_data_is_purged_after_retention(
        system: System) -> None:
    intake = _runtime(system, "intake")
    first = await _archived(system, f"发票开错了，请回电 {PHONE}")
    second = await _archived(system, "发票又开错了")  # the same complainant: a repeat
    complaints = [await _complaint_id(system, c) for c in (first, second)]

    async def remembered() -> list[ArchivedComplaint] | None:
        async with intake.db.session() as session:
            rows = list((await session.scalars(select(ArchivedComplaint))).all())
        return rows if len(rows) == 2 else None

    archived = await eventually(remembered, "intake learns of both archives")
    # Not due yet: the retention period (PII_RETENTION_DAYS, 3 years) has not passed.
    async with intake.unit() as unit:
        assert await retention.purge_due(unit) == 0
    due = max(a.purge_after for a in archived)
    assert due - max(a.archived_at for a in archived) == timedelta(days=3 * 365)
    async with intake.unit() as unit:
        assert await retention.purge_due(unit, due + timedelta(seconds=1)) == 2
    async with intake.unit() as unit:
        assert await retention.purge_due(unit, due + timedelta(days=1)) == 0

    # The ciphertext is gone: no key of the ring can open what no longer exists.
    async with intake.db.session() as session:
        row = await session.get(Complaint, complaints[0])
        assert row is not None and row.purged_at is not None
        assert (row.complainant_name, row.complainant_phone, row.complainant_email,
                row.complainant_id_number, row.complainant_key) == (None,) * 5
        assert await session.scalar(select(func.count()).select_from(SealedText).where(
            SealedText.complaint_id.in_(complaints))) == 0
        assert PHONE not in (row.content + str(row.attachments))

    async def purged_in_triage() -> dict[str, Any] | None:
        case: dict[str, Any] = (await system.client.get(f"/api/v1/cases/{first}")).json()
        return case if case["personal_data_purged_at"] else None

    case = await eventually(purged_in_triage, "triage hears of the purge")
    # Reads answer cleanly: the complaint shows no complainant, and says it was purged;
    # its case's answers are masked now.
    read = await system.client.get(f"/api/v1/complaints/{complaints[0]}",
                                   headers=system.as_key("operator-pii"))
    assert read.status_code == 200, read.text
    assert read.json()["complainant"] is None and read.json()["purged_at"] is not None
    assert PHONE not in read.text and "138****5678" in read.json()["content"]

    assert case["timeline"][-1]["action"] == "personal_data_purged"
    dossier = await system.client.get(f"/api/v1/cases/{first}/dossier",
                                      headers=system.as_key("operator-pii"))
    assert dossier.status_code == 200 and dossier.json()["personal_data"] == "purged"
    assert PHONE not in dossier.text  # masked for good, even for pii:read
    pdf = await system.client.get(f"/api/v1/cases/{first}/dossier?format=pdf",
                                  headers=system.as_key("operator-pii"))
    assert pdf.status_code == 200

    # The statistics count what remains: both cases, one complainant with two of them.
    now = datetime.now(UTC)
    report = (await system.client.get("/api/v1/reports/hotspots", params={
        "from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(hours=1))
        .isoformat()})).json()
    assert report["total"]["count"] == 2
    assert (report["repeat_complainants"]["complainants"],
            report["repeat_complainants"]["cases"]) == (1, 2)
    stats = (await system.client.get("/api/v1/cases/stats")).json()
    assert stats["by_state"]["closed"] == 2
