"""The injector: posts each due complaint and mention through the gateway's public API with
the drill's own key, as a hotline and a monitoring bot would, then records what came back.

An injection is claimed (`posting`) in one transaction, posted outside any, and recorded in
another, so no database transaction waits on HTTP. Posting twice is harmless: a complaint
carries an Idempotency-Key and its external_ref, a mention its URL, and the API answers a
repeat with the first id; so a claim left behind by a crash is simply made again at start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from drill_svc.models import Injection, Run
from drill_svc.service import finish_due_runs
from shared.runtime import ServiceRuntime

log = logging.getLogger("beacon.drill")
BATCH = 50
RETRY_AFTER = timedelta(seconds=2)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Posted:
    result_id: str | None
    error: str | None = None
    retry: bool = False


class PublicApi:
    """The gateway, reached with the drill runner's key."""

    def __init__(self, client: httpx.AsyncClient, key: str) -> None:
        self.client, self.key = client, key

    async def post(self, injection: Injection) -> Posted:
        headers = {"Authorization": f"Bearer {self.key}"}
        if injection.kind == "complaint":
            path = "/api/v1/complaints"
            headers["Idempotency-Key"] = f"drill-{injection.id}"
        else:
            path = "/api/v1/mentions"
        try:
            answer = await self.client.post(path, json=injection.body, headers=headers)
        except httpx.HTTPError as exc:
            return Posted(None, f"{type(exc).__name__}", retry=True)
        if answer.status_code in (200, 202):
            return Posted(_id_of(answer.json()))
        retry = answer.status_code in (429, 502, 503, 504)
        return Posted(None, f"HTTP {answer.status_code}: {_detail(answer)}", retry=retry)


def _id_of(body: dict[str, Any]) -> str | None:
    found = body.get("id") or next(iter(body.get("ids") or []), None)
    return str(found) if found else None


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", ""))[:300]
    except ValueError:
        return ""


class Injector:
    def __init__(self, runtime: ServiceRuntime, tick_s: float, idle_tick_s: float = 30.0
                 ) -> None:
        self.runtime, self.tick_s, self.idle_tick_s = runtime, tick_s, idle_tick_s
        self.api: PublicApi | None = None
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Every `tick_s` while a run is running, every `idle_tick_s` while none is; a run
        started through the API wakes it at once (`wake`, set after the start committed)."""
        await self._release_claims()
        while True:
            wait = self.tick_s
            try:
                await self.tick()
                if not await self._any_running():
                    wait = self.idle_tick_s
            except Exception:
                log.exception("drill injector tick failed")
            try:
                await asyncio.wait_for(self.wake.wait(), wait)
            except TimeoutError:
                pass
            self.wake.clear()

    async def _any_running(self) -> bool:
        async with self.runtime.db.session() as session:
            found = await session.scalar(select(Run.id).where(Run.state == "running").limit(1))
        return found is not None

    async def _release_claims(self) -> None:
        async with self.runtime.unit() as unit:
            await unit.session.execute(update(Injection).where(
                Injection.status == "posting").values(status="pending"))

    async def tick(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        if self.api is not None:
            for injection in await self._claim(now):
                await self._record(injection, await self.api.post(injection))
        async with self.runtime.unit() as unit:
            for run_id in await finish_due_runs(unit, now):
                log.info("drill run %s finished", run_id)

    async def _claim(self, now: datetime) -> list[Injection]:
        async with self.runtime.unit() as unit:
            rows = list((await unit.session.scalars(
                select(Injection).join(Run, Run.id == Injection.run_id)
                .where(Run.state == "running", Injection.status == "pending",
                       Injection.due_at <= now)
                .order_by(Injection.due_at, Injection.id).limit(BATCH)
                .with_for_update(skip_locked=True, of=Injection))).all())
            for row in rows:
                row.status, row.attempts = "posting", row.attempts + 1
            return rows

    async def _record(self, injection: Injection, posted: Posted) -> None:
        async with self.runtime.unit() as unit:
            row = await unit.session.get(Injection, injection.id)
            if row is None or row.status != "posting":
                return  # stopped or cleaned up meanwhile
            if posted.result_id is not None:
                row.status, row.result_id = "posted", posted.result_id
                row.posted_at, row.error = datetime.now(UTC), None
            elif posted.retry and row.attempts < MAX_ATTEMPTS:
                row.status, row.error = "pending", posted.error
                row.due_at = datetime.now(UTC) + RETRY_AFTER
            else:
                row.status, row.error = "failed", posted.error
                log.warning("drill injection %s of run %s refused: %s", row.ref, row.run_id,
                            posted.error)
