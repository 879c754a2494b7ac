"""Event envelope, schema registry and the schemas themselves."""

from shared.events import schemas
from shared.events.envelope import Envelope, make_event
from shared.events.registry import UnknownEventSchema, registered

__all__ = ["Envelope", "UnknownEventSchema", "make_event", "registered", "schemas"]

TOPICS = (
    "complaint.received",
    "complaint.triaged",
    "case.updated",
    "case.escalated",
    "incident.opened",
    "incident.updated",
    "notification.sent",
    "notification.failed",
    "notification.acknowledged",
    "mention.scored",
    "mention.linked",
    "opinion.alert",
    "statement.approved",
)
