"""Field encryption (AES-256-GCM with a key id, so keys can rotate) and keyed lookup hashes (HMAC-SHA256).

Envelope: version byte 0x01 | key-id length | key id (ASCII) | 12-byte nonce | ciphertext+tag. The
associated data binds a ciphertext to its place ("patients.name:<id>"), so a value copied into another row or
column fails to decrypt instead of silently showing the wrong patient's data.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = 1


class DecryptionError(Exception):
    """A ciphertext that no configured key opens, or that was tampered with or moved."""


class FieldCipher:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError("the active key id is not among the keys")
        for kid, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {kid!r} is not 32 bytes")
        self._aead = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active_key_id = active_key_id

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        return self.encrypt_bytes(plaintext.encode("utf-8"), context=context)

    def decrypt(self, blob: bytes, *, context: str) -> str:
        return self.decrypt_bytes(blob, context=context).decode("utf-8")

    def encrypt_bytes(self, plaintext: bytes, *, context: str) -> bytes:
        kid = self.active_key_id.encode("ascii")
        nonce = os.urandom(12)
        sealed = self._aead[self.active_key_id].encrypt(nonce, plaintext, context.encode("utf-8"))
        return bytes([_VERSION, len(kid)]) + kid + nonce + sealed

    def decrypt_bytes(self, blob: bytes, *, context: str) -> bytes:
        kid, nonce, sealed = self._split(blob)
        aead = self._aead.get(kid)
        if aead is None:
            raise DecryptionError(f"no key with id {kid!r} is configured")
        try:
            return aead.decrypt(nonce, sealed, context.encode("utf-8"))
        except InvalidTag as exc:
            raise DecryptionError("ciphertext failed authentication (tampered, or moved to another field)") from exc

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        return FieldCipher._split(blob)[0]

    @staticmethod
    def _split(blob: bytes) -> tuple[str, bytes, bytes]:
        if len(blob) < 2 or blob[0] != _VERSION:
            raise DecryptionError("unknown ciphertext format")
        n = blob[1]
        kid = blob[2 : 2 + n].decode("ascii")
        return kid, blob[2 + n : 14 + n], blob[14 + n :]


class LookupHasher:
    """Keyed hash for equality lookups on encrypted values (a phone number) without storing them in clear."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("lookup key must be at least 32 bytes")
        self._key = key

    def digest(self, kind: str, normalized_value: str) -> bytes:
        return hmac.new(self._key, f"{kind}:{normalized_value}".encode(), hashlib.sha256).digest()


def generate_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)
