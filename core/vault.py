"""The PHI vault: one object holding the field cipher and the lookup hasher, built once from Settings."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from core.config import Settings
from core.crypto import FieldCipher, LookupHasher


@dataclass(frozen=True)
class Vault:
    cipher: FieldCipher
    lookup: LookupHasher
    phone_region: str = "IN"

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        if not settings.field_keys or settings.field_key_active is None or settings.lookup_key is None:
            raise RuntimeError("field encryption keys are not configured")
        return cls(
            cipher=FieldCipher(settings.field_key_bytes(), settings.field_key_active),
            lookup=LookupHasher(base64.b64decode(settings.lookup_key.reveal())),
            phone_region=settings.phone_region,
        )

    def seal(self, table: str, column: str, row_id: str, value: str | None) -> bytes | None:
        if value is None:
            return None
        return self.cipher.encrypt(value, context=f"{table}.{column}:{row_id}")

    def open(self, table: str, column: str, row_id: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        return self.cipher.decrypt(bytes(blob), context=f"{table}.{column}:{row_id}")

    def seal_file(self, kind: str, name: str, data: bytes) -> bytes:
        """Encrypt a stored file; the context binds it to its name, so a file copied over another fails to open."""
        return self.cipher.encrypt_bytes(data, context=f"file.{kind}:{name}")

    def open_file(self, kind: str, name: str, blob: bytes) -> bytes:
        return self.cipher.decrypt_bytes(blob, context=f"file.{kind}:{name}")
