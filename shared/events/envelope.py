"""CloudEvents 1.0 envelope around a pydantic-validated, versioned payload."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from shared.events.registry import EventPayload, dataschema_uri, registration, schema_for


def _new_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """One event. `subject` is the aggregate id and the Kafka key."""

    model_config = ConfigDict(frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=_new_id)
    source: str
    type: str
    time: datetime = Field(default_factory=_now)
    subject: str
    datacontenttype: str = "application/json"
    dataschema: str
    data: dict[str, Any]
    # Extension attributes (CloudEvents allows lowercase alphanumerics).
    traceparent: str | None = None
    requestid: str | None = None
    _payload: EventPayload | None = PrivateAttr(default=None)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate(json.loads(raw))

    def payload(self) -> EventPayload:
        """The data, validated against its registered schema (once; the bus validates it on
        arrival to tell poison from work, and the handler reads it again)."""
        if self._payload is None:
            self._payload = schema_for(self.type, self.dataschema).model_validate(self.data)
        return self._payload


def make_event(
    data: EventPayload,
    *,
    source: str,
    subject: str,
    requestid: str | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """Build the envelope of `data`, of its class's topic; refuses a class not registered."""
    topic, version = registration(type(data))
    return Envelope(
        source=source,
        type=topic,
        subject=subject,
        dataschema=dataschema_uri(topic, version),
        data=data.model_dump(mode="json"),
        requestid=requestid,
        traceparent=traceparent,
    )
