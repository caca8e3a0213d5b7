"""Patient events: the dataclass, its JSON form, and the Redis names they travel under (defined only here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SAMPLE_STATE_CHANGED = "sample.state_changed"  # a tube's step: written by core.samples, counted by the relay


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to one patient's data. ``seq`` is that patient's gap-free sequence number."""

    event_id: str
    patient_id: str
    seq: int
    type: str
    payload: dict[str, Any]
    created_at: datetime
    request_id: str | None = None  # the work that wrote it (core.trace), for the logs; never sent to a browser

    def to_json(self) -> str:
        return json.dumps(
            {
                "event_id": self.event_id,
                "patient_id": self.patient_id,
                "seq": self.seq,
                "type": self.type,
                "payload": self.payload,
                "created_at": self.created_at.isoformat(),
                "request_id": self.request_id,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        data = json.loads(raw)
        return cls(
            event_id=data["event_id"],
            patient_id=data["patient_id"],
            seq=int(data["seq"]),
            type=data["type"],
            payload=data["payload"],
            created_at=datetime.fromisoformat(data["created_at"]),
            request_id=data.get("request_id"),
        )


def events_channel(prefix: str) -> str:
    """The pub/sub channel every relay publishes to and every realtime hub subscribes to."""
    return f"{prefix}:events"


def revocations_channel(prefix: str) -> str:
    """Where a sign-out is announced (``{"phone_lookup", "session"|null}``) so every process closes the sockets
    of the sessions it ended, within the bus's latency."""
    return f"{prefix}:revocations"
