"""What a report says, as one canonical JSON document; its SHA-256 is what the pathologist's key signs.

The signing key is Ed25519, from LABPULSE_REPORT_SIGNING_KEY or, when unset, derived from LABPULSE_SECRET_KEY
(HKDF, its own label). Each report stores the public key it was signed with, so a later key change never makes
an old report look forged.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LAB = {"name": "labpulse Central Processing Lab", "address": "Andheri, Mumbai", "accreditation": "NABL (demo)"}


def signing_key(secret: str) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"labpulse.report-signing").derive(
        secret.encode()
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest(content: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical(content)).digest()


def sign(key: Ed25519PrivateKey, content: dict[str, Any]) -> tuple[bytes, bytes]:
    h = digest(content)
    return h, key.sign(h)


def genuine(content: dict[str, Any], stored_hash: bytes, signature: bytes, public_key: bytes) -> bool:
    """The content still hashes to what was signed, and the signature is the key's."""
    if digest(content) != stored_hash:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, stored_hash)
    except (InvalidSignature, ValueError):
        return False
    return True


def issued_text(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
