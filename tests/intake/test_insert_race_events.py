"""The insert race on PostgreSQL: one complaint filed twice at once under one external_ref
(two replicas) is created once. The loser's insert waits for the winner's, fails on the
unique reference, has its savepoint undone, and answers from the winner's row in the same
unit, with no event of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from intake_svc.models import Complaint, metadata
from intake_svc.schemas import ComplaintIn
from intake_svc.service import Accepted, accept_complaint
from intake_svc.settings import IntakeSettings
from shared.events import Envelope
from shared.privacy import FieldCipher, load_or_create_key_ring, load_or_pin_fingerprint_key
from shared.runtime import ServiceRuntime
from tests.support import eventually, waits_on_a_lock

pytestmark = pytest.mark.postgres


async def test_the_loser_of_an_external_ref_race_answers_from_the_winners_row(
        pg_url: str, pg_schema: str, tmp_path: Path) -> None:
    settings = IntakeSettings(database_url=pg_url, data_dir=tmp_path)
    runtime = ServiceRuntime("intake", settings, metadata, migrations="intake_svc.migrations",
                             schema=pg_schema)
    ring = load_or_create_key_ring(None, tmp_path)
    cipher = FieldCipher(ring, load_or_pin_fingerprint_key(None, ring, tmp_path))
    complaint = ComplaintIn(channel="web", content="发票开错了", external_ref="ref-1")
    await runtime.start()
    try:
        async def file_again() -> tuple[Accepted, list[Envelope]]:
            async with runtime.unit() as unit:
                answer = await accept_complaint(unit, cipher, complaint, owner="hotline",
                                                idempotency_key=None)
                return answer, [event for _, event in unit.emitted]

        async with runtime.unit() as first:
            won = await accept_complaint(first, cipher, complaint, owner="hotline",
                                         idempotency_key=None)
            second = asyncio.create_task(file_again())
            await eventually(lambda: waits_on_a_lock(runtime.db),
                             "the second insert waits for the first's")
        lost, lost_events = await second
        async with runtime.db.session() as session:
            rows = await session.scalar(select(func.count()).select_from(Complaint))
    finally:
        await runtime.stop()
    assert won.created and not lost.created
    assert lost.complaint_id == won.complaint_id
    assert lost_events == [] and rows == 1
