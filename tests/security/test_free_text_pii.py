"""Issue 13, point 4: personal data typed into a complaint's text. Callers without pii:read
see it masked; the rows, the outbox, the events and every database file hold it masked (the
text as typed only sealed); a pii:read caller and the console's reveal see it in clear;
triage still levels the complaint."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import PASSWORD, ConsoleWorld, System, sign_in

PHONE, ID_NUMBER, EMAIL, CARD = ("13812345678", "11010519491231002X",
                                 "wang.wu@example.com", "6222021234567894")
RAW = (PHONE, ID_NUMBER, EMAIL, CARD)
TEXT = (f"热水器爆炸，有人受伤住院。我是王五，电话{PHONE}，身份证{ID_NUMBER}，"
        f"邮箱{EMAIL}，退款请打到卡号{CARD}")
SUBJECT = f"热水器爆炸 回电{PHONE}"


def _files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


async def _file(system: System) -> str:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": TEXT, "subject": SUBJECT})
    assert posted.status_code == 202, posted.text
    complaint_id: str = posted.json()["id"]
    await system.notified.applied(1)
    return complaint_id


async def test_callers_without_pii_read_see_the_text_masked(system: System) -> None:
    complaint_id = await _file(system)
    masked = await system.client.get(f"/api/v1/complaints/{complaint_id}",
                                     headers=system.as_key("operator"))
    assert masked.status_code == 200
    body = masked.json()
    for raw in RAW:
        assert raw not in body["content"] and raw not in (body["subject"] or "")
    assert "138****5678" in body["content"] and "138****5678" in body["subject"]
    assert "************7894" in body["content"]
    clear = (await system.client.get(f"/api/v1/complaints/{complaint_id}",
                                     headers=system.as_key("operator-pii"))).json()
    assert clear["content"] == TEXT and clear["subject"] == SUBJECT


async def test_triage_still_levels_the_masked_text(system: System) -> None:
    complaint_id = await _file(system)
    view = (await system.client.get(f"/api/v1/complaints/{complaint_id}")).json()
    case = (await system.client.get(f"/api/v1/cases/{view['case']['id']}")).json()
    # 有人受伤住院 makes it level 1 or 2 with a safety reason, with or without the numbers.
    assert case["response_level"] <= 2 and case["category"] == "safety"
    assert not any(raw in reason for reason in case["level_reasons"] for raw in RAW)


async def test_no_table_outbox_event_or_database_file_holds_it_in_clear(
        system: System, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    complaint_id = await _file(system)
    intake = system.embedded.services["intake"].state.runtime
    complaints = intake.metadata.tables["intake_complaints"]
    outbox = intake.metadata.tables["intake_outbox"]
    sealed = intake.metadata.tables["intake_sealed_text"]
    async with intake.db.session() as session:
        row = (await session.execute(select(complaints).where(
            complaints.c.id == complaint_id))).one()
        events = (await session.execute(select(outbox))).all()
        seal = (await session.execute(select(sealed))).one()
    assert "138****5678" in row.content
    assert events and not any(raw in repr(tuple(e)) for e in events for raw in RAW)
    assert not any(raw.encode() in seal.content for raw in RAW)
    # Every service's SQLite files, WAL included, and every log line.
    files = await asyncio.to_thread(_files_in, tmp_path)
    assert any(name.endswith("-wal") for name in files)
    for name, data in files.items():
        for raw in RAW:
            assert raw.encode() not in data, f"{raw} in clear in {name}"
    for raw in RAW:
        assert raw not in caplog.text


async def test_the_console_reveal_shows_the_text_as_typed(world: ConsoleWorld) -> None:
    complaint_id = await _file(world.system)
    view = (await world.system.client.get(f"/api/v1/complaints/{complaint_id}")).json()
    case_id = view["case"]["id"]
    async with world.browser() as browser:
        await sign_in(browser, "duty", PASSWORD)
        page = await browser.get(f"/cases/{case_id}")
        assert page.status_code == 200 and PHONE not in page.text
        assert "138****5678" in page.text
    async with world.browser() as browser:
        token = await sign_in(browser, "duty-pii", PASSWORD)
        page = await browser.get(f"/cases/{case_id}")
        assert PHONE not in page.text  # masked until revealed
        shown = await browser.post(f"/cases/{case_id}/reveal", data={"csrf_token": token})
        assert shown.status_code == 200
        for raw in RAW:
            assert raw in shown.text
