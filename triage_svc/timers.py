"""Escalation timers added to a session, kept at hand for the cases created in it.

A case created in this session has no timers but the ones added here, so reading them
back needs no query (issue 18: a batch of new cases joining a group raised each one and
read its timers back one statement at a time)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from triage_svc.models import Escalation

_NEW_CASES = "triage.timers.new_cases"  # session.info key: case id -> its timers


def track_new_case(session: AsyncSession, case_id: str) -> None:
    """The case is being created in this session: `add` keeps its timers at hand."""
    session.info.setdefault(_NEW_CASES, {})[case_id] = []


def add(session: AsyncSession, timer: Escalation) -> None:
    session.add(timer)
    new_cases: dict[str, list[Escalation]] = session.info.get(_NEW_CASES, {})
    if timer.case_id in new_cases:
        new_cases[timer.case_id].append(timer)


def of_new_case(session: AsyncSession, case_id: str) -> list[Escalation] | None:
    """The timers of a case created in this session, by step; None for any other case."""
    new_cases: dict[str, list[Escalation]] = session.info.get(_NEW_CASES, {})
    if case_id not in new_cases:
        return None
    return sorted(new_cases[case_id], key=lambda e: e.step)
