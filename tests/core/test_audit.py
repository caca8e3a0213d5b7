"""The audit log refuses rewrites, and verify finds a row altered or deleted behind the triggers' back."""

from __future__ import annotations

import asyncio
import itertools

import asyncpg
import pytest

from core import audit
from core.identity import Actor, RequestMeta, Role

ACTOR = Actor("staff:auditor", Role.ADMIN)


async def _append(conn: asyncpg.Connection, n: int) -> None:
    for i in range(n):
        async with conn.transaction():
            await audit.append(
                conn,
                actor=ACTOR,
                action="patient.read",
                entity_type="patient",
                entity_id=f"p{i}",
                summary={"purpose": "test", "i": i},
                meta=RequestMeta("r-0000000" + str(i), "192.0.2.1"),
            )


async def test_rows_chain_from_genesis_in_commit_order_and_verify(conn: asyncpg.Connection) -> None:
    await _append(conn, 5)
    rows = await conn.fetch("SELECT chain, seq, audit_id, prev_hash, hash FROM audit_chain ORDER BY seq")
    assert len({r["chain"] for r in rows}) == 1  # one connection writes to one chain
    assert [(r["seq"], r["audit_id"]) for r in rows] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]
    assert bytes(rows[0]["prev_hash"]) == audit.GENESIS
    assert all(bytes(b["prev_hash"]) == bytes(a["hash"]) for a, b in itertools.pairwise(rows))
    report = await audit.verify(conn)
    assert report.ok and report.rows == 5 and len(report.head_hash) == 64


async def test_a_rolled_back_row_is_never_chained(conn: asyncpg.Connection) -> None:
    await _append(conn, 1)
    tx = conn.transaction()
    await tx.start()
    await audit.append(conn, actor=ACTOR, action="x", entity_type="y")
    await tx.rollback()
    await _append(conn, 1)
    assert [r["audit_id"] for r in await conn.fetch("SELECT audit_id FROM audit_chain ORDER BY seq")] == [1, 3]
    assert (await audit.verify(conn)).ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET outcome = 'ok' WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 2",
        "TRUNCATE audit_log CASCADE",
        "UPDATE audit_chain SET hash = prev_hash WHERE seq = 2",
        "DELETE FROM audit_chain WHERE seq = 3",
        "TRUNCATE audit_chain",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET last_seq = 1",
    ],
)
async def test_rewriting_history_is_refused_by_the_database(conn: asyncpg.Connection, statement: str) -> None:
    await _append(conn, 3)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(statement)
    assert (await audit.verify(conn)).ok


async def _behind_the_triggers(conn: asyncpg.Connection, statement: str) -> None:
    tables = ("audit_log", "audit_chain", "audit_head")
    await conn.execute("; ".join(f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in tables))
    await conn.execute(statement)
    await conn.execute("; ".join(f"ALTER TABLE {t} ENABLE TRIGGER USER" for t in tables))


@pytest.mark.parametrize(
    ("statement", "bad_seq", "problem"),
    [
        ("UPDATE audit_log SET actor_id = 'staff:someone-else' WHERE id = 3", 3, "altered"),
        ('UPDATE audit_log SET summary = \'{"purpose": "care", "i": 2}\' WHERE id = 3', 3, "altered"),
        ("UPDATE audit_log SET at = at - interval '1 day' WHERE id = 4", 4, "altered"),
        ("DELETE FROM audit_log WHERE id = 2", 2, "was deleted"),
        ("DELETE FROM audit_chain WHERE seq = 2", 2, "is missing"),
        ("DELETE FROM audit_chain WHERE seq >= 5; DELETE FROM audit_log WHERE id >= 5", 5, "tail deleted"),
        (
            "INSERT INTO audit_log (actor_id, actor_role, action, entity_type, outcome) "
            "VALUES ('ghost', 'admin', 'patient.read', 'patient', 'ok')",
            None,
            "not in any chain",
        ),
    ],
)
async def test_verify_finds_tampering_done_with_triggers_disabled(
    conn: asyncpg.Connection, statement: str, bad_seq: int | None, problem: str
) -> None:
    await _append(conn, 6)
    await _behind_the_triggers(conn, statement)
    report = await audit.verify(conn)
    assert not report.ok
    assert report.bad_seq == bad_seq
    assert problem in (report.problem or "")


async def test_a_forged_rechain_of_a_row_is_caught_by_the_next_link(conn: asyncpg.Connection) -> None:
    """Rewriting a row AND recomputing its own link still breaks the link from the row after it."""
    await _append(conn, 4)
    await _behind_the_triggers(
        conn,
        """UPDATE audit_log SET actor_id = 'x' WHERE id = 2;
           UPDATE audit_chain c SET hash = sha256(c.prev_hash || convert_to(jsonb_build_array(
               c.chain, c.seq, a.id, (extract(epoch FROM a.at) * 1000000)::bigint, a.actor_id, a.actor_role, a.action,
               a.entity_type, a.entity_id, a.patient_id, a.outcome, a.summary, a.request_id, a.source_ip,
               a.user_agent)::text, 'UTF8'))
           FROM audit_log a WHERE a.id = c.audit_id AND c.seq = 2""",
    )
    report = await audit.verify(conn)
    assert (report.ok, report.bad_seq) == (False, 3)
    assert "does not link" in (report.problem or "")


async def test_chains_written_by_many_connections_all_verify(pool: asyncpg.Pool) -> None:
    async def writer(n: int) -> None:
        async with pool.acquire() as c:
            await _append(c, n)

    await asyncio.gather(*(writer(5) for _ in range(8)))
    async with pool.acquire() as c:
        report = await audit.verify(c)
        chains = await c.fetchval("SELECT count(DISTINCT chain) FROM audit_chain")
    assert report.ok and report.rows == 40 and chains >= 1


async def test_verify_walks_many_batches(conn: asyncpg.Connection) -> None:
    await _append(conn, 25)
    report = await audit.verify(conn, batch=4)
    assert report.ok and report.rows == 25
