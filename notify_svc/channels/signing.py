"""The signatures peers check, exactly as each documents them."""

from __future__ import annotations

import base64
import hashlib
import hmac


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Beacon webhooks and hotline callbacks: `X-Beacon-Signature: sha256=<hex>` over
    `<X-Beacon-Timestamp>.<raw body>`; receivers should refuse stale timestamps (replays)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk robot 加签: base64(HMAC-SHA256(key=secret, msg="<timestamp>\\n<secret>")),
    sent URL-encoded as `&timestamp=<ms>&sign=<sign>`."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu robot 签名校验: base64(HMAC-SHA256(key="<timestamp>\\n<secret>", msg=b"")),
    sent in the body as `timestamp` (seconds) and `sign`."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()
