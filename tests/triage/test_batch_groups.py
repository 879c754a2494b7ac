"""A batch of look-alike complaints forms its group as one by one would (issue 18: the batch's
new cases are written together before the group checks, and each check leaves out the
batch's cases not yet opened)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from shared.events import Envelope
from shared.events.schemas import ComplaintReceived, ComplaintTarget, IncidentOpened
from shared.runtime import ServiceRuntime
from triage_svc.models import Case, Escalation, IncidentMember, TimelineEntry
from triage_svc.rules import load_rules
from triage_svc.service import open_cases

RULES = load_rules()
START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def complaint(n: int) -> ComplaintReceived:
    return ComplaintReceived(
        complaint_id=f"{n:032x}", channel="hotline",
        content=f"快递延误一周，客服电话一直打不通，包裹到现在没有消息 {n}",
        received_at=START + timedelta(minutes=n), complainant_key=f"person-{n}",
        target=ComplaintTarget(department="速运", product="同城件"))


def _what(event: Envelope) -> tuple[Any, ...]:
    data = event.data
    # complaint_count: the batch keeps a held group's counts instead of counting again.
    return (event.type, data.get("complaint_id"), data.get("response_level"),
            tuple(sorted(data.get("complaint_ids") or data.get("added_complaint_ids") or ())),
            data.get("complaint_count"))


async def _state(runtime: ServiceRuntime) -> tuple[Any, ...]:
    async with runtime.db.session() as session:
        cases = sorted((c.complaint_id, c.response_level, c.incident_id is not None)
                       for c in (await session.scalars(select(Case))).all())
        members = sorted((await session.scalars(select(IncidentMember.member_id))).all())
        timeline = sorted((await session.execute(
            select(Case.complaint_id, TimelineEntry.action)
            .join(Case, Case.id == TimelineEntry.case_id))).all())
        # The raised cases' timers: the batch reads a new case's timers from the session.
        timers = sorted((await session.execute(
            select(Case.complaint_id, Escalation.step, Escalation.clock, Escalation.status,
                   Escalation.due_at).join(Case, Case.id == Escalation.case_id))).all())
    return cases, members, timeline, timers


async def test_a_batch_of_look_alikes_groups_as_one_by_one_would(
        two_triages: tuple[ServiceRuntime, ServiceRuntime]) -> None:
    one, batch = two_triages
    complaints = [complaint(n) for n in range(RULES.group.min_complainants + 2)]
    emitted_one: list[tuple[Any, ...]] = []
    for c in complaints:
        async with one.unit() as unit:
            await open_cases(unit, [c], RULES)
            emitted_one += [_what(event) for _, event in unit.emitted]
    async with batch.unit() as unit:
        await open_cases(unit, complaints, RULES)
        emitted_batch = [_what(event) for _, event in unit.emitted]

    # The same events in the same order of kinds; members are listed (and raised) in the
    # order of their case ids, which are random, so within a step the order may differ.
    assert [e[0] for e in emitted_batch] == [e[0] for e in emitted_one]
    assert sorted(emitted_batch) == sorted(emitted_one)
    assert await _state(batch) == await _state(one)
    cases, members, _, timers = await _state(batch)
    # Raised to the group's level, each case runs that level's chain (not level 4's).
    chain = {s.step for s in RULES.escalation.steps[RULES.group.response_level]}
    assert {(c, step) for c, step, *_ in timers if step in chain} == {
        (c, step) for c, *_ in cases for step in chain}
    # The group opened at the min_complainants-th look-alike and took in the rest.
    assert all(grouped for _, _, grouped in cases) and len(members) == len(complaints)
    assert [kind for kind, *_ in emitted_batch].count(IncidentOpened.topic) == 1
