"""PHI is ciphertext at rest, phone lookup works through the keyed hash, every read is audited."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from core.errors import InvalidInput, PatientNotFound
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.vault import Vault
from tests.support.factories import SYSTEM, TECH


async def test_phi_columns_hold_no_plaintext(conn: asyncpg.Connection, vault: Vault) -> None:
    p = await patients.create(
        conn,
        vault,
        NewPatient(
            name="Kavya Synthetic Rao",
            sex=Sex.FEMALE,
            phone="098000 12345",
            date_of_birth=date(1985, 4, 1),
            address="12 Imaginary Lane, Pune 411001",
        ),
        actor=SYSTEM,
    )
    assert p.phone == "+919800012345"
    raw = await conn.fetchrow("SELECT * FROM patients WHERE id = $1", p.id)
    dump = b"".join(bytes(raw[c]) for c in ("name_enc", "phone_enc", "dob_enc", "address_enc", "phone_lookup"))
    for secret in (b"Kavya", b"9800012345", b"1985", b"Imaginary", b"411001"):
        assert secret not in dump
    # The whole table's text form holds none of it either (what a backup or a careless SELECT shows).
    text = await conn.fetchval("SELECT string_agg(p::text, '') FROM patients p")
    assert "Kavya" not in text and "9800012345" not in text


async def test_read_decrypts_and_leaves_an_audit_row(conn: asyncpg.Connection, vault: Vault) -> None:
    p = await patients.create(conn, vault, NewPatient(name="Dev Synthetic", sex=Sex.MALE), actor=SYSTEM)
    got = await patients.read(conn, vault, p.id, actor=TECH, purpose="label printing")
    assert (got.name, got.sex, got.phone) == ("Dev Synthetic", Sex.MALE, None)
    assert "Dev" not in repr(got)
    row = await conn.fetchrow("SELECT actor_id, action, summary FROM audit_log WHERE action = 'patient.read'")
    assert (row["actor_id"], row["summary"]) == ("staff:tech", {"purpose": "label printing"})


async def test_a_family_shares_one_phone_in_any_format(conn: asyncpg.Connection, vault: Vault) -> None:
    mother = await patients.create(
        conn, vault, NewPatient(name="A", sex=Sex.FEMALE, phone="+91 98000 55555"), actor=SYSTEM
    )
    child = await patients.create(conn, vault, NewPatient(name="B", sex=Sex.MALE, phone="9800055555"), actor=SYSTEM)
    await patients.create(conn, vault, NewPatient(name="C", sex=Sex.MALE, phone="9800055556"), actor=SYSTEM)
    assert await patients.ids_for_phone(conn, vault, "098000-55555") == [mother.id, child.id]


async def test_bad_input_is_refused(conn: asyncpg.Connection, vault: Vault) -> None:
    with pytest.raises(InvalidInput, match="not valid"):
        await patients.create(conn, vault, NewPatient(name="X", sex=Sex.MALE, phone="12345"), actor=SYSTEM)
    with pytest.raises(InvalidInput, match="between 1 and 200"):
        await patients.create(conn, vault, NewPatient(name="  ", sex=Sex.MALE), actor=SYSTEM)
    with pytest.raises(PatientNotFound):
        await patients.read(conn, vault, "00000000-0000-0000-0000-000000000000", actor=TECH, purpose="x")
