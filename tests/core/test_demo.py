"""Demo data and the simulated lab that makes a newcomer's timeline move."""

from __future__ import annotations

import asyncpg

from core import demo
from core.vault import Vault


async def test_the_simulated_lab_moves_the_stalest_tube_then_collects_a_new_one(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    await demo.seed(conn, vault)

    async def states() -> dict[str, str]:
        rows = await conn.fetch("SELECT barcode, state FROM samples WHERE barcode LIKE 'DEMO-%'")
        return {r["barcode"]: r["state"] for r in rows}

    before = await states()
    moved = await demo.simulate_step(conn)
    after = await states()
    assert moved is not None and [b for b in before if before[b] != after[b]] == [moved]
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE payload->>'barcode' = $1", moved) >= 2

    for _ in range(40):  # every moving tube reaches "reported"; then a fresh one is collected
        moved = await demo.simulate_step(conn)
        if moved and moved.startswith("DEMO-SIM-"):
            break
    assert moved == "DEMO-SIM-0001"
    final = await states()
    assert final["DEMO-SIM-0001"] == "collected"
    assert {s for b, s in final.items() if b != "DEMO-SIM-0001"} <= {"reported", "rejected"}
    assert (await demo.simulate_step(conn)) == "DEMO-SIM-0001"  # and it starts moving at once
