"""Synthetic demo data: centres, staff, and patients whose samples sit at every stage. No real person."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from core.booking import slots
from core.identity import Actor, Role
from core.labtime import LAB_TZ
from core.orders import service as orders
from core.orders.store import Centre, upsert_centre
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.samples import service as samples
from core.samples.model import RejectionReason, SampleState
from core.staff import service as staff
from core.vault import Vault

CENTRES = (
    Centre("LAB-MAIN", "Central Processing Lab, Andheri", "lab", "Mumbai"),
    Centre("CC-BANDRA", "Bandra West Collection Centre", "collection", "Mumbai"),
    Centre("CC-THANE", "Thane Collection Centre", "collection", "Thane"),
)

# Invented people; the phone numbers sit in a range no real subscriber has been given in these examples.
_PATIENTS = (
    ("Asha Demo Verma", Sex.FEMALE, "+91 98000 00001", date(1968, 3, 14)),
    ("Rohan Demo Verma", Sex.MALE, "+91 98000 00001", date(2012, 9, 2)),  # same phone: one family
    ("Meera Demo Iyer", Sex.FEMALE, "+91 98000 00002", date(1990, 11, 23)),
)

_PATH: dict[int, list[SampleState]] = {
    0: [SampleState.IN_TRANSIT],
    1: [SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING],
    2: [
        SampleState.IN_TRANSIT,
        SampleState.RECEIVED_AT_LAB,
        SampleState.PROCESSING,
        SampleState.COMPLETED,
        SampleState.REPORTED,
    ],
}


@dataclass(frozen=True)
class DemoCredentials:
    username: str
    password: str
    role: Role


async def seed(conn: asyncpg.Connection, vault: Vault) -> list[DemoCredentials]:
    """Seed once, atomically; a second call finds the demo patients and does nothing. Returns new logins."""
    async with conn.transaction():
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM patients)"):
            return []
        return await _seed(conn, vault)


async def _seed(conn: asyncpg.Connection, vault: Vault) -> list[DemoCredentials]:
    system = Actor.system("demo-seed")
    for centre in CENTRES:
        await upsert_centre(conn, centre)
    await conn.executemany(
        "INSERT INTO served_pincodes (pincode, centre_id, area) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [("400050", "CC-BANDRA", "Bandra West"), ("400052", "CC-BANDRA", "Khar West"),
         ("400601", "CC-THANE", "Thane West")],
    )  # fmt: skip
    await slots.ensure(conn, datetime.now(LAB_TZ).date())
    creds: list[DemoCredentials] = []
    for username, role in (
        ("demo.phleb", Role.PHLEBOTOMIST),
        ("demo.tech", Role.LAB_TECHNICIAN),
        ("demo.path", Role.PATHOLOGIST),
        ("demo.admin", Role.ADMIN),
    ):
        password = secrets.token_urlsafe(12)
        await staff.add(conn, username=username, display_name=username, role=role, password=password, actor=system)
        creds.append(DemoCredentials(username, password, role))
    phleb = Actor("demo-seed:phlebotomist", Role.PHLEBOTOMIST)
    tech = Actor("demo-seed:technician", Role.LAB_TECHNICIAN)
    pathologist = Actor("demo-seed:pathologist", Role.PATHOLOGIST)
    by_state = {SampleState.IN_TRANSIT: phleb, SampleState.REPORTED: pathologist}
    for i, (name, sex, phone, dob) in enumerate(_PATIENTS):
        p = await patients.create(
            conn, vault, NewPatient(name=name, sex=sex, phone=phone, date_of_birth=dob), actor=system
        )
        order = await orders.place(
            conn, patient_id=p.id, centre_id="CC-BANDRA", test_codes=["CBC", "LIPID"], actor=system
        )
        for j, sample_type in enumerate(order.sample_types()):
            barcode = f"DEMO-{i + 1:03d}-{j + 1}"
            await samples.register(
                conn, order_id=order.id, barcode=barcode, sample_type=sample_type, actor=phleb, centre_id="CC-BANDRA"
            )
            for state in _PATH[i]:
                await samples.transition(
                    conn,
                    barcode=barcode,
                    to_state=state,
                    actor=by_state.get(state, tech),
                    centre_id="CC-BANDRA" if state is SampleState.IN_TRANSIT else "LAB-MAIN",
                )
    # One rejected tube asking for a recollection, so every state appears in the demo.
    order = await orders.place(conn, patient_id=p.id, centre_id="CC-THANE", test_codes=["FBS"], actor=system)
    await samples.register(
        conn, order_id=order.id, barcode="DEMO-REJ-1", sample_type="fluoride_plasma", actor=phleb, centre_id="CC-THANE"
    )
    await samples.transition(
        conn,
        barcode="DEMO-REJ-1",
        to_state=SampleState.REJECTED,
        actor=tech,
        centre_id="LAB-MAIN",
        reason=RejectionReason.HAEMOLYSED,
    )
    return creds


_NEXT: dict[SampleState, tuple[SampleState, str, Role]] = {
    SampleState.COLLECTED: (SampleState.IN_TRANSIT, "CC-BANDRA", Role.PHLEBOTOMIST),
    SampleState.IN_TRANSIT: (SampleState.RECEIVED_AT_LAB, "LAB-MAIN", Role.LAB_TECHNICIAN),
    SampleState.RECEIVED_AT_LAB: (SampleState.PROCESSING, "LAB-MAIN", Role.LAB_TECHNICIAN),
    SampleState.PROCESSING: (SampleState.COMPLETED, "LAB-MAIN", Role.LAB_TECHNICIAN),
    SampleState.COMPLETED: (SampleState.REPORTED, "LAB-MAIN", Role.PATHOLOGIST),
}


async def simulate_step(conn: asyncpg.Connection) -> str | None:
    """Demo mode's simulated lab: move the oldest-updated moving demo tube one step; when none is moving,
    collect a fresh one for the first demo family. Returns the barcode it moved (or collected)."""
    row = await conn.fetchrow(
        """SELECT barcode, state FROM samples WHERE barcode LIKE 'DEMO-%' AND state = ANY($1::text[])
           ORDER BY updated_at LIMIT 1""",
        [s.value for s in _NEXT],
    )
    if row is not None:
        to_state, centre, role = _NEXT[SampleState(row["state"])]
        await samples.transition(
            conn,
            barcode=row["barcode"],
            to_state=to_state,
            actor=Actor(f"demo-lab:{role.value}", role),
            centre_id=centre,
        )
        return str(row["barcode"])
    patient_id = await conn.fetchval("SELECT id::text FROM patients ORDER BY created_at LIMIT 1")
    if patient_id is None:
        return None
    n = await conn.fetchval("SELECT count(*) FROM samples WHERE barcode LIKE 'DEMO-SIM-%'")
    order = await orders.place(
        conn, patient_id=patient_id, centre_id="CC-BANDRA", test_codes=["FBS"], actor=Actor.system("demo-lab")
    )
    barcode = f"DEMO-SIM-{n + 1:04d}"
    await samples.register(
        conn,
        order_id=order.id,
        barcode=barcode,
        sample_type="fluoride_plasma",
        actor=Actor("demo-lab:phlebotomist", Role.PHLEBOTOMIST),
        centre_id="CC-BANDRA",
    )
    return barcode
