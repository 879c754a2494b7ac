"""The drill's evaluation (演练评估: 响应速度、处理效率、团队协作…), from the run's read model.

Everything is measured in drill time: a real interval times the run's `speed`. Triage's
clocks (acknowledge 15 min at level 1, …) are read as drill time, so a run at speed 60 that
acknowledges 10 real seconds after the complaint took 10 minutes and met a 15-minute clock.
Something done is met when done in time and missed when late; something not done is pending
while the run runs and its time is not up, and missed once it is (or once the run ended).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from drill_svc.models import DrillActivity, DrillCase, DrillIncident, DrillStatement, Run
from drill_svc.scenarios import Expectation, Scenario, parse_duration
from drill_svc.schemas import (
    CaseScore,
    Coordination,
    DrillReport,
    ExpectationResult,
    Finding,
    HandlingEfficiency,
    Measure,
    ResponseSpeed,
    RunOut,
    StatementScore,
    Tally,
    Verdict,
)

HALF_HOUR = timedelta(minutes=30)
ClockName = Literal["acknowledge", "first_contact", "resolve"]
CLOCKS: dict[str, ClockName] = {"acknowledge": "acknowledge", "first_contact": "first_contact",
                                "answer": "resolve"}
DONE_WORDS = {"acknowledge": "acknowledged", "first_contact": "contacted (investigating)",
              "resolve": "answered"}


@dataclass(frozen=True)
class RunFacts:
    run: Run
    out: RunOut
    scenario: Scenario
    cases: Sequence[DrillCase]
    incidents: Sequence[DrillIncident]
    statements: Sequence[DrillStatement]
    activity: Sequence[DrillActivity]
    failed_refs: frozenset[str]  # complaints the API refused


@dataclass(frozen=True)
class _Judged:
    verdict: Verdict
    evidence: str


class _Clock:
    """Drill time of the run."""

    def __init__(self, run: Run, now: datetime) -> None:
        self.speed, self.start = run.speed, run.started_at
        self.now = run.ended_at if run.state == "stopped" and run.ended_at else now
        self.ended = run.state != "running"

    def minutes(self, real: timedelta) -> float:
        return round(real.total_seconds() * self.speed / 60, 1)

    def since(self, at: datetime) -> float:
        return self.minutes(self.now - at)


def _judge(clock: _Clock, allowed: float | None, took: float | None, waited: float | None,
           ) -> Verdict:
    if took is not None:
        return "met" if allowed is None or took <= allowed else "missed"
    if clock.ended or (allowed is not None and waited is not None and waited > allowed):
        return "missed"
    return "pending"


def _measure(clock: _Clock, case: DrillCase, which: ClockName,
             within: float | None) -> Measure:
    due = {"acknowledge": case.acknowledge_by, "first_contact": case.first_contact_by,
           "resolve": case.resolve_by}[which]
    done = {"acknowledge": case.acknowledged_at, "first_contact": case.first_contact_at,
            "resolve": case.answered_at}[which]
    start = case.received_at or case.triaged_at
    allowed = within
    if allowed is None and due is not None and start is not None:
        allowed = round((due - start).total_seconds() / 60, 1)  # triage's clock, as drill time
    took = clock.minutes(done - start) if done is not None and start is not None else None
    waited = clock.since(start) if start is not None else None
    verdict = _judge(clock, allowed, took, waited) if start is not None else (
        "missed" if clock.ended else "pending")
    return Measure(clock=which, allowed_min=allowed, took_min=took, verdict=verdict)


def _within(expectation: Expectation) -> float | None:
    if expectation.within is None:
        return None
    return parse_duration(expectation.within).total_seconds() / 60


def _combine(parts: Sequence[_Judged], none: _Judged) -> _Judged:
    if not parts:
        return none
    verdicts = {p.verdict for p in parts}
    verdict: Verdict = "missed" if "missed" in verdicts else (
        "pending" if "pending" in verdicts else "met")
    return _Judged(verdict, "; ".join(p.evidence for p in parts))


class Evaluation:
    def __init__(self, facts: RunFacts, now: datetime) -> None:
        self.facts, self.clock = facts, _Clock(facts.run, now)
        self.by_ref = {c.ref: c for c in facts.cases}

    def cases_for(self, expectation: Expectation) -> list[DrillCase]:
        if expectation.complaint is None:
            return sorted(self.facts.cases, key=lambda c: (c.received_at or self.clock.now,
                                                           c.ref))
        found = self.by_ref.get(expectation.complaint)
        return [found] if found else []

    def _missing(self, expectation: Expectation) -> _Judged:
        ref = expectation.complaint
        if ref is not None and ref in self.facts.failed_refs:
            return _Judged("missed", f"{ref}: the API refused the complaint, so no case")
        what = f"{ref}: no case yet" if ref else "no drill case yet"
        return _Judged("missed" if self.clock.ended else "pending", what)

    def judge(self, expectation: Expectation) -> _Judged:
        kind = expectation.do
        if kind in CLOCKS:
            return self._clock(expectation, CLOCKS[kind])
        if kind == "level":
            return self._level(expectation)
        if kind == "escalation":
            return self._escalation(expectation)
        if kind == "incident":
            return self._incident(expectation)
        return self._statement(expectation)

    def _clock(self, expectation: Expectation, which: ClockName) -> _Judged:
        parts = []
        for case in self.cases_for(expectation):
            m = _measure(self.clock, case, which, _within(expectation))
            allowed = f"{m.allowed_min:g} min" if m.allowed_min is not None else "no clock"
            done = (f"{DONE_WORDS[which]} after {m.took_min:g} min" if m.took_min is not None
                    else f"not {DONE_WORDS[which]}")
            by = f" by {case.acknowledged_by}" if which == "acknowledge" and \
                case.acknowledged_by else ""
            parts.append(_Judged(m.verdict, f"{case.ref}: {done}{by} (allowed {allowed})"))
        return _combine(parts, self._missing(expectation))

    def _level(self, expectation: Expectation) -> _Judged:
        parts = []
        for case in self.cases_for(expectation):
            if case.response_level is None:
                parts.append(_Judged("missed" if self.clock.ended else "pending",
                                     f"{case.ref}: not triaged yet"))
                continue
            verdict: Verdict = "met" if case.response_level <= (expectation.level or 4) \
                else "missed"
            parts.append(_Judged(verdict, f"{case.ref}: level {case.response_level} "
                                          f"(expected {expectation.level} or more severe)"))
        return _combine(parts, self._missing(expectation))

    def _escalation(self, expectation: Expectation) -> _Judged:
        cases = self.cases_for(expectation)
        if not cases:
            return self._missing(expectation)
        highest = max(c.escalation_step for c in cases)
        if highest >= (expectation.step or 1):
            return _Judged("met", f"escalation step {highest} reached")
        return _Judged("missed" if self.clock.ended else "pending",
                       f"highest escalation step {highest}, expected {expectation.step}")

    def _incident(self, expectation: Expectation) -> _Judged:
        within = _within(expectation)
        found = sorted((i for i in self.facts.incidents if i.kind == expectation.incident_kind),
                       key=lambda i: i.opened_at)
        if found:
            took = self.clock.minutes(found[0].opened_at - self.clock.start)
            verdict: Verdict = "met" if within is None or took <= within else "missed"
            return _Judged(verdict, f"{found[0].kind} incident at level "
                                    f"{found[0].response_level} opened after {took:g} min")
        waited = self.clock.since(self.clock.start)
        return _Judged(_judge(self.clock, within, None, waited),
                       f"no {expectation.incident_kind} incident after {waited:g} min")

    def _statement(self, expectation: Expectation) -> _Judged:
        statement = _first_statement(self.facts.statements)
        stage = expectation.do.removeprefix("statement_")
        within = _within(expectation)
        since: datetime | None
        done: datetime | None
        who: str | None
        if stage == "drafted":
            since, frm = self.clock.start, "the start"
            done = statement.drafted_at if statement else None
            who = statement.drafted_by if statement else None
        elif stage == "approved":
            since, frm = (statement.drafted_at if statement else None), "its draft"
            done = statement.approved_at if statement else None
            who = statement.approved_by if statement else None
        else:
            within = within if within is not None else HALF_HOUR.total_seconds() / 60
            since, frm = (statement.approved_at if statement else None), "its approval"
            done, who = (statement.distributed_at if statement else None), None
        if since is None:
            return _Judged("missed" if self.clock.ended else "pending",
                           "no approved statement (统一口径) names a drill incident")
        waited = self.clock.since(since)
        took = self.clock.minutes(done - since) if done is not None else None
        verdict = _judge(self.clock, within, took, waited)
        by = f" by {who}" if who else ""
        text = (f"statement {stage}{by} {took:g} min after {frm}" if took is not None
                else f"statement not {stage} {waited:g} min after {frm}")
        return _Judged(verdict, text + (f" (allowed {within:g} min)" if within else ""))


def _first_statement(statements: Sequence[DrillStatement]) -> DrillStatement | None:
    return min(statements, key=lambda s: s.approved_at, default=None)


def _tally(verdicts: Iterable[Verdict], into: Tally | None = None) -> Tally:
    tally = into or Tally()
    for verdict in verdicts:
        setattr(tally, verdict, getattr(tally, verdict) + 1)
    scored = tally.met + tally.missed
    tally.score = round(100 * tally.met / scored, 1) if scored else None
    return tally


def _describe(expectation: Expectation) -> str:
    target = f" {expectation.complaint}" if expectation.complaint else ""
    extra = (f" level {expectation.level}" if expectation.do == "level" else
             f" step {expectation.step}" if expectation.do == "escalation" else
             f" {expectation.incident_kind}" if expectation.do == "incident" else "")
    within = f" within {expectation.within}" if expectation.within else ""
    return f"{expectation.do}{target}{extra}{within}"


def evaluate(facts: RunFacts, now: datetime) -> DrillReport:
    ev = Evaluation(facts, now)
    results = [(e, ev.judge(e)) for e in facts.scenario.expect]
    expectation_out = [ExpectationResult(role=e.role, do=e.do, complaint=e.complaint,
                                         note=e.note, verdict=j.verdict, evidence=j.evidence)
                       for e, j in results]
    return DrillReport(
        run=facts.out, drill_time_min=ev.clock.since(ev.clock.start),
        overall=_tally(j.verdict for _, j in results).score,
        response_speed=_response_speed(ev, results),
        handling_efficiency=_handling(ev, results),
        coordination=_coordination(facts, results),
        statement=_statement_score(ev, results),
        expectations=expectation_out,
        findings=[Finding(role=e.role, expectation=_describe(e), evidence=j.evidence)
                  for e, j in results if j.verdict == "missed"],
        timeline=_timeline(ev))


def _within_for(results: Sequence[tuple[Expectation, _Judged]], kind: str,
                case: DrillCase) -> float | None:
    for expectation, _ in results:
        if expectation.do == kind and expectation.complaint in (None, case.ref):
            return _within(expectation)
    return None


def _response_speed(ev: Evaluation, results: Sequence[tuple[Expectation, _Judged]],
                    ) -> ResponseSpeed:
    cases = []
    for case in sorted(ev.facts.cases, key=lambda c: c.ref):
        measures = [_measure(ev.clock, case, CLOCKS[kind], _within_for(results, kind, case))
                    for kind in ("acknowledge", "first_contact", "answer")]
        cases.append(CaseScore(ref=case.ref, complaint_id=case.complaint_id,
                               case_id=case.case_id, response_level=case.response_level,
                               state=case.state, acknowledged_by=case.acknowledged_by,
                               escalation_step=case.escalation_step, measures=measures))
    by_role: dict[str, Tally] = {}
    for expectation, judged in results:
        if expectation.do in ("acknowledge", "first_contact"):
            _tally([judged.verdict], by_role.setdefault(expectation.role, Tally()))
    overall = _tally(m.verdict for c in cases for m in c.measures
                     if m.clock in ("acknowledge", "first_contact"))
    return ResponseSpeed(**overall.model_dump(), by_role=by_role, cases=cases)


def _handling(ev: Evaluation, results: Sequence[tuple[Expectation, _Judged]],
              ) -> HandlingEfficiency:
    verdicts = [_measure(ev.clock, case, "resolve", _within_for(results, "answer", case)).verdict
                for case in ev.facts.cases]
    return HandlingEfficiency(**_tally(verdicts).model_dump())


def _coordination(facts: RunFacts, results: Sequence[tuple[Expectation, _Judged]],
                  ) -> Coordination:
    kinds = ("level", "escalation", "incident")
    tally = _tally(j.verdict for e, j in results if e.do in kinds)
    acks = [a for a in facts.activity if a.kind == "notification_acknowledged"]
    by_role: dict[str, int] = {}
    for ack in acks:
        for role in ack.roles or ["(none)"]:
            by_role[role] = by_role.get(role, 0) + 1
    return Coordination(
        **tally.model_dump(),
        escalations=sum(a.kind in ("escalated", "skip_level") for a in facts.activity),
        highest_step=max((c.escalation_step for c in facts.cases), default=0),
        skip_levels=sum(a.kind == "skip_level" for a in facts.activity),
        acknowledgements=len(acks), acknowledgements_by_role=by_role,
        incidents=[f"{i.kind} level {i.response_level}" for i in facts.incidents])


def _statement_score(ev: Evaluation, results: Sequence[tuple[Expectation, _Judged]],
                     ) -> StatementScore:
    tally = _tally(j.verdict for e, j in results if e.do.startswith("statement_"))
    first = _first_statement(ev.facts.statements)
    within: bool | None = None
    if first is not None and first.distributed_at is not None:
        within = ev.clock.minutes(first.distributed_at - first.approved_at) <= 30
    return StatementScore(
        **tally.model_dump(), statement_id=first.statement_id if first else None,
        drafted_by=first.drafted_by if first else None,
        drafted_at=first.drafted_at if first else None,
        approved_by=first.approved_by if first else None,
        approved_at=first.approved_at if first else None,
        distributed_at=first.distributed_at if first else None,
        distributed_within_half_hour=within)


def _timeline(ev: Evaluation) -> list[str]:
    lines: list[tuple[datetime, str]] = []
    for case in ev.facts.cases:
        if case.received_at is not None:
            level = f" (level {case.response_level})" if case.response_level else ""
            lines.append((case.received_at, f"{case.ref}: complaint received{level}"))
    lines += [(a.at, a.detail) for a in ev.facts.activity]
    for s in ev.facts.statements:
        lines.append((s.approved_at, f"statement approved by {s.approved_by}"))
        if s.distributed_at is not None:
            lines.append((s.distributed_at, f"statement distributed to {s.recipients} "
                                            "recipients"))
    lines.sort(key=lambda item: item[0])
    return [f"+{max(0.0, ev.clock.minutes(at - ev.clock.start)):g} min  {text}"
            for at, text in lines]
