"""Builders for domain objects through the real core services (so every row is as production writes it)."""

from __future__ import annotations

import itertools
import uuid

import asyncpg

from core.booking.catalogue import Centre, upsert_centre
from core.identity import Actor, Role
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Patient, Sex
from core.samples import service as samples
from core.samples.model import Sample
from core.vault import Vault

SYSTEM = Actor.system("tests")
PHLEB = Actor("staff:phleb", Role.PHLEBOTOMIST)
TECH = Actor("staff:tech", Role.LAB_TECHNICIAN)
PATHOLOGIST = Actor("staff:path", Role.PATHOLOGIST)
ADMIN = Actor("staff:admin", Role.ADMIN)

_phones = itertools.count(1)


async def ensure_centres(conn: asyncpg.Connection) -> None:
    await upsert_centre(conn, Centre("LAB-1", "Test Lab", "lab", "Pune"))
    await upsert_centre(conn, Centre("CC-1", "Test Collection Centre", "collection", "Pune"))


async def make_patient(
    conn: asyncpg.Connection, vault: Vault, *, name: str = "Test Patient", phone: str | None = None
) -> Patient:
    phone = phone or f"+9198{next(_phones):08d}"
    return await patients.create(conn, vault, NewPatient(name=name, sex=Sex.FEMALE, phone=phone), actor=SYSTEM)


async def make_sample(
    conn: asyncpg.Connection, vault: Vault, *, patient: Patient | None = None, barcode: str | None = None
) -> Sample:
    await ensure_centres(conn)
    patient = patient or await make_patient(conn, vault)
    order = await orders.place(conn, patient_id=patient.id, centre_id="CC-1", test_codes=["CBC"], actor=SYSTEM)
    return await samples.register(
        conn,
        order_id=order.id,
        barcode=barcode or f"T-{uuid.uuid4().hex[:10].upper()}",
        sample_type="whole_blood_edta",
        actor=PHLEB,
        centre_id="CC-1",
    )
