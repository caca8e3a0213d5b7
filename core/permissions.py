"""The one table that says which role may do what. Adapters ask ``allowed``/``require``; they never decide."""

from __future__ import annotations

from core.errors import PermissionDenied
from core.identity import Role
from core.samples.model import SampleState

_LAB = frozenset({Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.ADMIN})

# Which roles may move a sample INTO each state. A phlebotomist collects and dispatches; the lab receives,
# processes, completes and rejects; only a pathologist releases the report.
TRANSITION_ROLES: dict[SampleState, frozenset[Role]] = {
    SampleState.COLLECTED: frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.ADMIN}),
    SampleState.IN_TRANSIT: frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.ADMIN}),
    SampleState.RECEIVED_AT_LAB: _LAB,
    SampleState.PROCESSING: _LAB,
    SampleState.COMPLETED: _LAB,
    SampleState.REPORTED: frozenset({Role.PATHOLOGIST, Role.ADMIN}),
    SampleState.REJECTED: _LAB | {Role.PHLEBOTOMIST},
    SampleState.RECOLLECTION_REQUESTED: _LAB | {Role.SUPPORT},
}

ACTIONS: dict[str, frozenset[Role]] = {
    "sample.read": frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.SUPPORT, Role.ADMIN}),
    "sample.register": frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.ADMIN}),
    "scan.review": frozenset({Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.ADMIN}),
}


def may_transition(role: Role, to_state: SampleState) -> bool:
    return role in TRANSITION_ROLES[to_state]


def require_transition(role: Role, to_state: SampleState) -> None:
    if not may_transition(role, to_state):
        raise PermissionDenied(f"sample.transition:{to_state.value}", role.value)


def require(role: Role, action: str) -> None:
    """Raise ``PermissionDenied`` unless ``role`` may perform ``action``; an unknown action is denied."""
    if role not in ACTIONS.get(action, frozenset()):
        raise PermissionDenied(action, role.value)
