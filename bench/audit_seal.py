"""What sealing audit rows costs (docs/security.md, "Sealed audit rows"): one audited transaction (BEGIN, the audit
INSERT, COMMIT with the chain trigger) with and without the seal, in a throwaway schema, then `audit verify` of all
rows with the key. Prints milliseconds per transaction for each, over a few rounds.

    .venv/bin/python bench/audit_seal.py [--rows 2000] [--rounds 3]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import asyncpg

from core import audit
from core.db.migrate import migrate
from core.db.pool import connect
from core.identity import Actor, Role


async def _per_transaction_ms(url: str, rows: int, key: bytes | None) -> float:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    owner = await asyncpg.connect(url)
    await migrate(owner, schema)
    await owner.close()
    conn = await connect(url, schema)
    audit.use_key(key)
    actor = Actor("staff:bench", Role.LAB_TECHNICIAN)
    try:
        started = time.perf_counter()
        for i in range(rows):
            async with conn.transaction():
                await audit.append(conn, actor=actor, action="bench.row", entity_type="bench", entity_id=str(i),
                                   summary={"i": i})  # fmt: skip
        took = time.perf_counter() - started
        assert (await audit.verify(conn, key=key)).ok
        return took / rows * 1000
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    for round_ in range(1, args.rounds + 1):
        plain = await _per_transaction_ms(args.database_url, args.rows, None)
        sealed = await _per_transaction_ms(args.database_url, args.rows, audit.seal_key("bench-" + "k" * 40))
        print(f"round {round_}: {plain:.3f} ms unsealed, {sealed:.3f} ms sealed per audited transaction "
              f"({(sealed - plain) * 1000:+.0f} µs)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
