"""Channel senders. Each raises ChannelError when a retry may help (timeouts, 5xx, 429,
throttling codes) and PermanentFailure when it cannot (4xx, a rejected signature)."""

from notify_svc.channels.base import ChannelError, Outgoing, PermanentFailure
from notify_svc.channels.senders import Senders

__all__ = ["ChannelError", "Outgoing", "PermanentFailure", "Senders"]
