"""Synthetic demo data: centres, staff (a doctor with consult slots, the escalation chain), and patients whose tubes
sit at every stage, one family's with released reports; and the simulated lab that keeps demo tubes moving. No
real person: the phone numbers are from a range no subscriber has. It names no table: every read and write goes
through the owning store or service."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import critical, results
from core.booking import catalogue, slots
from core.booking.catalogue import Centre, upsert_centre
from core.hl7 import intake
from core.identity import Actor, Role
from core.labtime import LAB_TZ
from core.orders import service as orders
from core.patients import service as patients
from core.patients import store as patients_store
from core.patients.model import NewPatient, Sex
from core.reports import service as reports
from core.reports import store as reports_store
from core.samples import service as samples
from core.samples import store as samples_store
from core.samples.model import RejectionReason, SampleState
from core.staff import service as staff
from core.teleconsult import slots as consult_slots
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

# Each demo family's tubes: how far the seed moves them. Meera's are finished: results in, reports released (the
# worker renders the PDFs), so a demo card has a report to download from the first minute.
_PATH: dict[int, list[SampleState]] = {
    0: [SampleState.IN_TRANSIT],
    1: [SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING],
    2: [SampleState.IN_TRANSIT, SampleState.RECEIVED_AT_LAB],  # then results and a released report
}
# Tubes the Quick start uses; the simulator never moves them, so the README's commands work while it runs.
QUICKSTART_SCAN = "DEMO-QS-SCAN"  # collected; README scans it to in_transit
QUICKSTART_ORU = "DEMO-QS-ORU"  # received at the lab; docs/examples/demo-oru.hl7 completes it over MLLP
DEMO_DOCTOR_PHONE = "+91 98000 00009"
DEMO_ADMIN_PHONE = "+91 98000 00010"
SIM_TUBES_PER_DAY = 3  # the simulated lab collects at most this many new tubes a day: the cards never pile up
_LAB = "demo-lab"


@dataclass(frozen=True)
class DemoCredentials:
    username: str
    password: str
    role: Role


@dataclass(frozen=True)
class ReportSigning:
    """What releasing a report needs: the lab's signing key and the base of its verification links."""

    key: Ed25519PrivateKey
    verify_base: str


async def seed(conn: asyncpg.Connection, vault: Vault, signing: ReportSigning | None = None) -> list[DemoCredentials]:
    """Seed once, atomically; a second call finds the demo patients and does nothing. Returns new logins."""
    async with conn.transaction():
        if await patients_store.first_id(conn) is not None:
            return []
        return await _seed(conn, vault, signing)


