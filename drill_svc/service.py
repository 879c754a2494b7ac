"""Runs: start one from a scenario (its injections scheduled in drill time compressed by
`speed`), stop it early, finish it, and clean its data up. Every function takes the unit and
never commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from drill_svc.models import (
    DrillActivity,
    DrillCase,
    DrillIncident,
    DrillMention,
    DrillStatement,
    Injection,
    Run,
)
from drill_svc.scenarios import ComplaintInjection, MentionInjection, Scenario, parse_duration
from shared.runtime import Unit

# The marker every drill complaint and mention carries, so the events it causes name the
# run: complaints by `external_ref`, mentions by their URL (a reserved .invalid host).
REF_PREFIX = "DRILL-"
URL_PREFIX = "https://drill.beacon.invalid/"
RUN_ID_LENGTH = 32


class DrillError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def complaint_ref(run_id: str, ref: str) -> str:
    return f"{REF_PREFIX}{run_id}-{ref}"


def run_of_ref(external_ref: str | None) -> tuple[str, str] | None:
    """(run id, scenario ref) of a drill complaint's external_ref, else None."""
    if not external_ref or not external_ref.startswith(REF_PREFIX):
        return None
    rest = external_ref.removeprefix(REF_PREFIX)
    run_id, dash, ref = rest[:RUN_ID_LENGTH], rest[RUN_ID_LENGTH:RUN_ID_LENGTH + 1], \
        rest[RUN_ID_LENGTH + 1:]
    return (run_id, ref) if dash == "-" and ref else None


def run_of_url(url: str | None) -> str | None:
    if not url or not url.startswith(URL_PREFIX):
        return None
    run_id = url.removeprefix(URL_PREFIX)[:RUN_ID_LENGTH]
    return run_id if len(run_id) == RUN_ID_LENGTH else None


def complaint_body(run_id: str, item: ComplaintInjection) -> dict[str, Any]:
    """The complaint as a hotline would post it, marked drill."""
    body: dict[str, Any] = {
        "channel": item.channel, "content": item.content, "drill": True,
        "external_ref": complaint_ref(run_id, item.ref), "people_count": item.people_count,
        "media_involved": item.media_involved,
    }
    for name in ("subject", "location"):
        if (value := getattr(item, name)) is not None:
            body[name] = value
    if item.target is not None:
        body["target"] = item.target.model_dump(exclude_none=True)
    if item.complainant is not None:
        body["complainant"] = item.complainant.model_dump(exclude_none=True)
    return body


def mention_body(run_id: str, item: MentionInjection, copy: int) -> dict[str, Any]:
    """The mention as a monitoring bot would post it, marked drill, with a URL of its own."""
    body: dict[str, Any] = {
        "source": item.source, "content": item.content, "drill": True,
        "url": f"{URL_PREFIX}{run_id}/{item.ref}/{copy}", "reach": item.reach.model_dump(),
    }
    for name in ("title", "author", "language"):
        if (value := getattr(item, name)) is not None:
            body[name] = value
    return body


async def start_run(unit: Unit, scenario: Scenario, *, speed: float, by: str,
                    now: datetime) -> Run:
    run = Run(id=uuid.uuid4().hex, scenario_name=scenario.name, title=scenario.title,
              scenario=scenario.model_dump(mode="json"), speed=speed, state="running",
              started_by=by, started_at=now,
              ends_at=now + scenario.length_delta / speed)
    unit.session.add(run)
    unit.session.add_all(_injections(run, scenario))
    return run


def _injections(run: Run, scenario: Scenario) -> list[Injection]:
    def due(offset: timedelta) -> datetime:
        return run.started_at + offset / run.speed

    rows = [Injection(id=uuid.uuid4().hex, run_id=run.id, kind="complaint", ref=item.ref,
                      due_at=due(parse_duration(item.at)), body=complaint_body(run.id, item),
                      status="pending", attempts=0)
            for item in scenario.complaints]
    for item in scenario.mentions:
        start, every = parse_duration(item.at), parse_duration(item.every)
        rows += [Injection(id=uuid.uuid4().hex, run_id=run.id, kind="mention",
                           ref=f"{item.ref}/{copy}", due_at=due(start + every * (copy - 1)),
                           body=mention_body(run.id, item, copy), status="pending",
                           attempts=0)
                 for copy in range(1, item.repeat + 1)]
    return rows


async def locked_run(unit: Unit, run_id: str) -> Run:
    run = (await unit.session.scalars(
        select(Run).where(Run.id == run_id).with_for_update())).first()
    if run is None:
        raise DrillError(404, f"no drill run {run_id}")
    return run


async def stop_run(unit: Unit, run_id: str, *, by: str, now: datetime) -> Run:
    """End a running drill early: what was not injected yet is cancelled."""
    run = await locked_run(unit, run_id)
    if run.state != "running":
        raise DrillError(409, f"drill run {run_id} is already {run.state}")
    run.state, run.ended_at, run.stopped_by = "stopped", now, by
    await unit.session.execute(
        update(Injection).where(Injection.run_id == run_id,
                                Injection.status.in_(("pending", "posting")))
        .values(status="cancelled"))
    return run


async def finish_due_runs(unit: Unit, now: datetime) -> list[str]:
    """Runs whose drill time is over and whose injections are all made become finished."""
    due = (await unit.session.scalars(
        select(Run).where(Run.state == "running", Run.ends_at <= now).with_for_update(
            skip_locked=True))).all()
    finished = []
    for run in due:
        open_left = await unit.session.scalar(select(Injection.id).where(
            Injection.run_id == run.id, Injection.status.in_(("pending", "posting"))).limit(1))
        if open_left is None:
            run.state, run.ended_at = "finished", now
            finished.append(run.id)
    return finished


READ_MODEL = (DrillCase, DrillMention, DrillIncident, DrillStatement, DrillActivity,
              Injection)


async def delete_run(unit: Unit, run_id: str) -> None:
    """The run, its injections and its read model; the drill's complaints, cases,
    notifications and mentions stay in the services that own them (marked drill)."""
    run = await locked_run(unit, run_id)
    if run.state == "running":
        raise DrillError(409, f"drill run {run_id} is still running: stop it first")
    for table in READ_MODEL:
        await unit.session.execute(delete(table).where(table.run_id == run_id))
    await unit.session.delete(run)
