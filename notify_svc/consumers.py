from __future__ import annotations

from notify_svc.service import Notifier
from shared.runtime import ServiceRuntime

TOPICS = ("complaint.triaged", "case.escalated", "case.updated", "incident.opened",
          "incident.updated", "statement.approved")


def register(runtime: ServiceRuntime, notifier: Notifier) -> None:
    # One subscription for every topic: one consumer-group member, one inbox. The hotline
    # that filed a complaint comes with complaint.triaged and case.updated (submitted_by).
    runtime.on(TOPICS, notifier.handle)
