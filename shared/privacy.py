"""Complainant data: AES-GCM at rest with a key ring (rotation), masking for callers without
`pii:read`, and a keyed fingerprint so history can match a complainant without their data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class PiiKeyError(ValueError):
    pass


def parse_key_ring(spec: str) -> list[tuple[str, bytes]]:
    """`kid:base64key[,kid:base64key…]`; the first key encrypts, every key decrypts."""
    ring = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kid, sep, encoded = item.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", kid):
            raise PiiKeyError("PII_KEYS entries must look like kid:base64key")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise PiiKeyError(f"PII_KEYS key {kid!r} is not base64") from exc
        if len(key) != 32:
            raise PiiKeyError(f"PII_KEYS key {kid!r} must be 32 bytes (AES-256)")
        ring.append((kid, key))
    if not ring:
        raise PiiKeyError("PII_KEYS is empty")
    return ring


def new_key_ring_spec(kid: str = "k1") -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def load_or_create_key_ring(spec: str | None, data_dir: Path) -> list[tuple[str, bytes]]:
    """The configured ring, or (embedded mode) one generated once under the data dir."""
    if spec:
        return parse_key_ring(spec)
    path = data_dir / "pii.keys"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_ring_spec())
    return parse_key_ring(path.read_text().strip())


def parse_fingerprint_key(encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except ValueError as exc:
        raise PiiKeyError("PII_FINGERPRINT_KEY is not base64") from exc
    if len(key) != 32:
        raise PiiKeyError("PII_FINGERPRINT_KEY must be 32 bytes")
    return key


def load_or_pin_fingerprint_key(spec: str | None, ring: list[tuple[str, bytes]],
                                data_dir: Path) -> bytes:
    """The fingerprint's own secret, which no rotation of the ring touches.

    PII_FINGERPRINT_KEY when set. Otherwise the secret fingerprints were made with before it
    existed (the last key of the ring) is pinned once into DATA_DIR/pii_fingerprint.key and
    read from there afterwards, so fingerprints stay the same when that key is retired.
    """
    if spec and spec.strip():
        return parse_fingerprint_key(spec)
    path = data_dir / "pii_fingerprint.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another replica pinned it first
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(ring[-1][1]).decode())
    return parse_fingerprint_key(path.read_text())


class FieldCipher:
    def __init__(self, ring: list[tuple[str, bytes]],
                 fingerprint_secret: bytes | None = None) -> None:
        self.ring = ring
        self._by_kid = {kid: AESGCM(key) for kid, key in ring}
        # Fingerprints have their own secret (see load_or_pin_fingerprint_key); without one,
        # the ring's last key, as before that secret existed. It never leaves the process.
        secret = fingerprint_secret if fingerprint_secret is not None else ring[-1][1]
        self._fingerprint_key = hashlib.sha256(b"beacon-fingerprint" + secret).digest()

    def encrypt(self, plaintext: str | None, *, context: bytes = b"") -> bytes | None:
        if plaintext is None:
            return None
        kid, _ = self.ring[0]
        nonce = secrets.token_bytes(12)
        sealed = self._by_kid[kid].encrypt(nonce, plaintext.encode(), context)
        return kid.encode() + b"." + nonce + sealed

    def decrypt(self, sealed: bytes | None, *, context: bytes = b"") -> str | None:
        if sealed is None:
            return None
        kid, _, rest = sealed.partition(b".")
        cipher = self._by_kid.get(kid.decode())
        if cipher is None:
            raise PiiKeyError(f"no key {kid.decode()!r} in PII_KEYS to decrypt with")
        return cipher.decrypt(rest[:12], rest[12:], context).decode()

    def fingerprint(self, *identifiers: str | None) -> str | None:
        """A stable, keyed hash of the complainant's normalised phone or e-mail."""
        values = [re.sub(r"[\s\-()+]", "", v).lower() for v in identifiers if v]
        if not values:
            return None
        return hmac.new(self._fingerprint_key, values[0].encode(), hashlib.sha256).hexdigest()[:32]


# Masking rule: a masked value shows at most a third of its characters (rounded down),
# split between its start and its end, so `87654321` becomes `8******1`. Numbers of 11
# characters and more keep the customary first three and last four (`138****5678`), which
# still hides at least four. Names show their first character (the family name).
LONG_NUMBER = 11


def _mask_middle(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    return value[:head] + "*" * hidden + (value[-tail:] if tail else "")


def _shown(value: str, *, most: tuple[int, int]) -> tuple[int, int]:
    """(head, tail) shown: at most `most`, at most a third of the value in all."""
    budget = len(value) // 3
    head = min(most[0], budget // 2)
    return head, min(most[1], budget - head)


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    value = phone.strip()
    if len(value) >= LONG_NUMBER:
        return _mask_middle(value, 3, 4)
    return _mask_middle(value, *_shown(value, most=(3, 4)))


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, _, domain = email.partition("@")
    shown = 1 if len(local) >= 3 else 0  # keeps its length, so masked text fits its column
    return local[:shown] + "*" * (len(local) - shown) + "@" + domain


def mask_id_number(number: str | None) -> str | None:
    if not number:
        return number
    return _mask_middle(number, *_shown(number, most=(2, 2)))


def mask_card_number(number: str | None) -> str | None:
    """A bank card shows its last four digits only."""
    if not number:
        return number
    return _mask_middle(number, 0, min(4, len(number) // 3))
