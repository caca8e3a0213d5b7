"""Where files live (report PDFs): a small interface, with a local directory as the embedded default and PostgreSQL
for a deployment of several machines (``LABPULSE_FILE_STORE=postgres``). The only SQL for ``stored_files``.

Callers hand in bytes that are already encrypted (``Vault.seal_file``); a store only keeps them. ``put`` is atomic:
the bytes go to a temporary name in the same directory, are flushed to disk, then renamed over the final name, so a
process killed mid-write leaves either the old file, the new file, or a stray temporary (never a half-written file
under the real name). Writing the same name twice is allowed and simply replaces it: that is what lets a retried
job write again without harm. An object store (S3 and the like) fits the same three methods.

Why PostgreSQL and not an object store for several machines: a report file is 30-100 KB, a lab of 1,000 patients a
day writes well under 100 MB a day, and PostgreSQL already holds everything else: one service to run, one backup
that restores rows and files to the same moment, and the same pool (through PgBouncer too). ``bench/file_store.py``
measures it against the local disk (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from pathlib import Path
from typing import Protocol

import asyncpg

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_TMP_SUFFIX = ".partial"


class FileStore(Protocol):
    async def put(self, name: str, data: bytes) -> None: ...

    async def get(self, name: str) -> bytes | None: ...

    async def exists(self, name: str) -> bool: ...


def _check(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise ValueError(f"not a valid stored-file name: {name!r}")
    return name


class LocalFileStore:
    """Files under one directory, sharded by the name's first two characters (no directory grows huge)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        _check(name)
        return self.root / name[:2] / name

    def _put(self, name: str, data: bytes) -> None:
        final = self.path(name)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = final.with_name(f"{final.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(final)
            directory = os.open(final.parent, os.O_RDONLY)  # the rename itself survives a power cut
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _get(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, name, data)

    async def get(self, name: str) -> bytes | None:
        return await asyncio.to_thread(self._get, name)

    async def exists(self, name: str) -> bool:
        return await asyncio.to_thread(self.path(name).exists)

    def sweep_partials(self, older_than_seconds: float = 3600) -> int:
        """Remove temporaries left by a killed writer (never referenced by any record); returns how many."""
        cutoff, removed = time.time() - older_than_seconds, 0
        for tmp in self.root.glob(f"*/*{_TMP_SUFFIX}"):
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed


class PostgresFileStore:
    """Files as rows of ``stored_files`` (one statement each): every process on every machine sees the same ones.
    ``put`` replaces a row in one statement, so a reader sees the old bytes or the new, never a mix."""

    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self._db = db

    async def put(self, name: str, data: bytes) -> None:
        await self._db.execute(
            """INSERT INTO stored_files (name, data) VALUES ($1, $2)
               ON CONFLICT (name) DO UPDATE SET data = excluded.data, stored_at = now()""",
            _check(name),
            data,
        )

    async def get(self, name: str) -> bytes | None:
        data: bytes | None = await self._db.fetchval("SELECT data FROM stored_files WHERE name = $1", _check(name))
        return data

    async def exists(self, name: str) -> bool:
        found: bool = await self._db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM stored_files WHERE name = $1)", _check(name)
        )
        return found

    def sweep_partials(self, older_than_seconds: float = 3600) -> int:
        """Nothing to sweep: a row is written whole or not at all."""
        return 0


def file_store(kind: str, root: Path, db: asyncpg.Pool | asyncpg.Connection) -> LocalFileStore | PostgresFileStore:
    """The store the settings name: ``disk`` (``root``) or ``postgres`` (``db``)."""
    return PostgresFileStore(db) if kind == "postgres" else LocalFileStore(root)
