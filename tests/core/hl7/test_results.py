"""Reference ranges by sex and age, computed flags, critical values, and a tube completing itself once every
ordered analyte has a final result."""

from __future__ import annotations

from datetime import date

import asyncpg

from core.hl7 import intake
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from tests.support.factories import SYSTEM, TECH, make_sample

CBC = {"718-7": "Hemoglobin", "6690-2": "WBC", "777-3": "Platelets", "789-8": "RBC", "4544-3": "Hematocrit"}


def _oru(barcode: str, values: dict[str, str], control: str = "R-1", flags: dict[str, str] | None = None) -> bytes:
    obx = "".join(
        f"OBX|{i}|NM|{code}^{CBC[code]}^LN||{value}|u||{(flags or {}).get(code, '')}|||F\r"
        for i, (code, value) in enumerate(values.items(), 1)
    )
    return (
        f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261121||ORU^R01|{control}|P|2.5.1\rPID|1||M\rOBR|1|{barcode}||CBC\r{obx}"
    ).encode()


async def _tube(conn: asyncpg.Connection, vault: Vault, sex: Sex, born: date | None = None) -> tuple[str, str]:
    p = await patients.create(conn, vault, NewPatient(name="Range Patient", sex=sex, date_of_birth=born), actor=SYSTEM)
    sample = await make_sample(conn, vault, patient=p)
    await samples.transition(
        conn, barcode=sample.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
    )
    return sample.barcode, sample.id


async def _results(conn: asyncpg.Connection, sample_id: str) -> dict[str, tuple[str | None, str, str | None, bool]]:
    rows = await conn.fetch(
        "SELECT code, flag, flag_source, reference_range, critical FROM results WHERE sample_id = $1", sample_id
    )
    return {r["code"]: (r["flag"], r["flag_source"], r["reference_range"], r["critical"]) for r in rows}


