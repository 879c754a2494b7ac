"""Complainant data must not reach logs or events (API.md; 举报投诉安全处置预案 保密原则)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from tests.support import System

PHONE, EMAIL, NAME = "13798765432", "wang.wu@example.com", "王五"


async def test_posted_contact_data_is_in_no_log_line_and_no_event(
    system: System, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"channel": "hotline", "content": "物业乱收费，我要去12315投诉",
            "complainant": {"name": NAME, "phone": PHONE, "email": EMAIL}}
    bad = {**body, "complainant": {"phone": PHONE + "x", "email": "not-an-email"}}
    assert (await system.client.post("/api/v1/complaints", json=bad)).status_code == 422
    posted = await system.client.post("/api/v1/complaints", json=body)
    await system.notified.applied(1)
    await system.client.get(f"/api/v1/complaints/{posted.json()['id']}")

    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert "complaint" in logged  # the capture did see the flow
    for secret in (PHONE, EMAIL, NAME):
        assert secret not in logged

    intake = system.embedded.services["intake"].state.runtime
    async with intake.db.session() as session:
        envelopes = (await session.scalars(select(intake.outbox.c.envelope))).all()
        stored = (await session.execute(select(intake.metadata.tables["intake_complaints"])))
        row = stored.mappings().one()
    assert envelopes and all(PHONE not in e and NAME not in e for e in envelopes)
    assert PHONE.encode() not in row["complainant_phone"]
    assert NAME.encode() not in row["complainant_name"]
