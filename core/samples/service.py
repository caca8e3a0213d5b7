"""Sample use cases. Each change is one transaction: the row, its history, an outbox event and an audit row.

Refusals are audited too (in their own transaction, after the refused one rolled back): who tried to move
which sample where, and why it was refused. An unknown barcode is also kept in ``unknown_scans`` for review.
"""

from __future__ import annotations

import uuid

import asyncpg

from core import audit, outbox, permissions
from core.db.statement import Statement
from core.errors import (
    DomainError,
    DuplicateBarcode,
    InvalidInput,
    InvalidTransition,
    OrderNotFound,
    StaleVersion,
    UnknownBarcode,
)
from core.events import SAMPLE_STATE_CHANGED
from core.i18n import worded
from core.identity import Actor, RequestMeta
from core.ids import is_uuid
from core.orders import store as orders_store
from core.samples import store
from core.samples.model import (
    ON_THE_BENCH,
    SCAN_NEXT,
    RejectionReason,
    Sample,
    SampleState,
    TransitionRecord,
    UnknownScan,
    check_transition,
    normalize_barcode,
)

EVENT_STATE_CHANGED = SAMPLE_STATE_CHANGED


def _event_payload(sample: Sample, from_state: SampleState | None, from_centre: str | None = None) -> dict[str, object]:
    return {
        "sample_id": sample.id,
        "order_id": sample.order_id,
        "barcode": sample.barcode,
        "sample_type": sample.sample_type,
        "from": from_state.value if from_state else None,
        "to": sample.state.value,
        "version": sample.version,
        "centre_id": sample.centre_id,
        "from_centre": from_centre or sample.centre_id,
        "reason": sample.rejection_reason.value if sample.rejection_reason else None,
        "at": sample.updated_at.isoformat(),
    }


async def _audit_refusal(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    action: str,
    error: DomainError,
    entity_id: str | None,
    patient_id: str | None,
    meta: RequestMeta | None,
) -> None:
    async with conn.transaction():
        await audit.append(
            conn,
            actor=actor,
            action=action,
            entity_type="sample",
            entity_id=entity_id,
            patient_id=patient_id,
            outcome=f"refused:{error.code}",
            summary=error.details(),
            meta=meta,
        )


