from __future__ import annotations

import os

import pytest

from core.crypto import DecryptionError, FieldCipher, LookupHasher, generate_key


def test_round_trip_and_fresh_nonce_each_time() -> None:
    cipher = FieldCipher({"k1": generate_key()}, "k1")
    a = cipher.encrypt("Asha Verma", context="patients.name:1")
    b = cipher.encrypt("Asha Verma", context="patients.name:1")
    assert a != b
    assert b"Asha" not in a
    assert cipher.decrypt(a, context="patients.name:1") == "Asha Verma"
    assert FieldCipher.key_id_of(a) == "k1"


def test_a_value_moved_to_another_row_or_column_does_not_open() -> None:
    cipher = FieldCipher({"k1": generate_key()}, "k1")
    blob = cipher.encrypt("+919800000001", context="patients.phone:1")
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, context="patients.phone:2")
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, context="patients.name:1")


def test_tampered_ciphertext_is_refused() -> None:
    cipher = FieldCipher({"k1": generate_key()}, "k1")
    blob = bytearray(cipher.encrypt("result 5.4", context="c"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(blob), context="c")


def test_rotation_new_writes_use_new_key_old_rows_still_open() -> None:
    old, new = generate_key(), generate_key()
    before = FieldCipher({"2025": old}, "2025").encrypt("dob 1970-01-01", context="c")
    rotated = FieldCipher({"2025": old, "2026": new}, "2026")
    assert FieldCipher.key_id_of(rotated.encrypt("x", context="c")) == "2026"
    assert rotated.decrypt(before, context="c") == "dob 1970-01-01"
    with pytest.raises(DecryptionError, match="no key with id '2025'"):
        FieldCipher({"2026": new}, "2026").decrypt(before, context="c")


def test_lookup_hash_is_keyed() -> None:
    k1, k2 = LookupHasher(os.urandom(32)), LookupHasher(os.urandom(32))
    assert k1.digest("phone", "+919800000001") == k1.digest("phone", "+919800000001")
    assert k1.digest("phone", "+919800000001") != k2.digest("phone", "+919800000001")
    assert k1.digest("phone", "+919800000001") != k1.digest("phone", "+919800000002")
