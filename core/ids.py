"""Ids that arrive from outside (URLs, JSON) are checked before they reach SQL: a malformed one names nothing."""

from __future__ import annotations

import uuid


def is_uuid(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
