"""Event envelope, schema registry and the schemas themselves."""

from shared.events import schemas
from shared.events.envelope import Envelope, make_event
from shared.events.registry import EventPayload, UnknownEventSchema, registered

__all__ = ["Envelope", "EventPayload", "UnknownEventSchema", "make_event", "registered", "schemas"]

# Every topic, in registration order: each payload class names its own.
TOPICS = tuple(dict.fromkeys(topic for topic, _version in registered()))
