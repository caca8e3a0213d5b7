"""At the collection centre: a walk-in's order gets its tubes (one per sample type the tests need, each with a
barcode this system gives, registered as collected there) and their labels. Pre-printed tubes are registered by
scanning instead (``samples.register``); both end in the same tubes."""

from __future__ import annotations

import asyncpg

from core.errors import Conflict, OrderNotFound
from core.i18n import worded
from core.identity import Actor, RequestMeta
from core.ids import is_uuid
from core.orders import labels, store
from core.patients import service as patients
from core.samples import service as samples
from core.samples import store as sample_store
from core.samples.model import RejectionReason, Sample, SampleState
from core.vault import Vault


async def _order(conn: asyncpg.Connection, order_id: str) -> store.PlacedOrder:
    order = await store.get(conn, order_id) if is_uuid(order_id) else None
    if order is None:
        raise OrderNotFound(order_id[:64])
    return order


async def tubes(
    conn: asyncpg.Connection, order_id: str, *, actor: Actor, meta: RequestMeta | None = None
) -> list[Sample]:
    """Every tube the order needs: those it has, and a new one (barcode given here, collected now at the order's
    centre) for each sample type still without one. Calling it again adds nothing."""
    async with conn.transaction():
        order = await _order(conn, order_id)
        if order.status != "active":
            raise worded(Conflict, "error:order_cancelled_takes_tubes")
        needed = sorted({ln.sample_type for ln in await store.lines(conn, order.id) if ln.status == "ordered"})
        have = [t for t in await samples.tubes_of_order(conn, order.id) if t.state is not SampleState.REJECTED]
        for sample_type in [t for t in needed if t not in {h.sample_type for h in have}]:
            have.append(
                await samples.register(
                    conn, order_id=order.id, barcode=await sample_store.next_barcode(conn), sample_type=sample_type,
                    actor=actor, centre_id=order.centre_id, meta=meta,
                )
            )  # fmt: skip
    return have


async def recollect(
    conn: asyncpg.Connection,
    barcode: str,
    *,
    reason: RejectionReason,
    note: str | None,
    actor: Actor,
    centre_id: str,
    meta: RequestMeta | None = None,
) -> tuple[Sample, Sample]:
    """A tube rejected with its reason, its recollection requested, and the replacement tube given a new barcode on
    the same order, pointing back at it, all or nothing. The patient's page says a new collection is arranged; the
    new tube's label prints with the order's."""
    async with conn.transaction():
        rejected = await samples.transition(conn, barcode=barcode, to_state=SampleState.REJECTED, actor=actor,
                                            centre_id=centre_id, reason=reason, note=note, meta=meta)  # fmt: skip
        await samples.transition(conn, barcode=rejected.barcode, to_state=SampleState.RECOLLECTION_REQUESTED,
                                 actor=actor, centre_id=centre_id, meta=meta)  # fmt: skip
        order = await _order(conn, rejected.order_id)
        new = await samples.register(
            conn, order_id=order.id, barcode=await sample_store.next_barcode(conn), sample_type=rejected.sample_type,
            actor=actor, centre_id=order.centre_id, replaces_sample_id=rejected.id, meta=meta,
        )  # fmt: skip
    return rejected, new


async def label_pdf(
    conn: asyncpg.Connection, vault: Vault, order_id: str, *, actor: Actor, meta: RequestMeta | None = None
) -> bytes:
    """The labels of the order's tubes (the patient's record is read for initials and date of birth: audited)."""
    order = await _order(conn, order_id)
    person = await patients.read(conn, vault, order.patient_id, actor=actor, purpose="tube labels", meta=meta)
    lines = [ln for ln in await store.lines(conn, order.id) if ln.status == "ordered"]
    made = [
        labels.Label(
            barcode=tube.barcode, initials=labels.initials(person.name), date_of_birth=person.date_of_birth,
            tests=tuple(ln.name for ln in lines if ln.sample_type == tube.sample_type), collected_at=tube.collected_at,
        )
        for tube in await samples.tubes_of_order(conn, order.id)
        if tube.state is not SampleState.REJECTED
    ]  # fmt: skip
    if not made:
        raise worded(Conflict, "error:order_tubes_yet_add")
    return labels.render(made)
