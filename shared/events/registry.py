"""Registry of versioned event schemas: (topic, version) -> payload model.

A payload class names its topic and version (`ComplaintReceived.topic`): the topic is the
event's `type` and the bus topic it is published on, and nothing outside `shared.events`
spells it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from pydantic import BaseModel

_SCHEMAS: dict[tuple[str, int], type[EventPayload]] = {}


class UnknownEventSchema(LookupError):
    pass


class EventPayload(BaseModel):
    """The data of one event type; `register` sets the class's topic and version."""

    topic: ClassVar[str]
    version: ClassVar[int]


P = TypeVar("P", bound=type[EventPayload])


def register(topic: str, version: int) -> Callable[[P], P]:
    """Class decorator: `@register("complaint.received", 1)`. One class, one (topic,
    version): a subclass registers on its own, and a new version is a new class."""

    def wrap(model: P) -> P:
        key = (topic, version)
        if key in _SCHEMAS and _SCHEMAS[key] is not model:
            raise ValueError(f"schema {topic} v{version} registered twice")
        if "topic" in model.__dict__ and (model.topic, model.version) != key:
            raise ValueError(f"{model.__name__} is already {model.topic} v{model.version}")
        model.topic, model.version = topic, version
        _SCHEMAS[key] = model
        return model

    return wrap


def dataschema_uri(topic: str, version: int) -> str:
    return f"urn:beacon:event:{topic}:v{version}"


def _parse_uri(uri: str) -> tuple[str, int]:
    prefix = "urn:beacon:event:"
    if not uri.startswith(prefix) or ":v" not in uri:
        raise UnknownEventSchema(f"not a Beacon dataschema: {uri!r}")
    topic, _, version = uri[len(prefix) :].rpartition(":v")
    return topic, int(version)


def schema_for(topic: str, dataschema: str) -> type[EventPayload]:
    schema_type, version = _parse_uri(dataschema)
    if schema_type != topic or (topic, version) not in _SCHEMAS:
        raise UnknownEventSchema(f"no schema for {topic} ({dataschema})")
    return _SCHEMAS[(topic, version)]


def registration(model: type[BaseModel]) -> tuple[str, int]:
    """The (topic, version) `model` is registered as; refuses a class that is not (nor
    inherits its topic from one that is)."""
    topic, version = getattr(model, "topic", None), getattr(model, "version", None)
    if not isinstance(topic, str) or not isinstance(version, int) \
            or _SCHEMAS.get((topic, version)) is not model:
        raise UnknownEventSchema(f"{model.__name__} is not a registered event schema")
    return topic, version


def registered() -> dict[tuple[str, int], type[EventPayload]]:
    return dict(_SCHEMAS)
