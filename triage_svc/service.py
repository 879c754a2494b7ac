"""Assessing a complaint (level, category, reasons, deadlines) and opening its case."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from shared.events.schemas import Category, ComplaintReceived, ComplaintTriaged, Deadlines
from shared.runtime import Unit
from triage_svc.models import Case, TimelineEntry
from triage_svc.rules import Rules

TRIAGED_TOPIC = "complaint.triaged"


@dataclass(frozen=True)
class Assessment:
    response_level: int
    category: Category
    level_reasons: list[str]


def assess(complaint: ComplaintReceived, rules: Rules) -> Assessment:
    """The most severe level any rule gives, with one reason per rule that fired."""
    text = f"{complaint.subject or ''}\n{complaint.content}".lower()
    media = complaint.media_involved or complaint.channel == "media"
    fired = [
        rule for rule in rules.rules
        if any(term in text for term in rule.terms)
        or (rule.min_people is not None and complaint.people_count >= rule.min_people)
        or (rule.media and media)
    ]
    level = min((rule.level for rule in fired), default=4)
    reasons = [f"{rule.reason} [{rule.name} → level {rule.level}]" for rule in fired]
    if not reasons:
        reasons = ["no severity rule fired: ordinary complaint (level 4)"]
    return Assessment(level, categorise(text, rules), reasons)


def categorise(text: str, rules: Rules) -> Category:
    best: Category = "other"
    best_hits = 0
    for category, terms in rules.categories:
        hits = sum(1 for term in terms if term in text)
        if hits > best_hits:
            best, best_hits = category, hits
    return best


def deadlines(level: int, start: datetime, rules: Rules) -> Deadlines:
    minutes = rules.clocks[level]
    return Deadlines(
        acknowledge_by=start + timedelta(minutes=minutes["acknowledge"]),
        first_contact_by=start + timedelta(minutes=minutes["first_contact"]),
        report_by=start + timedelta(minutes=minutes["report"]),
        resolve_by=start + timedelta(minutes=minutes["resolve"]),
    )


async def open_case(unit: Unit, complaint: ComplaintReceived, rules: Rules) -> Case:
    """One case per complaint: a second `complaint.received` for it changes nothing."""
    existing = await unit.session.scalar(
        select(Case).where(Case.complaint_id == complaint.complaint_id)
    )
    if existing is not None:
        return existing
    result = assess(complaint, rules)
    clocks = deadlines(result.response_level, complaint.received_at, rules)
    case = Case(
        id=uuid.uuid4().hex,
        complaint_id=complaint.complaint_id,
        response_level=result.response_level,
        category=result.category,
        level_reasons=result.level_reasons,
        state="triaged",
        department=complaint.target.department,
        drill=complaint.drill,
        opened_at=complaint.received_at,
        rules_version=rules.version,
        **clocks.model_dump(),
    )
    unit.session.add(case)
    unit.session.add(TimelineEntry(
        case_id=case.id, at=complaint.received_at, actor="triage", action="triaged",
        detail={"response_level": case.response_level, "category": case.category},
        reason="; ".join(result.level_reasons),
    ))
    await unit.emit(TRIAGED_TOPIC, ComplaintTriaged(
        complaint_id=case.complaint_id, case_id=case.id, response_level=case.response_level,
        category=result.category, level_reasons=result.level_reasons, deadlines=clocks,
        department=case.department, drill=case.drill,
    ), subject=case.complaint_id)
    return case
