"""``atomic(conn)``: a transaction, or the caller's own when it already holds one.

Inside a caller's transaction a nested ``conn.transaction()`` is a savepoint: two more round trips, which the
per-message paths of the HL7 listener pay a dozen times a second per connection. Where the caller's transaction
(or its savepoint) already makes the work all-or-nothing, and no caller catches an error from inside and carries
on, ``atomic`` adds nothing."""

from __future__ import annotations

import contextlib
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg


def atomic(conn: asyncpg.Connection) -> AbstractAsyncContextManager[Any]:
    return contextlib.nullcontext() if conn.is_in_transaction() else conn.transaction()
