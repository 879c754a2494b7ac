"""Registry of versioned event schemas: (type, version) -> pydantic model."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

_SCHEMAS: dict[tuple[str, int], type[BaseModel]] = {}


class UnknownEventSchema(LookupError):
    pass


M = TypeVar("M", bound=type[BaseModel])


def register(event_type: str, version: int) -> Callable[[M], M]:
    """Class decorator: `@register("complaint.received", 1)`."""

    def wrap(model: M) -> M:
        key = (event_type, version)
        if key in _SCHEMAS and _SCHEMAS[key] is not model:
            raise ValueError(f"schema {event_type} v{version} registered twice")
        _SCHEMAS[key] = model
        return model

    return wrap


def dataschema_uri(event_type: str, version: int) -> str:
    return f"urn:beacon:event:{event_type}:v{version}"


def _parse_uri(uri: str) -> tuple[str, int]:
    prefix = "urn:beacon:event:"
    if not uri.startswith(prefix) or ":v" not in uri:
        raise UnknownEventSchema(f"not a Beacon dataschema: {uri!r}")
    event_type, _, version = uri[len(prefix) :].rpartition(":v")
    return event_type, int(version)


def schema_for(event_type: str, dataschema: str) -> type[BaseModel]:
    schema_type, version = _parse_uri(dataschema)
    if schema_type != event_type or (event_type, version) not in _SCHEMAS:
        raise UnknownEventSchema(f"no schema for {event_type} ({dataschema})")
    return _SCHEMAS[(event_type, version)]


def registered_version(event_type: str, model: type[BaseModel]) -> int:
    for (registered_type, version), registered in _SCHEMAS.items():
        if registered_type == event_type and registered is model:
            return version
    raise UnknownEventSchema(f"{model.__name__} is not a registered schema of {event_type}")


def registered() -> dict[tuple[str, int], type[BaseModel]]:
    return dict(_SCHEMAS)
