from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from drill_svc import queries
from drill_svc.evaluation import evaluate
from drill_svc.report_pdf import render_pdf
from drill_svc.runner import Injector
from drill_svc.scenarios import Scenario, summary_of
from drill_svc.schemas import DrillReport, DrillStart, RunList, RunOut, RunState, ScenarioList
from drill_svc.service import DrillError, delete_run, start_run, stop_run
from shared import pdf
from shared.app import ReadSessionDep, UnitDep
from shared.caller import Caller, current_caller
from shared.paging import CursorQuery

router = APIRouter(prefix="/api/v1/drills", tags=["drills"])
CallerDep = Annotated[Caller, Depends(current_caller)]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "not allowed in the run's state"}}
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}},
          "description": "the report as JSON, or as PDF with format=pdf"},
    503: {"description": "no CJK font to lay the PDF out with"}}


async def _scenarios(request: Request) -> dict[str, Scenario]:
    found: dict[str, Scenario] = request.app.state.scenarios
    return found


async def _injector(request: Request) -> Injector:
    injector: Injector = request.app.state.injector
    return injector


ScenariosDep = Annotated[dict[str, Scenario], Depends(_scenarios)]
InjectorDep = Annotated[Injector, Depends(_injector)]


def _by(caller: Caller) -> str:
    return caller.owner or caller.key_id or "unknown"


def _refused(exc: DrillError) -> HTTPException:
    return HTTPException(exc.status, exc.detail)


@router.get("/scenarios", response_model=ScenarioList)
async def list_scenarios(scenarios: ScenariosDep) -> ScenarioList:
    """The scenarios shipped under `drills/` (versioned with the code)."""
    return ScenarioList(items=[summary_of(s) for s in scenarios.values()])


@router.post("", status_code=201, response_model=RunOut,
             responses={503: {"description": "the runner has no way to the public API"}})
async def start_drill(body: DrillStart, unit: UnitDep, caller: CallerDep,
                      scenarios: ScenariosDep, injector: InjectorDep) -> RunOut:
    """Start a run against the live system: its complaints and mentions are posted through
    the public API when due (`at` / `speed`), all marked drill."""
    if injector.api is None:
        raise HTTPException(503, "the drill runner has no API key (DRILL_API_KEY)")
    if isinstance(body.scenario, str):
        scenario = scenarios.get(body.scenario)
        if scenario is None:
            raise HTTPException(422, f"no shipped scenario {body.scenario!r}; one of: "
                                     f"{', '.join(scenarios) or 'none'}")
    else:
        scenario = body.scenario
    run = await start_run(unit, scenario, speed=body.speed, by=_by(caller),
                          now=datetime.now(UTC))
    await unit.session.flush()
    out = await queries.run_out(unit.session, run)
    # After the commit (the unit ends before the answer is sent), the injector looks at once.
    asyncio.get_running_loop().call_soon(injector.wake.set)
    return out


@router.get("", response_model=RunList)
async def list_drills(session: ReadSessionDep, state: RunState | None = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50,
                      cursor: CursorQuery = None) -> RunList:
    """Runs, newest first."""
    items, next_cursor = await queries.page_of_runs(session, state, limit, cursor)
    return RunList(items=items, next_cursor=next_cursor)


@router.get("/{run_id}", response_model=RunOut)
async def read_drill(run_id: str, session: ReadSessionDep) -> RunOut:
    run = await queries.run(session, run_id)
    if run is None:
        raise HTTPException(404, f"no drill run {run_id}")
    return await queries.run_out(session, run)


@router.post("/{run_id}/stop", response_model=RunOut, responses=CONFLICT)
async def stop_drill(run_id: str, unit: UnitDep, caller: CallerDep) -> RunOut:
    """End a running drill early; what was not injected yet never is."""
    try:
        run = await stop_run(unit, run_id, by=_by(caller), now=datetime.now(UTC))
    except DrillError as exc:
        raise _refused(exc) from exc
    await unit.session.flush()
    return await queries.run_out(unit.session, run)


@router.delete("/{run_id}", status_code=204, responses=CONFLICT)
async def delete_drill(run_id: str, unit: UnitDep) -> Response:
    """Clean up a finished or stopped run: the run, its schedule and its read model. The
    drill's complaints, cases, notifications and mentions stay with the services that own
    them, marked drill (see README, "Drills")."""
    try:
        await delete_run(unit, run_id)
    except DrillError as exc:
        raise _refused(exc) from exc
    return Response(status_code=204)


@router.get("/{run_id}/report", response_model=DrillReport, responses=PDF)
async def read_report(run_id: str, request: Request, session: ReadSessionDep,
                      format: Annotated[Literal["json", "pdf"], Query(
                          description="json, or pdf laid out for print")] = "json",
                      ) -> DrillReport | Response:
    """The run's evaluation: response speed, handling efficiency, coordination, the
    statement, and every expectation missed with its evidence."""
    run = await queries.run(session, run_id)
    if run is None:
        raise HTTPException(404, f"no drill run {run_id}")
    report = evaluate(await queries.facts(session, run), datetime.now(UTC))
    if format == "json":
        return report
    zone = request.app.state.runtime.settings.input_timezone
    try:
        content = await asyncio.to_thread(render_pdf, report, zone)
    except pdf.FontMissing as exc:
        raise HTTPException(503, str(exc)) from exc
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="drill-{run_id}.pdf"'})
