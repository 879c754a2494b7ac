"""Event envelope, schema registry and the schemas themselves."""

from shared.events import schemas
from shared.events.envelope import Envelope, make_event
from shared.events.registry import UnknownEventSchema, registered

__all__ = ["Envelope", "UnknownEventSchema", "make_event", "registered", "schemas"]

TOPICS = (
    "complaint.received",
    "complaint.triaged",
    "notification.sent",
    "mention.scored",
)
