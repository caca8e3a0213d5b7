"""What must happen once, recorded durably in PostgreSQL: an inbound message id (Twilio ``MessageSid``, Telegram
``update_id``), a magic link's id, a used sign-in code. This module owns the ``once_keys`` table.

``claim`` inserts the key and says whether this caller is the first; a key past its expiry may be claimed again
(the providers stop retrying long before). A claim taken before its work is done is ``settle``d after it, so a
retry can tell a message handled from one whose first delivery never finished. Redis may keep a copy in front
(the first answer to a message, for a retry to get the same reply), but losing Redis never lets anything happen
twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol


class _Executor(Protocol):
    async def fetchval(self, query: str, *args: object) -> object: ...

    async def execute(self, query: str, *args: object) -> str: ...


async def claim(db: _Executor, scope: str, key: str, *, ttl: timedelta, settled: bool = True) -> bool:
    """True for the first caller with this (scope, key) while it lasts; False for every other. ``settled=False``:
    the work is still to be done, and ``settle`` says when it is."""
    claimed = await db.fetchval(
        """INSERT INTO once_keys (scope, key, expires_at, settled) VALUES ($1, $2, now() + $3::interval, $4)
           ON CONFLICT (scope, key) DO UPDATE SET claimed_at = now(), expires_at = EXCLUDED.expires_at,
                                                  settled = EXCLUDED.settled
               WHERE once_keys.expires_at < now()
           RETURNING true""",
        scope,
        key[:200],
        ttl,
        settled,
    )
    return bool(claimed)


async def settle(db: _Executor, scope: str, key: str) -> None:
    """The work a claim guards is done."""
    await db.execute("UPDATE once_keys SET settled = true WHERE scope = $1 AND key = $2", scope, key[:200])


async def settled(db: _Executor, scope: str, key: str) -> bool:
    """Whether the claim's work was done (False too when there is no claim)."""
    return bool(await db.fetchval("SELECT settled FROM once_keys WHERE scope = $1 AND key = $2", scope, key[:200]))


async def release(db: _Executor, scope: str, key: str) -> None:
    """Let the key be claimed again (the work failed before it took effect: the sender's retry should run it)."""
    await db.execute("DELETE FROM once_keys WHERE scope = $1 AND key = $2", scope, key[:200])


async def purge(db: _Executor) -> int:
    """Delete expired keys (the worker's sweep); returns how many."""
    done = await db.execute("DELETE FROM once_keys WHERE expires_at < now()")
    return int(done.split()[-1])
