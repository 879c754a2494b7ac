from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidatorFunctionWrapHandler, field_validator

from drill_svc.scenarios import NAME_PATTERN, Scenario, ScenarioSummary
from shared.paging import NEXT_CURSOR_DESCRIPTION
from shared.schemas import RequestModel

RunState = Literal["running", "finished", "stopped"]
MAX_SPEED = 3600.0


class ScenarioList(BaseModel):
    items: list[ScenarioSummary]


class DrillStart(RequestModel):
    scenario: Annotated[str, Field(min_length=1, max_length=80)] | Scenario = Field(
        description="a shipped scenario's name (GET /api/v1/drills/scenarios), or a whole "
                    "scenario inline, in the shape of the files under drills/")
    speed: float = Field(1.0, ge=1.0, le=MAX_SPEED,
                         description="drill time per real time: 60 plays an hour in a minute")

    @field_validator("scenario", mode="wrap")
    @classmethod
    def _inline_or_name(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """An object is a scenario: its errors name their fields (`scenario.complaints.0.at`),
        not the union's branches."""
        if isinstance(value, dict):
            return Scenario.model_validate(value)
        return handler(value)


class InjectionCounts(BaseModel):
    pending: int = 0
    posted: int = 0
    failed: int = 0
    cancelled: int = 0


class RunOut(BaseModel):
    id: str
    scenario: str = Field(description="the scenario's name", pattern=NAME_PATTERN)
    title: str
    state: RunState
    speed: float
    started_by: str
    started_at: datetime
    ends_at: datetime = Field(description="when its drill time is over, in real time")
    ended_at: datetime | None
    stopped_by: str | None
    injections: InjectionCounts
    complaint_ids: list[str] = Field(description="the drill complaints posted so far")
    mention_ids: list[str] = Field(description="the drill mentions posted so far")
    report_url: str


class RunList(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)


# -- the report ---------------------------------------------------------------------------

Verdict = Literal["met", "missed", "pending"]


class Measure(BaseModel):
    """One clock of one case, in drill time (minutes)."""

    clock: Literal["acknowledge", "first_contact", "resolve"]
    allowed_min: float | None = Field(description="the level's clock, or the scenario's")
    took_min: float | None = Field(description="null while not done")
    verdict: Verdict


class CaseScore(BaseModel):
    ref: str
    complaint_id: str
    case_id: str | None
    response_level: int | None
    state: str | None
    acknowledged_by: str | None
    escalation_step: int
    measures: list[Measure]


class Tally(BaseModel):
    met: int = 0
    missed: int = 0
    pending: int = 0
    score: float | None = Field(None, description="met / (met + missed), 0 to 100")


class ResponseSpeed(Tally):
    by_role: dict[str, Tally] = Field(description="the expectations of each role")
    cases: list[CaseScore]


class HandlingEfficiency(Tally):
    """Cases answered (responded) within their resolve clock."""


class Coordination(Tally):
    escalations: int = Field(description="escalation steps reached (all cases)")
    highest_step: int
    skip_levels: int = Field(description="skip-level escalations (跨级上报): a step's people "
                                         "did not acknowledge in time")
    acknowledgements: int = Field(description="notifications acknowledged")
    acknowledgements_by_role: dict[str, int]
    incidents: list[str] = Field(description="kind and level of each incident opened")


class StatementScore(Tally):
    statement_id: str | None
    drafted_by: str | None
    drafted_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    distributed_at: datetime | None
    distributed_within_half_hour: bool | None = Field(
        description="distributed within 0.5 h (drill time) of its approval (统一口径)")


class ExpectationResult(BaseModel):
    role: str
    do: str
    complaint: str | None
    note: str | None
    verdict: Verdict
    evidence: str


class Finding(BaseModel):
    role: str
    expectation: str
    evidence: str


class DrillReport(BaseModel):
    run: RunOut
    drill_time_min: float = Field(description="drill time elapsed so far, in minutes")
    overall: float | None = Field(description="expectations met / (met + missed), 0 to 100")
    response_speed: ResponseSpeed
    handling_efficiency: HandlingEfficiency
    coordination: Coordination
    statement: StatementScore
    expectations: list[ExpectationResult]
    findings: list[Finding] = Field(description="every expectation missed, with its evidence")
    timeline: list[str] = Field(description="what happened, in drill time")