async def _seed(conn: asyncpg.Connection, vault: Vault, signing: ReportSigning | None) -> list[DemoCredentials]:
    system = Actor.system("demo-seed")
    for centre in CENTRES:
        await upsert_centre(conn, centre)
    await catalogue.add_served_pincodes(
        conn,
        [("400050", "CC-BANDRA", "Bandra West"), ("400052", "CC-BANDRA", "Khar West"),
         ("400601", "CC-THANE", "Thane West")],
    )  # fmt: skip
    today = datetime.now(LAB_TZ).date()
    await slots.ensure(conn, today)
    creds: list[DemoCredentials] = []
    for username, role, name in (
        ("demo.phleb", Role.PHLEBOTOMIST, "Demo Phlebotomist"),
        ("demo.tech", Role.LAB_TECHNICIAN, "Demo Technician"),
        ("demo.path", Role.PATHOLOGIST, "Dr Demo Kavita Rao"),
        ("demo.doctor", Role.DOCTOR, "Dr Demo Arjun Mehta"),
        ("demo.admin", Role.ADMIN, "Demo Administrator"),
    ):
        password = secrets.token_urlsafe(12)
        await staff.add(conn, username=username, display_name=name, role=role, password=password, actor=system)
        creds.append(DemoCredentials(username, password, role))
    # The demo doctor holds video consultations (slots from today) and is called first about a critical value.
    await staff.set_contact(conn, vault, username="demo.doctor", phone=DEMO_DOCTOR_PHONE, actor=system)
    await consult_slots.ensure(conn, today)
    chain = [critical.ChainEntry("demo.doctor", DEMO_DOCTOR_PHONE), critical.ChainEntry("demo.admin", DEMO_ADMIN_PHONE)]
    await critical.set_chain_by_username(conn, vault, chain, system)
    phleb = Actor("demo-seed:phlebotomist", Role.PHLEBOTOMIST)
    tech = Actor("demo-seed:technician", Role.LAB_TECHNICIAN)
    people = []
    for i, (name, sex, phone, dob) in enumerate(_PATIENTS):
        p = await patients.create(
            conn, vault, NewPatient(name=name, sex=sex, phone=phone, date_of_birth=dob), actor=system
        )
        people.append(p)
        order = await orders.place(
            conn, patient_id=p.id, centre_id="CC-BANDRA", test_codes=["CBC", "LIPID"], actor=system
        )
        for j, sample_type in enumerate(order.sample_types()):
            barcode = f"DEMO-{i + 1:03d}-{j + 1}"
            await samples.register(
                conn, order_id=order.id, barcode=barcode, sample_type=sample_type, actor=phleb, centre_id="CC-BANDRA"
            )
            for state in _PATH[i]:
                await _move(conn, barcode, state, tech if state is not SampleState.IN_TRANSIT else phleb)
            if i == 2:  # results in (one value a little high, so the report shows a flag), then released
                await results_for(conn, vault, barcode, flagged=True)
                if signing is not None:
                    await reports.issue(conn, vault, signing.key, barcode=barcode,
                                        actor=Actor("demo-seed:pathologist", Role.PATHOLOGIST),
                                        verify_base=signing.verify_base)  # fmt: skip
    # The Quick start's own tubes, for the second demo family member (never moved by the simulator).
    order = await orders.place(conn, patient_id=people[1].id, centre_id="CC-BANDRA", test_codes=["CBC", "FBS"],
                               actor=system)  # fmt: skip
    for barcode, sample_type, path in (
        (QUICKSTART_ORU, "whole_blood_edta", [SampleState.IN_TRANSIT, SampleState.RECEIVED_AT_LAB]),
        (QUICKSTART_SCAN, "fluoride_plasma", []),
    ):
        await samples.register(conn, order_id=order.id, barcode=barcode, sample_type=sample_type, actor=phleb,
                               centre_id="CC-BANDRA")  # fmt: skip
        for state in path:
            await _move(conn, barcode, state, tech if state is not SampleState.IN_TRANSIT else phleb)
    # One rejected tube asking for a recollection, so every state appears in the demo.
    order = await orders.place(conn, patient_id=people[-1].id, centre_id="CC-THANE", test_codes=["FBS"], actor=system)
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


async def _move(conn: asyncpg.Connection, barcode: str, state: SampleState, actor: Actor) -> None:
    centre = "CC-BANDRA" if state is SampleState.IN_TRANSIT else "LAB-MAIN"
    await samples.transition(conn, barcode=barcode, to_state=state, actor=actor, centre_id=centre)


async def results_for(conn: asyncpg.Connection, vault: Vault, barcode: str, *, flagged: bool = False) -> None:
    """Send the tube's results through HL7 intake as an analyzer would (values inside each adult range, or one a
    little above it): intake completes the tube when the last one is in."""
    analytes = await results.analytes_with_ranges(conn, barcode)
    await intake.receive(conn, vault, oru_for(barcode, analytes, flagged=flagged).encode())


def oru_for(barcode: str, analytes: list[tuple[str, str, str, float, float]], *, flagged: bool = False) -> str:
    """An ORU^R01 for ``barcode`` with one result per analyte (the demo analyzer's message)."""
    stamp = datetime.now(LAB_TZ).strftime("%Y%m%d%H%M%S")
    lines = [f"MSH|^~\\&|DEMO-ANALYZER|LAB-MAIN|LABPULSE|LAB-MAIN|{stamp}||ORU^R01|D{uuid.uuid4().hex[:15]}|P|2.5.1",
             "PID|1||DEMO", f"OBR|1|{barcode}||DEMO"]  # fmt: skip
    for i, (code, name, unit, low, high) in enumerate(analytes, 1):
        value = high * 1.15 if flagged and i == len(analytes) else low + (high - low) * (0.35 + 0.3 * (i % 3) / 2)
        lines.append(f"OBX|{i}|NM|{code}^{name}^LN||{value:.1f}|{unit}|||||F")
    return "\r".join(lines) + "\r"


