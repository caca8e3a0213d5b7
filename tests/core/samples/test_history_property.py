"""Property: any random sequence of scan attempts (legal or not, by any role) leaves a consistent record.

Consistent means: the history is an unbroken chain of legal edges with one row per version; the sample row
matches its last step; the patient's events mirror the history one-for-one with gap-free seq numbers; every
attempt left exactly one audit row (ok or refused); and the audit chain verifies.
"""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core import audit
from core.config import Settings
from core.db.pool import connect
from core.errors import DomainError
from core.identity import Actor, Role
from core.samples import service as samples
from core.samples.model import TRANSITIONS, RejectionReason, SampleState
from core.vault import Vault
from tests.support.factories import make_sample

ROLES = [Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.SUPPORT, Role.DOCTOR]
attempts = st.lists(
    st.tuples(st.sampled_from(list(SampleState)), st.sampled_from(ROLES), st.booleans()), min_size=1, max_size=12
)


async def _run(dsn: str, schema: str, vault: Vault, steps: list[tuple[SampleState, Role, bool]]) -> None:
    conn = await connect(dsn, schema)
    try:
        sample = await make_sample(conn, vault)
        audit_before = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE entity_id = $1 OR entity_id IS NULL", sample.id
        )
        refused = 0
        for target, role, with_reason in steps:
            reason = RejectionReason.CLOTTED if with_reason else None
            try:
                await samples.transition(
                    conn,
                    barcode=sample.barcode,
                    to_state=target,
                    actor=Actor(f"u:{role}", role),
                    centre_id="LAB-1",
                    reason=reason,
                )
            except DomainError:
                refused += 1
        history = await conn.fetch(
            "SELECT from_state, to_state, version FROM sample_transitions WHERE sample_id = $1 ORDER BY version",
            sample.id,
        )
        assert [h["version"] for h in history] == list(range(1, len(history) + 1))
        assert history[0]["from_state"] is None and history[0]["to_state"] == "collected"
        for a, b in itertools.pairwise(history):
            assert b["from_state"] == a["to_state"]
            assert SampleState(b["to_state"]) in TRANSITIONS[SampleState(a["to_state"])]
        row = await conn.fetchrow("SELECT state, version FROM samples WHERE id = $1", sample.id)
        assert (row["state"], row["version"]) == (history[-1]["to_state"], len(history))

        events = await conn.fetch(
            "SELECT patient_seq, payload FROM outbox WHERE patient_id = $1 ORDER BY patient_seq", sample.patient_id
        )
        assert [e["patient_seq"] for e in events] == list(range(1, len(history) + 1))
        assert [e["payload"]["to"] for e in events] == [h["to_state"] for h in history]

        audits = await conn.fetch(
            "SELECT outcome FROM audit_log WHERE entity_id = $1 OR entity_id IS NULL ORDER BY id OFFSET $2",
            sample.id,
            audit_before,
        )
        ok = sum(a["outcome"] == "ok" for a in audits)
        assert ok == len(history) - 1 and len(audits) - ok == refused
        assert len(steps) == ok + refused
        assert (await audit.verify(conn)).ok
    finally:
        await conn.close()


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=attempts)
def test_any_attempt_sequence_leaves_a_consistent_history(
    migrated: str, settings: Settings, vault: Vault, steps: list[tuple[SampleState, Role, bool]]
) -> None:
    assert settings.database_url is not None
    asyncio.run(_run(settings.database_url.reveal(), migrated, vault, steps))
