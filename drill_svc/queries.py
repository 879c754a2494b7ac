"""Reads: runs as the API shows them, and the facts their evaluation reads."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from drill_svc.evaluation import RunFacts
from drill_svc.models import (
    DrillActivity,
    DrillCase,
    DrillIncident,
    DrillStatement,
    Injection,
    Run,
)
from drill_svc.scenarios import Scenario
from drill_svc.schemas import InjectionCounts, RunOut
from shared.paging import page_of


async def run_out(session: AsyncSession, run: Run) -> RunOut:
    counts = InjectionCounts()
    for status, n in (await session.execute(
            select(Injection.status, func.count()).where(Injection.run_id == run.id)
            .group_by(Injection.status))).all():
        key = "pending" if status == "posting" else status
        setattr(counts, key, getattr(counts, key) + int(n))
    posted = (await session.execute(
        select(Injection.kind, Injection.result_id).where(
            Injection.run_id == run.id, Injection.result_id.is_not(None))
        .order_by(Injection.due_at, Injection.id))).all()
    return RunOut(
        id=run.id, scenario=run.scenario_name, title=run.title,
        state=run.state,
        speed=run.speed, started_by=run.started_by, started_at=run.started_at,
        ends_at=run.ends_at, ended_at=run.ended_at, stopped_by=run.stopped_by,
        injections=counts,
        complaint_ids=list(dict.fromkeys(r for k, r in posted if k == "complaint" and r)),
        mention_ids=list(dict.fromkeys(r for k, r in posted if k == "mention" and r)),
        report_url=f"/api/v1/drills/{run.id}/report")


async def run(session: AsyncSession, run_id: str) -> Run | None:
    return await session.get(Run, run_id)


async def page_of_runs(session: AsyncSession, state: str | None, limit: int,
                       cursor: str | None) -> tuple[list[RunOut], str | None]:
    query = select(Run)
    if state is not None:
        query = query.where(Run.state == state)
    rows, next_cursor = await page_of(session, query, Run.started_at, Run.id, limit, cursor)
    return [await run_out(session, r) for r in rows], next_cursor


async def facts(session: AsyncSession, run: Run) -> RunFacts:
    failed = (await session.scalars(select(Injection.ref).where(
        Injection.run_id == run.id, Injection.kind == "complaint",
        Injection.status == "failed"))).all()
    activity = (await session.scalars(select(DrillActivity).where(
        DrillActivity.run_id == run.id).order_by(DrillActivity.at, DrillActivity.id))).all()
    return RunFacts(
        run=run, out=await run_out(session, run),
        scenario=Scenario.model_validate(run.scenario),
        cases=(await session.scalars(select(DrillCase).where(
            DrillCase.run_id == run.id))).all(),
        incidents=(await session.scalars(select(DrillIncident).where(
            DrillIncident.run_id == run.id))).all(),
        statements=(await session.scalars(select(DrillStatement).where(
            DrillStatement.run_id == run.id))).all(),
        activity=activity,
        failed_refs=frozenset(failed))