async def transition(
    conn: asyncpg.Connection,
    *,
    barcode: str,
    to_state: SampleState,
    actor: Actor,
    centre_id: str,
    reason: RejectionReason | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    meta: RequestMeta | None = None,
) -> Sample:
    """Apply one scan: move the sample with ``barcode`` to ``to_state``.

    Two simultaneous scans of one sample serialise on its row lock: the second sees the first's result and is
    judged against it (an ``InvalidTransition`` or, with ``expected_version``, a ``StaleVersion``), so both
    can never win.
    """
    meta = meta or RequestMeta()
    try:
        permissions.require_transition(actor.role, to_state)
        code = normalize_barcode(barcode)
    except DomainError as exc:
        await _audit_refusal(
            conn, actor=actor, action="sample.transition", error=exc, entity_id=None, patient_id=None, meta=meta
        )
        if isinstance(exc, InvalidInput) and exc.field == "barcode":
            await _record_unknown(conn, barcode[:64], to_state, actor, centre_id, meta)
        raise

    current: Sample | None = None
    try:
        async with conn.transaction():
            locked = await store.lock_by_barcode(conn, code)
            if locked is None:
                raise UnknownBarcode(code)
            current, now = locked
            if expected_version is not None and expected_version != current.version:
                raise StaleVersion(code, expected_version, current.version)
            check_transition(code, current.state, to_state, reason, note)
            moved = current.moved(to_state, centre_id=centre_id, reason=reason, at=now)
            # The audit row and the event ride in the transition's own statement: one round trip for all.
            also = Statement()
            audit.stage(
                also,
                actor=actor,
                action="sample.transition",
                entity_type="sample",
                entity_id=current.id,
                patient_id=current.patient_id,
                summary={
                    "barcode": code,
                    "from": current.state.value,
                    "to": to_state.value,
                    "centre_id": centre_id,
                    "version": moved.version,
                    "reason": reason.value if reason else None,
                },
                meta=meta,
            )
            outbox.stage(
                also,
                patient_id=current.patient_id,
                type=EVENT_STATE_CHANGED,
                payload=_event_payload(moved, current.state, current.centre_id),
            )
            try:
                updated = await store.apply_transition(
                    conn, current, moved, note=note, actor_id=actor.id, actor_role=actor.role.value, also=also
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise worded(InvalidInput, "error:there_centre_id", "centre_id", centre_id=centre_id) from exc
            return updated
    except UnknownBarcode as exc:
        await _record_unknown(conn, code, to_state, actor, centre_id, meta)
        await _audit_refusal(
            conn, actor=actor, action="sample.transition", error=exc, entity_id=None, patient_id=None, meta=meta
        )
        raise
    except DomainError as exc:
        await _audit_refusal(
            conn,
            actor=actor,
            action="sample.transition",
            error=exc,
            entity_id=current.id if current else None,
            patient_id=current.patient_id if current else None,
            meta=meta,
        )
        raise


async def _record_unknown(
    conn: asyncpg.Connection,
    barcode: str,
    to_state: SampleState | None,
    actor: Actor,
    centre_id: str | None,
    meta: RequestMeta,
) -> None:
    await store.record_unknown_scan(
        conn,
        barcode=barcode,
        attempted_state=to_state.value if to_state else None,
        actor_id=actor.id,
        actor_role=actor.role.value,
        centre_id=centre_id,
        request_id=meta.request_id,
        source_ip=meta.source_ip,
    )


async def register(
    conn: asyncpg.Connection,
    *,
    order_id: str,
    barcode: str,
    sample_type: str,
    actor: Actor,
    centre_id: str,
    replaces_sample_id: str | None = None,
    meta: RequestMeta | None = None,
) -> Sample:
    """Record a freshly collected tube (state ``collected``) against an order."""
    permissions.require(actor.role, "sample.register")
    code = normalize_barcode(barcode)
    if replaces_sample_id is not None and not is_uuid(replaces_sample_id):
        raise worded(InvalidInput, "error:replaces_sample_id_id", "replaces_sample_id")
    async with conn.transaction():
        order = await orders_store.get(conn, order_id) if is_uuid(order_id) else None
        if order is None:
            raise OrderNotFound(order_id)
        patient_id = order.patient_id
        if await store.get_by_barcode(conn, code) is not None:
            raise DuplicateBarcode(code)
        try:
            sample = await store.insert(
                conn,
                sample_id=str(uuid.uuid4()),
                barcode=code,
                order_id=order_id,
                patient_id=patient_id,
                sample_type=sample_type,
                centre_id=centre_id,
                replaces_sample_id=replaces_sample_id,
                actor_id=actor.id,
                actor_role=actor.role.value,
            )
        except asyncpg.ForeignKeyViolationError as exc:
            if "replaces" in (exc.constraint_name or ""):
                raise worded(InvalidInput, "error:there_sample_id_replace", "replaces_sample_id") from exc
            raise worded(InvalidInput, "error:there_centre_id", "centre_id", centre_id=centre_id) from exc
        await audit.append(
            conn,
            actor=actor,
            action="sample.register",
            entity_type="sample",
            entity_id=sample.id,
            patient_id=patient_id,
            summary={"barcode": code, "centre_id": centre_id},
            meta=meta,
        )
        await outbox.add(conn, patient_id=patient_id, type=EVENT_STATE_CHANGED, payload=_event_payload(sample, None))
        return sample


async def tubes_of_order(conn: asyncpg.Connection, order_id: str) -> list[Sample]:
    return await store.list_for_order(conn, order_id)


async def read(
    conn: asyncpg.Connection, *, barcode: str, actor: Actor, meta: RequestMeta | None = None
) -> tuple[Sample, list[TransitionRecord]]:
    """A staff look-up of one sample and its history; audited as a read of patient data."""
    permissions.require(actor.role, "sample.read")
    code = normalize_barcode(barcode)
    async with conn.transaction():
        sample = await store.get_by_barcode(conn, code)
        if sample is None:
            raise UnknownBarcode(code)
        steps = await store.history(conn, sample.id)
        await audit.append(
            conn,
            actor=actor,
            action="sample.read",
            entity_type="sample",
            entity_id=sample.id,
            patient_id=sample.patient_id,
            summary={"barcode": code},
            meta=meta,
        )
    return sample, steps


async def review_queue(conn: asyncpg.Connection, *, actor: Actor) -> list[UnknownScan]:
    """Scans of unknown barcodes that nobody has reviewed yet, newest first."""
    permissions.require(actor.role, "scan.review")
    return await store.open_unknown_scans(conn)


async def scan_next(
    conn: asyncpg.Connection, *, barcode: str, actor: Actor, centre_id: str, meta: RequestMeta | None = None
) -> Sample:
    """One scan at the bench: the tube moves to its next state (``SCAN_NEXT``: into the lab, onto the analyzer,
    done), judged against the state it was read in (a scan racing another is refused as stale, not applied twice).
    A tube with no next state by scanning (completed, reported, rejected) is refused as a transition would be."""
    try:
        code = normalize_barcode(barcode)
    except InvalidInput:
        code = None
    current = await store.get_by_barcode(conn, code) if code else None
    if current is None:  # recorded and refused as any scan of an unknown or malformed barcode is
        return await transition(
            conn, barcode=barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=actor, centre_id=centre_id, meta=meta
        )
    target = SCAN_NEXT.get(current.state)
    if target is None:
        raise InvalidTransition(current.barcode, current.state.value, "next")
    return await transition(
        conn, barcode=current.barcode, to_state=target, actor=actor, centre_id=centre_id,
        expected_version=current.version, meta=meta,
    )  # fmt: skip


async def worklist(
    conn: asyncpg.Connection, *, actor: Actor, centre_id: str | None, limit: int = 5000
) -> list[store.WorkRow]:
    """The tubes still in the lab's hands (``ON_THE_BENCH``) at ``centre_id`` (None: every centre), oldest first.
    No PHI: barcodes, tests, states and times."""
    permissions.require(actor.role, "sample.read")
    return await store.worklist(conn, states=ON_THE_BENCH, centre_id=centre_id, limit=limit)
