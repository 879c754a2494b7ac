"""The token an acknowledgement link carries."""

from __future__ import annotations

import hashlib
import hmac


class AckTokens:
    """A delivery's token is HMAC(secret, delivery id): every attempt carries the same one
    without the database holding it (only its sha256 is stored, for lookup)."""

    def __init__(self, secret: str) -> None:
        self.key = secret.encode()

    def token_for(self, delivery_id: str) -> str:
        return hmac.new(self.key, delivery_id.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
