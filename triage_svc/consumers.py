"""Triage's event handlers; each runs once per event inside the runtime's unit of work,
and the escalation check that every replica runs on a timer."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from shared.events import Envelope
from shared.events.schemas import (
    BriefFigures,
    BriefRequested,
    ComplaintPurged,
    ComplaintReceived,
    MentionLinked,
    NotificationAcknowledged,
    NotificationSent,
    OpinionAlert,
    StatementApproved,
)
from shared.periods import Period
from shared.runtime import ServiceRuntime, Unit, applying
from triage_svc import actions, escalation, incidents, rectification, reports, retention, summary
from triage_svc.rules import Rules
from triage_svc.service import open_case, open_cases

EVENTS = (ComplaintReceived, OpinionAlert, MentionLinked, NotificationAcknowledged,
          ComplaintPurged, NotificationSent, StatementApproved, BriefRequested)


def register(runtime: ServiceRuntime, rules: Rules, timer_interval_s: float) -> None:
    async def on_event(unit: Unit, event: Envelope) -> None:
        data = event.payload()
        if isinstance(data, ComplaintReceived):
            await open_case(unit, data, rules)
        elif isinstance(data, OpinionAlert):
            await incidents.on_opinion_alert(unit, data, rules)
        elif isinstance(data, MentionLinked):
            await incidents.on_mention_linked(unit, data, rules)
        elif isinstance(data, NotificationAcknowledged):
            await summary.record_acknowledged(unit, data)
            case = await escalation.record_acknowledgement(unit, data)
            if case is not None:
                await actions.acknowledged_by_notification(unit, case, data)
        elif isinstance(data, ComplaintPurged):
            await retention.on_purged(unit, data)
        elif isinstance(data, NotificationSent):
            await summary.record_sent(unit, data)
        elif isinstance(data, StatementApproved):
            await summary.record_statement(unit, data)
        elif isinstance(data, BriefRequested):  # notify's scheduled brief asks for figures
            figures = await reports.brief_figures(
                unit.session, Period(data.period_start, data.period_end), datetime.now(UTC))
            await unit.emit(BriefFigures(brief_id=data.brief_id, source="triage",
                                         figures=figures), subject=data.brief_id)

    async def on_events(unit: Unit, events: list[Envelope]) -> None:
        """A batch: runs of complaints and of sent notifications set-based, the rest one
        by one, in order (a batch is one partition's: mostly one topic)."""
        for run in _runs(events):
            payloads = [e.payload() for e in run]
            complaints = [p for p in payloads if isinstance(p, ComplaintReceived)]
            sent = [p for p in payloads if isinstance(p, NotificationSent)]
            if len(complaints) == len(run):
                await open_cases(unit, complaints, rules, each=_contexts(run))
            elif len(sent) == len(run):
                await summary.record_sent_many(unit, sent)
            else:
                for event in run:
                    with applying(event):
                        await on_event(unit, event)

    async def check_escalations() -> int:
        return await escalation.check(runtime, rules)

    async def remind_rectifications() -> int:
        return await rectification.remind_overdue(runtime)

    runtime.on(EVENTS, on_event, many=on_events)
    runtime.before_batch = incidents.lock_batch
    runtime.every(timer_interval_s, check_escalations)
    runtime.every(timer_interval_s, remind_rectifications)


def _runs(events: list[Envelope]) -> list[list[Envelope]]:
    """The events cut where their type changes."""
    runs: list[list[Envelope]] = []
    for event in events:
        if runs and runs[-1][0].type == event.type:
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


def _contexts(run: list[Envelope]) -> Callable[[int], AbstractContextManager[None]]:
    def each(i: int) -> AbstractContextManager[None]:
        return applying(run[i])
    return each
