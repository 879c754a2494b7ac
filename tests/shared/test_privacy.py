from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from shared.privacy import (
    FieldCipher,
    PiiKeyError,
    mask_email,
    mask_name,
    mask_phone,
    new_key_ring_spec,
    parse_key_ring,
)


def test_sealed_fields_open_only_with_their_context() -> None:
    cipher = FieldCipher(parse_key_ring(new_key_ring_spec()))
    sealed = cipher.encrypt("13812345678", context=b"complaint-1")
    assert sealed is not None and b"13812345678" not in sealed
    assert cipher.decrypt(sealed, context=b"complaint-1") == "13812345678"
    with pytest.raises(InvalidTag):
        cipher.decrypt(sealed, context=b"complaint-2")


def test_rotation_new_key_encrypts_old_key_still_decrypts() -> None:
    old = new_key_ring_spec("k1")
    sealed = FieldCipher(parse_key_ring(old)).encrypt("张三")
    rotated = FieldCipher(parse_key_ring(f"{new_key_ring_spec('k2')},{old}"))
    assert rotated.decrypt(sealed) == "张三"
    assert (rotated.encrypt("张三") or b"").startswith(b"k2.")
    with pytest.raises(PiiKeyError, match="no key 'k1'"):
        FieldCipher(parse_key_ring(new_key_ring_spec("k3"))).decrypt(sealed)


@pytest.mark.parametrize("spec", ["", "nokid", "k1:not-base64!", "k1:AAAA"])
def test_bad_key_rings_are_refused(spec: str) -> None:
    with pytest.raises(PiiKeyError):
        parse_key_ring(spec)


def test_masks() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_email("alice@example.com") == "a****@example.com"
    assert mask_phone(None) is None


def test_fingerprint_is_stable_across_formatting_and_reveals_nothing() -> None:
    cipher = FieldCipher(parse_key_ring(new_key_ring_spec()))
    a = cipher.fingerprint("138 1234-5678")
    assert a == cipher.fingerprint("13812345678")
    assert a is not None and "5678" not in a
    assert cipher.fingerprint(None, None) is None
