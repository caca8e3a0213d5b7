"""The pure state machine, exhaustively: every pair of states, and random walks (hypothesis)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput, InvalidTransition
from core.samples.model import (
    TERMINAL,
    TRANSITIONS,
    RejectionReason,
    SampleState,
    check_transition,
    normalize_barcode,
)

S = SampleState
HAPPY_PATH = [S.COLLECTED, S.IN_TRANSIT, S.RECEIVED_AT_LAB, S.PROCESSING, S.COMPLETED, S.REPORTED]


def test_the_happy_path_is_legal() -> None:
    for a, b in itertools.pairwise(HAPPY_PATH):
        check_transition("B-000001", a, b, None, None)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(S, S)))
def test_every_pair_is_either_an_edge_or_an_error_naming_both_states(a: SampleState, b: SampleState) -> None:
    reason = RejectionReason.CLOTTED if b is S.REJECTED else None
    if b in TRANSITIONS[a]:
        check_transition("B-000001", a, b, reason, None)
    else:
        with pytest.raises(InvalidTransition) as err:
            check_transition("B-000001", a, b, reason, None)
        assert (err.value.from_state, err.value.to_state) == (a.value, b.value)
        assert a.value in str(err.value) and b.value in str(err.value)


def test_reported_and_recollection_are_terminal_and_everything_else_is_not() -> None:
    assert TERMINAL == {S.REPORTED, S.RECOLLECTION_REQUESTED}


def test_every_state_is_reachable_from_collected() -> None:
    seen, frontier = {S.COLLECTED}, [S.COLLECTED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(S)


def test_rejection_needs_a_reason_and_other_needs_a_note() -> None:
    with pytest.raises(InvalidInput, match="needs a reason"):
        check_transition("B-000001", S.PROCESSING, S.REJECTED, None, None)
    with pytest.raises(InvalidInput, match="needs a short note"):
        check_transition("B-000001", S.PROCESSING, S.REJECTED, RejectionReason.OTHER, "  ")
    check_transition("B-000001", S.PROCESSING, S.REJECTED, RejectionReason.OTHER, "tube cracked")
    with pytest.raises(InvalidInput, match="only given when a sample is rejected"):
        check_transition("B-000001", S.COLLECTED, S.IN_TRANSIT, RejectionReason.CLOTTED, None)


@pytest.mark.parametrize(("raw", "stored"), [(" lp-123456\n", "LP-123456"), ("ABC123", "ABC123")])
def test_barcodes_are_normalized(raw: str, stored: str) -> None:
    assert normalize_barcode(raw) == stored


@pytest.mark.parametrize("raw", ["", "ab", "-ABCDEF", "ABC DEF", "A" * 40, "ÄBCDEFG"])
def test_malformed_barcodes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_barcode(raw)


@given(st.lists(st.sampled_from(list(S)), max_size=30))
def test_any_sequence_of_attempts_only_ever_follows_edges(attempts: list[SampleState]) -> None:
    state, history = S.COLLECTED, [S.COLLECTED]
    for target in attempts:
        reason = RejectionReason.LEAKED if target is S.REJECTED else None
        try:
            check_transition("B-000001", state, target, reason, None)
        except InvalidTransition:
            assert target not in TRANSITIONS[state]
            continue
        state = target
        history.append(state)
    for a, b in itertools.pairwise(history):
        assert b in TRANSITIONS[a]
    assert len(history) <= 6  # the longest paths: collected → … → reported, or … → rejected → recollection
