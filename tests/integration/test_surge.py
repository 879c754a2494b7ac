"""The 12345 hotline plan: intake keeps accepting while the broker is down, and everything
it accepted is triaged, once, when the broker returns."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from deploy.tansu import Tansu
from intake_svc.main import create_app as create_intake
from intake_svc.settings import IntakeSettings
from shared.caller import Caller
from shared.privacy import new_key_ring_spec
from shared.settings import BusSettings
from tests.support import Tally, as_gateway
from triage_svc.main import create_app as create_triage
from triage_svc.models import Case
from triage_svc.settings import TriageSettings

COMPLAINTS = 1000


@pytest.mark.kafka
async def test_broker_outage_loses_and_doubles_nothing(own_tansu: Tansu, tmp_path: Path) -> None:
    bus = BusSettings(kind="kafka", kafka_bootstrap_servers=own_tansu.bootstrap,
                      kafka_partitions=4, kafka_connect_timeout_s=5,
                      kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=300)
    intake = create_intake(IntakeSettings(data_dir=tmp_path, bus=bus,
                                          pii_keys=new_key_ring_spec()))
    triage = create_triage(TriageSettings(data_dir=tmp_path, bus=bus))
    triaged = Tally()
    triage.state.runtime.listeners.append(triaged.observe)
    hotline = Caller("k", "hotline-12345", frozenset({"complaints:write"})).headers()

    async with contextlib.AsyncExitStack() as stack:
        for app in (intake, triage):
            await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=intake), base_url="http://intake", headers=hotline,
            auth=as_gateway(intake)))

        own_tansu.stop(kill=True)
        answers = await asyncio.gather(*(
            client.post("/api/v1/complaints", json={
                "channel": "hotline", "content": f"暴雨后小区停水停电，第{i}户求助",
                "complainant": {"phone": f"138{i:08d}"}})
            for i in range(COMPLAINTS)))
        assert {a.status_code for a in answers} == {202}
        assert await intake.state.runtime.relay.backlog() == COMPLAINTS

        own_tansu.start()
        await triaged.applied(COMPLAINTS, within=110)
        async with triage.state.runtime.db.session() as session:
            cases = await session.scalar(select(func.count()).select_from(Case))
            distinct = await session.scalar(select(func.count(func.distinct(Case.complaint_id))))
        assert cases == distinct == COMPLAINTS
        assert {a.json()["id"] for a in answers} == await _triaged_ids(triage)


async def _triaged_ids(triage: object) -> set[str]:
    runtime = triage.state.runtime  # type: ignore[attr-defined]
    async with runtime.db.session() as session:
        return set((await session.scalars(select(Case.complaint_id))).all())
