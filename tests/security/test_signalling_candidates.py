"""Issue 16, item 7: one bad ICE candidate no longer crashes the teleconsult signalling. The candidate from the
attack is refused by validation with an error frame's code; and should another one pass validation yet be
unreadable to aiortc, the room turns it into the same calm error (the socket's handler sends it and the call goes
on) instead of a ValueError escaping the handler."""

from __future__ import annotations

import json

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from consult.room import Room
from consult.signalling import Candidate, SignallingError, parse

ATTACK = "candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.2.3.4 rport abc"


@pytest.mark.parametrize(
    "candidate",
    [
        ATTACK,
        "candidate:1 1 udp 1 1.2.3.4 5 typ host generation zero",
        "candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.2.3.4 rport 70000",
    ],
)
def test_unreadable_candidates_are_refused_with_a_reason(candidate: str) -> None:
    frame = json.dumps({"type": "candidate", "candidate": candidate, "sdp_mid": "0", "sdp_mline_index": 0})
    with pytest.raises(SignallingError) as refused:
        parse(frame)
    assert refused.value.code == "bad_candidate"


async def test_a_candidate_aiortc_cannot_read_is_a_signalling_error_not_a_crash() -> None:
    room = Room("c-sec", ice_servers=[])
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        client.addTransceiver("audio")
        await client.setLocalDescription(await client.createOffer())
        await room.accept_offer("patient", client.localDescription.sdp)
        with pytest.raises(SignallingError) as refused:
            await room.add_candidate("patient", Candidate(ATTACK, "0", 0))  # as if it had passed validation
        assert refused.value.code == "bad_candidate"
        await room.add_candidate("patient", Candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0))  # goes on
    finally:
        await room.close()
        await client.close()
