"""Complainant data must not reach logs or events (API.md; 举报投诉安全处置预案 保密原则)."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from tests.support import System, log_lines

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


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_access_lines_and_both_formats_carry_no_personal_data(
    system: System, log_format: str
) -> None:
    """Through Beacon's own handler, as an operator reads it: the access lines of a flow
    whose body and query string hold contact data show neither, in either format."""
    body = {"channel": "hotline", "content": "物业乱收费，我要去12315投诉",
            "complainant": {"name": NAME, "phone": PHONE, "email": EMAIL}}
    with log_lines(log_format) as buffer:
        posted = await system.client.post("/api/v1/complaints", json=body)
        assert posted.status_code == 202
        await system.notified.applied(1)
        # Personal data in a query string (a search by name) must not reach the access line.
        listed = await system.client.get("/api/v1/cases", params={"assignee": NAME,
                                                                  "q": PHONE})
        assert listed.status_code == 200
    written = buffer.getvalue()
    lines = written.splitlines()
    access = [line for line in lines if "beacon.access" in line]
    assert any("POST /api/v1/complaints 202" in line for line in access), written
    assert any("GET /api/v1/cases 200" in line for line in access), written
    for secret in (PHONE, EMAIL, NAME, "assignee="):
        assert secret not in written
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert all(r["service"] for r in records), [r for r in records if not r["service"]]
        assert {"gateway", "intake"} <= {r["service"] for r in records
                                          if r["logger"] == "beacon.access"}
    else:
        assert not written.lstrip().startswith("{")
