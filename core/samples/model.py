"""Pure sample rules: states, the transition table and what a transition needs. No I/O here."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import datetime

from core.errors import InvalidInput, InvalidTransition
from core.i18n import worded


class SampleState(enum.StrEnum):
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    RECEIVED_AT_LAB = "received_at_lab"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REPORTED = "reported"
    REJECTED = "rejected"
    RECOLLECTION_REQUESTED = "recollection_requested"


S = SampleState

# Every legal edge. A sample collected inside the lab may skip transit. Rejection is possible until results
# exist; a rejected sample is followed by a recollection request (the new tube gets a new barcode and
# points back at this one). ``reported`` and ``recollection_requested`` end this sample's life.
TRANSITIONS: dict[SampleState, frozenset[SampleState]] = {
    S.COLLECTED: frozenset({S.IN_TRANSIT, S.RECEIVED_AT_LAB, S.REJECTED}),
    S.IN_TRANSIT: frozenset({S.RECEIVED_AT_LAB, S.REJECTED}),
    S.RECEIVED_AT_LAB: frozenset({S.PROCESSING, S.REJECTED}),
    S.PROCESSING: frozenset({S.COMPLETED, S.REJECTED}),
    S.COMPLETED: frozenset({S.REPORTED}),
    S.REPORTED: frozenset(),
    S.REJECTED: frozenset({S.RECOLLECTION_REQUESTED}),
    S.RECOLLECTION_REQUESTED: frozenset(),
}

TERMINAL = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)

# Where one scan at the bench takes a tube: into the lab, then onto the analyzer, then done. Releasing the report
# (``reported``) is the pathologist's, and rejecting needs a reason: neither is a plain scan.
SCAN_NEXT: dict[SampleState, SampleState] = {
    S.COLLECTED: S.RECEIVED_AT_LAB,
    S.IN_TRANSIT: S.RECEIVED_AT_LAB,
    S.RECEIVED_AT_LAB: S.PROCESSING,
    S.PROCESSING: S.COMPLETED,
}
# The tubes a bench works on, oldest first.
ON_THE_BENCH = (S.COLLECTED, S.IN_TRANSIT, S.RECEIVED_AT_LAB, S.PROCESSING, S.COMPLETED)


class RejectionReason(enum.StrEnum):
    HAEMOLYSED = "haemolysed"
    CLOTTED = "clotted"
    INSUFFICIENT_VOLUME = "insufficient_volume"
    MISLABELLED = "mislabelled"
    LEAKED = "leaked"
    DELAYED_IN_TRANSIT = "delayed_in_transit"
    WRONG_CONTAINER = "wrong_container"
    OTHER = "other"


_BARCODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{4,30}[A-Z0-9]$")


def normalize_barcode(raw: str) -> str:
    """Scanners add spaces, lower case and stray newlines; the stored form is upper case, trimmed."""
    code = raw.strip().upper()
    if not _BARCODE.match(code):
        raise worded(InvalidInput, "error:barcode_letters_digits_dashes", "barcode")
    return code


def check_transition(
    barcode: str,
    current: SampleState,
    target: SampleState,
    reason: RejectionReason | None,
    note: str | None,
) -> None:
    """Raise unless ``current`` → ``target`` is an edge and carries what that edge needs."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(barcode, current.value, target.value)
    if target is S.REJECTED:
        if reason is None:
            raise worded(InvalidInput, "error:rejecting_sample_needs_reason", "reason")
        if reason is RejectionReason.OTHER and not (note and note.strip()):
            raise worded(InvalidInput, "error:rejection_other_reason_needs", "note")
    elif reason is not None:
        raise worded(InvalidInput, "error:reason_only_given_when", "reason")
    if note is not None and len(note) > 500:
        raise worded(InvalidInput, "error:note_most_characters", "note")


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    barcode: str
    order_id: str
    patient_id: str
    sample_type: str
    state: SampleState
    version: int
    centre_id: str
    rejection_reason: RejectionReason | None
    replaces_sample_id: str | None
    collected_at: datetime
    updated_at: datetime

    def moved(self, to_state: SampleState, *, centre_id: str, reason: RejectionReason | None, at: datetime) -> Sample:
        """The sample as it will be once moved: what the store writes and what the event announces."""
        return replace(
            self,
            state=to_state,
            version=self.version + 1,
            centre_id=centre_id,
            rejection_reason=reason or self.rejection_reason,
            updated_at=max(at, self.updated_at),  # a history never runs backwards, whatever the clocks do
        )

    def to_public(self) -> dict[str, object]:
        """The JSON a staff client sees (no patient identifiers beyond the opaque ids)."""
        return {
            "id": self.id,
            "barcode": self.barcode,
            "order_id": self.order_id,
            "sample_type": self.sample_type,
            "state": self.state.value,
            "version": self.version,
            "centre_id": self.centre_id,
            "rejection_reason": self.rejection_reason.value if self.rejection_reason else None,
            "replaces_sample_id": self.replaces_sample_id,
            "collected_at": self.collected_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One step of a sample's history."""

    from_state: SampleState | None
    to_state: SampleState
    version: int
    actor_id: str
    actor_role: str
    centre_id: str
    reason: str | None
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class UnknownScan:
    """A scan whose barcode matched no sample, waiting for a person to look at it."""

    id: int
    barcode: str
    attempted_state: str | None
    actor_id: str
    centre_id: str | None
    at: datetime


def overdue(collected_at: datetime, target_hours: int | None, now: datetime) -> bool:
    """Past its turnaround target, counted from collection (a tube whose tests have none is never overdue)."""
    return target_hours is not None and (now - collected_at).total_seconds() > target_hours * 3600
