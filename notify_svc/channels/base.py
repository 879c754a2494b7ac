from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notify_svc.templating import Message


class ChannelError(Exception):
    """This attempt failed; a later one may succeed."""


class PermanentFailure(Exception):
    """The peer refused the message for good: retrying cannot help."""


@dataclass(frozen=True)
class Outgoing:
    """One attempt's input: where to, signed with what, saying what."""

    delivery_id: str
    event_type: str
    channel: str
    address: str
    secret: str | None
    message: Message
    data: dict[str, Any]
    ack_url: str
    traceparent: str | None = None