_NEXT: dict[SampleState, tuple[SampleState, str, Role]] = {
    SampleState.COLLECTED: (SampleState.IN_TRANSIT, "CC-BANDRA", Role.PHLEBOTOMIST),
    SampleState.IN_TRANSIT: (SampleState.RECEIVED_AT_LAB, "LAB-MAIN", Role.LAB_TECHNICIAN),
    SampleState.RECEIVED_AT_LAB: (SampleState.PROCESSING, "LAB-MAIN", Role.LAB_TECHNICIAN),
}


async def simulate_step(conn: asyncpg.Connection, vault: Vault, signing: ReportSigning | None = None) -> str | None:
    """Demo mode's simulated lab, one step: the demo tube that has waited longest moves on (a phlebotomist's scan,
    the lab's receipt, processing); a tube in processing gets its results from the demo analyzer (intake completes
    it); a completed tube's report is released (the worker renders it, then the tube reads 'reported'). When
    nothing is moving, a new tube is collected for the first demo family, at most ``SIM_TUBES_PER_DAY`` a day.
    The Quick start's tubes are never touched. Returns the barcode it acted on, or None."""
    row = await conn.fetchrow(
        f"""SELECT s.barcode, s.state FROM ({samples_store.view_sql()}) s
            WHERE s.barcode LIKE 'DEMO-%' AND s.barcode NOT LIKE 'DEMO-QS-%' AND s.state = ANY($1::text[])
              AND NOT EXISTS (SELECT 1 FROM ({reports_store.issued_sql()}) r WHERE r.sample_id = s.id)
            ORDER BY s.updated_at LIMIT 1""",
        [*(s.value for s in _NEXT), SampleState.PROCESSING.value, SampleState.COMPLETED.value],
    )
    if row is not None:
        barcode, state = str(row["barcode"]), SampleState(row["state"])
        if state is SampleState.PROCESSING:
            await results_for(conn, vault, barcode)
        elif state is SampleState.COMPLETED:
            if signing is None:
                return None
            await reports.issue(conn, vault, signing.key, barcode=barcode, actor=Actor(f"{_LAB}:pathologist",
                                Role.PATHOLOGIST), verify_base=signing.verify_base)  # fmt: skip
        else:
            to_state, centre, role = _NEXT[state]
            actor = Actor(f"{_LAB}:{role.value}", role)
            await samples.transition(conn, barcode=barcode, to_state=to_state, actor=actor, centre_id=centre)
        return barcode
    return await _collect(conn)


async def _collect(conn: asyncpg.Connection) -> str | None:
    recent = await conn.fetchval(
        f"""SELECT count(*) FROM ({samples_store.view_sql()}) s
            WHERE s.barcode LIKE 'DEMO-SIM-%' AND s.collected_at > now() - interval '1 day'"""
    )
    patient_id = await patients_store.first_id(conn)
    if patient_id is None or recent >= SIM_TUBES_PER_DAY:
        return None
    n = await conn.fetchval(f"SELECT count(*) FROM ({samples_store.view_sql()}) s WHERE s.barcode LIKE 'DEMO-SIM-%'")
    order = await orders.place(
        conn, patient_id=patient_id, centre_id="CC-BANDRA", test_codes=["FBS"], actor=Actor.system(_LAB)
    )
    barcode = f"DEMO-SIM-{n + 1:04d}"
    await samples.register(
        conn,
        order_id=order.id,
        barcode=barcode,
        sample_type="fluoride_plasma",
        actor=Actor(f"{_LAB}:phlebotomist", Role.PHLEBOTOMIST),
        centre_id="CC-BANDRA",
    )
    return barcode
