from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from shared.privacy import (
    FieldCipher,
    PiiKeyError,
    load_or_pin_fingerprint_key,
    mask_card_number,
    mask_email,
    mask_id_number,
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


@pytest.mark.parametrize("value", ["87654321", "1234567", "123456", "12345", "1234", "123",
                                   "0123456789", "A1B2C3D4E5"])
def test_short_values_show_at_most_a_third(value: str) -> None:
    for mask in (mask_phone, mask_id_number, mask_card_number):
        masked = mask(value) or ""
        shown = sum(1 for a, b in zip(value, masked, strict=True) if a == b and b != "*")
        assert len(masked) == len(value) and shown <= len(value) // 3, (mask, masked)
    assert mask_phone("87654321") == "8******1"


def test_long_numbers_keep_the_customary_mask() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("11010519491231002X") == "11**************2X"
    assert mask_card_number("6222021234567894") == "************7894"
    assert mask_email("ab@example.com") == "**@example.com"


def test_fingerprints_survive_retiring_the_key_they_were_made_with(tmp_path: Path) -> None:
    old = new_key_ring_spec("k1")
    ring = parse_key_ring(old)
    before = FieldCipher(ring, load_or_pin_fingerprint_key(None, ring, tmp_path))
    rotated = parse_key_ring(f"{new_key_ring_spec('k2')},{old}")
    retired = parse_key_ring(new_key_ring_spec("k3"))  # k1 and k2 gone
    for later in (rotated, retired):
        after = FieldCipher(later, load_or_pin_fingerprint_key(None, later, tmp_path))
        assert after.fingerprint("13812345678") == before.fingerprint("13812345678")
    # Compatible: the pinned secret is the one fingerprints were made with before.
    assert FieldCipher(ring).fingerprint("13812345678") == before.fingerprint("13812345678")


def test_a_configured_fingerprint_key_wins(tmp_path: Path) -> None:
    ring = parse_key_ring(new_key_ring_spec())
    spec = new_key_ring_spec("x").split(":", 1)[1]
    pinned = load_or_pin_fingerprint_key(spec, ring, tmp_path)
    assert not (tmp_path / "pii_fingerprint.key").exists()
    assert FieldCipher(ring, pinned).fingerprint("a@b.cn") != FieldCipher(ring).fingerprint(
        "a@b.cn")
    with pytest.raises(PiiKeyError):
        load_or_pin_fingerprint_key("AAAA", ring, tmp_path)
