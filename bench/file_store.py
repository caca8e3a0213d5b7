"""Report files in PostgreSQL against the local disk (issue 20: does PostgreSQL hold up as the store every machine
shares?). Each store takes ``--files`` sealed report files of ``--kb`` KB (random bytes: sealed files do not
compress), written by ``--concurrency`` writers at once, then read back by as many readers; it prints files per
second and each put's and get's p50/p99, and for PostgreSQL the bytes the table takes per file.

    .venv/bin/python bench/file_store.py [--files 2000] [--kb 80] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg
from common import drop, pct, throwaway

from core.db.migrate import migrate
from core.db.pool import create_pool
from core.storage import FileStore, LocalFileStore, PostgresFileStore


async def _timed(store: FileStore, names: list[str], blobs: list[bytes], concurrency: int, read: bool) -> list[float]:
    took: list[float] = []
    queue = list(zip(names, blobs, strict=True))

    async def one() -> None:
        while queue:
            name, blob = queue.pop()
            t0 = time.perf_counter()
            if read:
                got = await store.get(name)
                assert got == blob, name
            else:
                await store.put(name, blob)
            took.append(time.perf_counter() - t0)

    await asyncio.gather(*(one() for _ in range(concurrency)))
    return took


def _line(kind: str, what: str, took: list[float], seconds: float) -> str:
    return (f"{kind:9} {what}: {len(took) / seconds:7.0f} files/s, p50 {pct(took, 50) * 1000:6.2f} ms, "
            f"p99 {pct(took, 99) * 1000:6.2f} ms")  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    settings, _ = throwaway(args.database_url, args.redis_url, "lpbench")
    assert settings.database_url is not None
    conn = await asyncpg.connect(settings.database_url.reveal())
    await conn.execute(f'CREATE SCHEMA "{settings.db_schema}"')
    await migrate(conn, settings.db_schema)
    await conn.close()
    pool = await create_pool(settings.database_url.reveal(), settings.db_schema, min_size=args.concurrency,
                             max_size=args.concurrency)  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="lpbench-files-"))
    blobs = [os.urandom(args.kb * 1024) for _ in range(args.files)]
    names = [f"report-{i:06d}.pdf.sealed" for i in range(args.files)]
    try:
        for kind, store in (("disk", LocalFileStore(root)), ("postgres", PostgresFileStore(pool))):
            for what, read in (("put", False), ("get", True)):
                t0 = time.perf_counter()
                took = await _timed(store, names, blobs, args.concurrency, read)
                print(_line(kind, what, took, time.perf_counter() - t0), flush=True)
        size = await pool.fetchval("SELECT pg_total_relation_size('stored_files')")
        print(f"postgres  table: {size / args.files / 1024:.1f} KB per {args.kb} KB file "
              f"({size / 2**20:.0f} MiB for {args.files})")  # fmt: skip
    finally:
        await pool.close()
        shutil.rmtree(root, ignore_errors=True)
        await drop(settings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--kb", type=int, default=80)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
