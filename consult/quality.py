"""A participant's connection as the server sees it, from aiortc's stats: for the patient's quality indicator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiortc import RTCPeerConnection
from aiortc.stats import RTCInboundRtpStreamStats, RTCRemoteInboundRtpStreamStats

from consult.tracks import AUDIO_RATE


@dataclass(frozen=True, slots=True)
class Quality:
    """A participant's connection as the server sees it; None until RTCP has reported it (a few seconds)."""

    rtt_ms: float | None
    loss: float | None  # fraction of packets lost, 0-1, the worse of the two directions
    jitter_ms: float | None


_CLOCK_RATES: Final = {"audio": AUDIO_RATE, "video": 90_000}


async def connection_quality(pc: RTCPeerConnection) -> Quality:
    """Round-trip time, loss and jitter from `pc.getStats()`: the participant's receiver reports (RTCP RR) on what
    we send, and our receiver's counts on what they send. Jitter is in RTP clock units there; we give ms."""
    rtts: list[float] = []
    losses: list[float] = []
    jitters: list[float] = []
    for stats in (await pc.getStats()).values():
        if isinstance(stats, RTCRemoteInboundRtpStreamStats):
            if stats.roundTripTime is not None:
                rtts.append(stats.roundTripTime * 1000)
            losses.append(stats.fractionLost / 256)  # RTCP's 8-bit fixed-point fraction
        elif isinstance(stats, RTCInboundRtpStreamStats):
            expected = stats.packetsReceived + max(stats.packetsLost, 0)
            if expected:
                losses.append(max(stats.packetsLost, 0) / expected)
            jitters.append(stats.jitter / _CLOCK_RATES.get(stats.kind, AUDIO_RATE) * 1000)
    return Quality(
        rtt_ms=max(rtts) if rtts else None,
        loss=max(losses) if losses else None,
        jitter_ms=max(jitters) if jitters else None,
    )
