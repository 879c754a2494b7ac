from __future__ import annotations

from notify_svc.service import Notifier
from shared.events.schemas import (
    BriefFigures,
    CaseEscalated,
    CaseUpdated,
    ComplaintTriaged,
    IncidentOpened,
    IncidentUpdated,
    RectificationOverdue,
    StatementApproved,
)
from shared.runtime import ServiceRuntime

EVENTS = (ComplaintTriaged, CaseEscalated, CaseUpdated, IncidentOpened, IncidentUpdated,
          StatementApproved, RectificationOverdue, BriefFigures)


def register(runtime: ServiceRuntime, notifier: Notifier) -> None:
    # One subscription for every topic: one consumer-group member, one inbox. The hotline
    # that filed a complaint comes with ComplaintTriaged and CaseUpdated (submitted_by).
    runtime.on(EVENTS, notifier.handle, many=notifier.handle_many)
