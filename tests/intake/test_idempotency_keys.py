"""Idempotency keys are kept at least 24 h and purged after their time-to-live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from intake_svc.models import IdempotencyKey
from intake_svc.service import purge_idempotency_keys
from tests.support import System


async def test_expired_keys_are_purged_and_fresh_ones_kept(system: System) -> None:
    for key in ("old", "new"):
        response = await system.client.post(
            "/api/v1/complaints", json={"channel": "web", "content": f"投诉 {key}"},
            headers={"Idempotency-Key": key})
        assert response.status_code == 202
    runtime = system.embedded.services["intake"].state.runtime
    async with runtime.unit() as unit:
        await unit.session.execute(
            update(IdempotencyKey).where(IdempotencyKey.key == "old")
            .values(created_at=datetime.now(UTC) - timedelta(hours=49)))
    async with runtime.unit() as unit:
        assert await purge_idempotency_keys(unit, timedelta(hours=48)) == 1
    async with runtime.db.session() as session:
        assert (await session.scalars(select(IdempotencyKey.key))).all() == ["new"]
