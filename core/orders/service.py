"""Order use cases: place an order of catalogue tests for a patient at a centre."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from core import audit
from core.booking import catalogue
from core.errors import InvalidInput, PatientNotFound
from core.i18n import worded
from core.identity import Actor, RequestMeta
from core.orders import store


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    patient_id: str
    centre_id: str
    tests: tuple[catalogue.CatalogueTest, ...]

    def sample_types(self) -> list[str]:
        """One tube per distinct sample type: an order of CBC and HbA1c fills a single EDTA tube."""
        return sorted({t.sample_type for t in self.tests})


async def place(
    conn: asyncpg.Connection,
    *,
    patient_id: str,
    centre_id: str,
    test_codes: list[str],
    actor: Actor,
    referring_doctor: str | None = None,
    meta: RequestMeta | None = None,
) -> Order:
    codes = sorted({c.strip().upper() for c in test_codes})
    if not codes:
        raise worded(InvalidInput, "error:order_needs_least_one", "tests")
    async with conn.transaction():
        tests = await catalogue.tests(conn, codes)
        unknown = sorted(set(codes) - {t.code for t in tests})
        if unknown:
            raise InvalidInput("tests", f"Unknown test code(s): {', '.join(unknown)}.")
        if not await catalogue.centre_exists(conn, centre_id):
            raise worded(InvalidInput, "error:there_centre_id", "centre_id", centre_id=centre_id)
        order_id = str(uuid.uuid4())
        try:
            await store.insert_order(
                conn,
                order_id=order_id,
                patient_id=patient_id,
                centre_id=centre_id,
                referring_doctor=referring_doctor,
                created_by=actor.id,
                test_codes=codes,
            )
        except asyncpg.ForeignKeyViolationError as exc:
            raise PatientNotFound(patient_id) from exc
        await audit.append(
            conn,
            actor=actor,
            action="order.place",
            entity_type="order",
            entity_id=order_id,
            patient_id=patient_id,
            summary={"tests": codes, "centre_id": centre_id},
            meta=meta,
        )
    return Order(order_id, patient_id, centre_id, tuple(tests))
