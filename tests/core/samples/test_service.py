"""Sample transitions through real PostgreSQL: atomic change + history + outbox + audit, refusals, races."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core import audit
from core.errors import InvalidInput, InvalidTransition, PermissionDenied, StaleVersion, UnknownBarcode
from core.identity import RequestMeta
from core.samples import service as samples
from core.samples.model import RejectionReason, SampleState
from core.vault import Vault
from tests.support.factories import ADMIN, PATHOLOGIST, PHLEB, TECH, make_sample

S = SampleState


async def _counts(conn: asyncpg.Connection, sample_id: str, patient_id: str) -> tuple[int, int, int]:
    history = await conn.fetchval("SELECT count(*) FROM sample_transitions WHERE sample_id = $1", sample_id)
    events = await conn.fetchval("SELECT count(*) FROM outbox WHERE patient_id = $1", patient_id)
    audits = await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity_id = $1 AND outcome = 'ok'", sample_id)
    return history, events, audits


async def test_a_transition_writes_state_history_event_and_audit_together(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    sample = await make_sample(conn, vault)
    before = await _counts(conn, sample.id, sample.patient_id)
    meta = RequestMeta(request_id="req-12345678", source_ip="198.51.100.4", user_agent="scanner/1.0")
    moved = await samples.transition(
        conn, barcode=sample.barcode.lower(), to_state=S.IN_TRANSIT, actor=PHLEB, centre_id="CC-1", meta=meta
    )
    assert (moved.state, moved.version) == (S.IN_TRANSIT, 2)
    assert await _counts(conn, sample.id, sample.patient_id) == tuple(n + 1 for n in before)

    event = await conn.fetchrow(
        "SELECT type, payload, patient_seq FROM outbox WHERE patient_id = $1 ORDER BY patient_seq DESC LIMIT 1",
        sample.patient_id,
    )
    assert event["type"] == "sample.state_changed"
    assert (event["payload"]["from"], event["payload"]["to"]) == ("collected", "in_transit")
    # The event announces exactly what was stored: same version, same time as the row and its history step.
    assert (event["payload"]["version"], event["payload"]["at"]) == (2, moved.updated_at.isoformat())
    assert moved.updated_at >= sample.updated_at
    row = await conn.fetchrow("SELECT * FROM audit_log WHERE entity_id = $1 ORDER BY id DESC LIMIT 1", sample.id)
    assert (row["actor_id"], row["actor_role"], row["action"]) == ("staff:phleb", "phlebotomist", "sample.transition")
    assert (row["request_id"], row["source_ip"], row["user_agent"]) == ("req-12345678", "198.51.100.4", "scanner/1.0")
    assert row["summary"]["from"] == "collected" and row["summary"]["to"] == "in_transit"
    step = await conn.fetchrow("SELECT * FROM sample_transitions WHERE sample_id = $1 AND version = 2", sample.id)
    assert (step["actor_id"], step["centre_id"], step["from_state"]) == ("staff:phleb", "CC-1", "collected")
    assert step["at"] == moved.updated_at


async def test_an_illegal_transition_names_both_states_and_changes_nothing(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    sample = await make_sample(conn, vault)
    before = await _counts(conn, sample.id, sample.patient_id)
    with pytest.raises(InvalidTransition, match="'collected' and cannot move to 'reported'"):
        await samples.transition(
            conn, barcode=sample.barcode, to_state=S.REPORTED, actor=PATHOLOGIST, centre_id="LAB-1"
        )
    assert await _counts(conn, sample.id, sample.patient_id) == before
    assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", sample.id) == "collected"
    refusal = await conn.fetchrow(
        "SELECT outcome, summary FROM audit_log WHERE entity_id = $1 ORDER BY id DESC LIMIT 1", sample.id
    )
    assert refusal["outcome"] == "refused:invalid_transition"
    assert refusal["summary"] == {"barcode": sample.barcode, "from": "collected", "to": "reported"}


async def test_an_unknown_barcode_is_its_own_error_and_kept_for_review(conn: asyncpg.Connection, vault: Vault) -> None:
    await make_sample(conn, vault)
    with pytest.raises(UnknownBarcode):
        await samples.transition(
            conn, barcode="NO-SUCH-TUBE", to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
        )
    queue = await samples.review_queue(conn, actor=TECH)
    assert [(q.barcode, q.attempted_state, q.actor_id) for q in queue] == [
        ("NO-SUCH-TUBE", "received_at_lab", "staff:tech")
    ]
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE outcome = 'refused:unknown_barcode'") == 1


async def test_a_malformed_barcode_is_refused_and_still_recorded(conn: asyncpg.Connection, vault: Vault) -> None:
    with pytest.raises(InvalidInput):
        await samples.transition(conn, barcode="??", to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1")
    assert [q.barcode for q in await samples.review_queue(conn, actor=TECH)] == ["??"]


async def test_a_role_without_the_right_is_refused_and_audited(conn: asyncpg.Connection, vault: Vault) -> None:
    sample = await make_sample(conn, vault)
    for state in (S.IN_TRANSIT, S.RECEIVED_AT_LAB, S.PROCESSING, S.COMPLETED):
        await samples.transition(conn, barcode=sample.barcode, to_state=state, actor=TECH, centre_id="LAB-1")
    with pytest.raises(PermissionDenied):
        await samples.transition(conn, barcode=sample.barcode, to_state=S.REPORTED, actor=TECH, centre_id="LAB-1")
    assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", sample.id) == "completed"
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE outcome = 'refused:forbidden' AND actor_role = 'lab_technician'"
        )
        == 1
    )
    reported = await samples.transition(
        conn, barcode=sample.barcode, to_state=S.REPORTED, actor=PATHOLOGIST, centre_id="LAB-1"
    )
    assert reported.state is S.REPORTED


async def test_rejection_and_recollection_carry_the_reason(conn: asyncpg.Connection, vault: Vault) -> None:
    sample = await make_sample(conn, vault)
    rejected = await samples.transition(
        conn,
        barcode=sample.barcode,
        to_state=S.REJECTED,
        actor=TECH,
        centre_id="LAB-1",
        reason=RejectionReason.HAEMOLYSED,
        note="pink serum",
    )
    assert rejected.rejection_reason is RejectionReason.HAEMOLYSED
    again = await samples.transition(
        conn, barcode=sample.barcode, to_state=S.RECOLLECTION_REQUESTED, actor=ADMIN, centre_id="LAB-1"
    )
    assert again.state is S.RECOLLECTION_REQUESTED and again.rejection_reason is RejectionReason.HAEMOLYSED
    order_id = sample.order_id
    replacement = await samples.register(
        conn,
        order_id=order_id,
        barcode="RE-" + sample.barcode[2:],
        sample_type=sample.sample_type,
        actor=PHLEB,
        centre_id="CC-1",
        replaces_sample_id=sample.id,
    )
    assert replacement.replaces_sample_id == sample.id


async def test_an_unknown_centre_is_invalid_input_not_a_crash(conn: asyncpg.Connection, vault: Vault) -> None:
    sample = await make_sample(conn, vault)
    with pytest.raises(InvalidInput, match="no centre with id 'MARS-1'"):
        await samples.transition(conn, barcode=sample.barcode, to_state=S.IN_TRANSIT, actor=PHLEB, centre_id="MARS-1")
    assert await conn.fetchval("SELECT version FROM samples WHERE id = $1", sample.id) == 1


async def test_stale_version_is_refused(conn: asyncpg.Connection, vault: Vault) -> None:
    sample = await make_sample(conn, vault)
    await samples.transition(
        conn, barcode=sample.barcode, to_state=S.IN_TRANSIT, actor=PHLEB, centre_id="CC-1", expected_version=1
    )
    with pytest.raises(StaleVersion) as err:
        await samples.transition(
            conn, barcode=sample.barcode, to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1", expected_version=1
        )
    assert (err.value.expected, err.value.actual) == (1, 2)


async def test_a_failure_after_the_update_rolls_the_whole_change_back(conn: asyncpg.Connection, vault: Vault) -> None:
    """If the outbox insert fails, the sample row, its history and the audit row must not survive either."""
    sample = await make_sample(conn, vault)
    await conn.execute("""
        CREATE FUNCTION fail_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'outbox is down'; END $$;
        CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION fail_outbox();""")
    before = await _counts(conn, sample.id, sample.patient_id)
    audit_rows = await conn.fetchval("SELECT count(*) FROM audit_log")
    with pytest.raises(asyncpg.RaiseError, match="outbox is down"):
        await samples.transition(conn, barcode=sample.barcode, to_state=S.IN_TRANSIT, actor=PHLEB, centre_id="CC-1")
    assert await _counts(conn, sample.id, sample.patient_id) == before
    assert await conn.fetchval("SELECT count(*) FROM audit_log") == audit_rows
    assert await conn.fetchval("SELECT (state, version)::text FROM samples WHERE id = $1", sample.id) == "(collected,1)"
    assert (await audit.verify(conn)).ok


async def test_two_simultaneous_scans_of_one_sample_cannot_both_win(pool: asyncpg.Pool, vault: Vault) -> None:
    """Race the same edge (both want in_transit) and two exclusive edges (completed vs rejected), many times."""
    async with pool.acquire() as conn:
        tubes = [await make_sample(conn, vault) for _ in range(20)]

    async def attempt(barcode: str, to: SampleState) -> str:
        async with pool.acquire() as c:
            try:
                reason = RejectionReason.LEAKED if to is S.REJECTED else None
                await samples.transition(c, barcode=barcode, to_state=to, actor=TECH, centre_id="LAB-1", reason=reason)
            except InvalidTransition:
                return "lost"
            return "won"

    for i, tube in enumerate(tubes):
        rivals = (S.IN_TRANSIT, S.IN_TRANSIT) if i % 2 else (S.COMPLETED, S.REJECTED)
        if not i % 2:
            async with pool.acquire() as c:
                for state in (S.RECEIVED_AT_LAB, S.PROCESSING):
                    await samples.transition(c, barcode=tube.barcode, to_state=state, actor=TECH, centre_id="LAB-1")
        outcome = await asyncio.gather(*(attempt(tube.barcode, to) for to in rivals))
        assert sorted(outcome) == ["lost", "won"], (i, outcome)
    async with pool.acquire() as conn:
        # Every sample's history is a clean chain with exactly one row per version.
        bad = await conn.fetchval("""
            SELECT count(*) FROM samples s
            WHERE s.version <> (SELECT count(*) FROM sample_transitions t WHERE t.sample_id = s.id)""")
        assert bad == 0
        assert (await audit.verify(conn)).ok