async def test_flags_are_computed_against_the_right_range_and_criticals_marked(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    barcode, sid = await _tube(conn, vault, Sex.FEMALE)
    await intake.receive(conn, vault, _oru(barcode, {"718-7": "10.0", "6690-2": "1.5", "777-3": "250"}))
    got = await _results(conn, sid)
    assert got["718-7"] == ("L", "computed", "12.0-15.5", False)
    assert got["6690-2"] == ("LL", "computed", "4.0-11.0", True)  # below the critical limit of 2.0
    assert got["777-3"] == ("N", "computed", "150-400", False)


async def test_the_analyzers_own_flag_is_kept(conn: asyncpg.Connection, vault: Vault) -> None:
    barcode, sid = await _tube(conn, vault, Sex.MALE)
    await intake.receive(conn, vault, _oru(barcode, {"718-7": "13.0"}, flags={"718-7": "H"}))
    assert (await _results(conn, sid))["718-7"][:2] == ("H", "analyzer")


async def test_ranges_depend_on_sex_and_age(conn: asyncpg.Connection, vault: Vault) -> None:
    man, man_id = await _tube(conn, vault, Sex.MALE)
    woman, woman_id = await _tube(conn, vault, Sex.FEMALE)
    child, child_id = await _tube(conn, vault, Sex.MALE, born=date(2020, 5, 1))
    for i, barcode in enumerate((man, woman, child)):
        await intake.receive(conn, vault, _oru(barcode, {"718-7": "13.0"}, control=f"S-{i}"))
    assert (await _results(conn, man_id))["718-7"][0] == "L"  # men: 13.5-17.5
    assert (await _results(conn, woman_id))["718-7"][0] == "N"  # women: 12.0-15.5
    assert (await _results(conn, child_id))["718-7"][2] == "11.0-14.5"  # children under 12


async def test_the_tube_completes_once_every_ordered_analyte_is_final(conn: asyncpg.Connection, vault: Vault) -> None:
    barcode, sid = await _tube(conn, vault, Sex.FEMALE)
    await intake.receive(conn, vault, _oru(barcode, {"718-7": "13.1", "6690-2": "6.0"}, control="P-1"))
    assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", sid) == "received_at_lab"
    await intake.receive(conn, vault, _oru(barcode, {"777-3": "240", "789-8": "4.5", "4544-3": "40"}, control="P-2"))
    assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", sid) == "completed"
    steps = await conn.fetch(
        "SELECT to_state, actor_id FROM sample_transitions WHERE sample_id = $1 ORDER BY version", sid
    )
    assert [(s["to_state"], s["actor_id"]) for s in steps][-2:] == [
        ("processing", "hl7:intake"),
        ("completed", "hl7:intake"),
    ]
    events = await conn.fetch(
        "SELECT payload->>'to' AS to_state FROM outbox WHERE payload->>'sample_id' = $1 ORDER BY patient_seq", sid
    )
    assert [e["to_state"] for e in events][-1] == "completed"  # the patient's page moves live


async def test_the_listeners_range_cache_picks_what_the_query_picks(conn: asyncpg.Connection) -> None:
    from core import ranges

    cache = ranges.RangeCache()
    codes = ["718-7", "6768-6", "2085-9", "3016-3", "no-such-code"]
    for sex in ("female", "male", "any"):
        for age in (None, 5, 17, 40, 90):
            assert await cache.ranges_for(conn, codes, sex, age) == await ranges.ranges_for(conn, codes, sex, age)
    assert (await cache.ranges_for(conn, ["6768-6"], "any", 10))["6768-6"].high == 390  # the children's band


async def test_a_tube_whose_last_results_arrive_together_is_still_completed(pool: asyncpg.Pool, vault: Vault) -> None:
    """Two messages for one tube stored at the same moment each judge the tube incomplete from their own snapshot;
    the worker's minute sweep (intake.complete_ready) completes it."""
    async with pool.acquire() as conn:
        barcode, sid = await _tube(conn, vault, Sex.FEMALE)
    async with pool.acquire() as a, pool.acquire() as b:
        tx = a.transaction()
        await tx.start()  # the first message is stored but not yet committed …
        await intake.receive(a, vault, _oru(barcode, {"718-7": "13.1", "6690-2": "6.0"}, control="T-1"))
        # … while the second is stored and committed: neither sees the other's rows
        await intake.receive(b, vault, _oru(barcode, {"777-3": "240", "789-8": "4.5", "4544-3": "40"}, control="T-2"))
        await tx.commit()
        assert await b.fetchval("SELECT state FROM samples WHERE id = $1", sid) == "received_at_lab"
        assert await intake.complete_ready(b) == 1
        assert await b.fetchval("SELECT state FROM samples WHERE id = $1", sid) == "completed"
        assert await intake.complete_ready(b) == 0


async def test_two_messages_in_one_group_complete_the_tube_together(conn: asyncpg.Connection, vault: Vault) -> None:
    """Neither message alone has every analyte; the group's check counts both."""
    barcode, sid = await _tube(conn, vault, Sex.FEMALE)
    await intake.receive_many(
        conn,
        vault,
        [
            _oru(barcode, {"718-7": "13.1", "6690-2": "6.0"}, control="GT-1"),
            _oru(barcode, {"777-3": "240", "789-8": "4.5", "4544-3": "40"}, control="GT-2"),
        ],
    )
    assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", sid) == "completed"


async def test_a_completion_that_fails_after_the_commit_leaves_the_message_stored(
    conn: asyncpg.Connection, vault: Vault, migrated: str
) -> None:
    """The tube's move to 'completed' follows the commit that stored the message; if the database refuses it (a
    trigger stands in for any failure), the message stays stored and ACKed once, and the worker's sweep completes
    the tube later."""
    barcode, sid = await _tube(conn, vault, Sex.FEMALE)
    await conn.execute(
        f"""CREATE FUNCTION "{migrated}".refuse_move() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
            CREATE TRIGGER refuse_move BEFORE UPDATE ON "{migrated}".samples
                FOR EACH ROW EXECUTE FUNCTION "{migrated}".refuse_move();"""
    )
    values = {"718-7": "13.1", "6690-2": "6.0", "777-3": "240", "789-8": "4.5", "4544-3": "40"}
    [[out]] = await intake.receive_many(conn, vault, [_oru(barcode, values, control="AC-1")])
    assert (out.ack_code, out.duplicate) == ("AA", False)
    assert await conn.fetchval("SELECT count(*) FROM hl7_messages") == 1
    assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", sid) == "received_at_lab"
    await conn.execute(f'DROP TRIGGER refuse_move ON "{migrated}".samples')
    assert await intake.complete_ready(conn) == 1
    assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", sid) == "completed"
