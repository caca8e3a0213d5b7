"""The /ws/status wire format: the frames each side sends and the close codes. docs/patients.md documents the same.

Server → client (JSON text frames):
  {"type": "snapshot", "patient_id", "last_event_id", "samples": [...]}   first frame, always
  {"type": "event", "event_id", "last_event_id", "event", "data", "at", "replay"}   one per event, in order
  {"type": "pong"} · {"type": "acked", "event_id", "new"} · {"type": "error", "code", "message"}
Client → server:
  {"type": "resume", "last_event_id": n}   send me every event after n, in order, once
  {"type": "ack", "event_id": "<uuid>"}      I have seen this (e.g. my report is ready)
  {"type": "ping"}                          keeps the socket alive; the server closes silent ones
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.events import Event
from core.inputs import json_problem
from core.tracking import Snapshot

MAX_FRAME_BYTES = 64 * 1024

# Close codes. 1008/1009/1011/1012 are the standard ones; 4xxx are ours.
CLOSE_UNAUTHENTICATED = 4401  # no or expired session/token: sign in again
CLOSE_FORBIDDEN = 4403  # origin not allowed, or a patient this session may not see
CLOSE_MALFORMED = 4400  # a frame that is not one of the client messages above
CLOSE_IDLE = 4408  # nothing heard from the client for too long: reconnect when needed
CLOSE_SLOW = 4409  # the client fell behind; reconnect and resume from last_event_id
CLOSE_RATE = 1008  # too many frames
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012  # server restarting (sent by uvicorn on shutdown): reconnect and resume
CLOSE_TRY_LATER = 1013  # PostgreSQL or Redis briefly away: reconnect in a few seconds and resume


class BadFrame(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Resume:
    last_event_id: int


@dataclass(frozen=True, slots=True)
class Ack:
    event_id: str


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientMessage = Resume | Ack | Ping


def parse(text: str) -> ClientMessage:
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_FRAME_BYTES:
        raise BadFrame("Messages are at most 64 KB.")
    if json_problem(raw) is not None:
        raise BadFrame("A message may not hold control characters or deeply nested JSON.")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadFrame('A message must be JSON, such as {"type": "ping"}.') from exc
    if not isinstance(data, dict):
        raise BadFrame('A message must be a JSON object with a "type".')
    kind = data.get("type")
    if kind == "ping":
        return Ping()
    if kind == "resume":
        last = data.get("last_event_id")
        if not isinstance(last, int) or isinstance(last, bool) or last < 0:
            raise BadFrame('"resume" needs "last_event_id": the number of the last event you received (0 for none).')
        return Resume(last)
    if kind == "ack":
        event_id = data.get("event_id")
        if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64:
            raise BadFrame('"ack" needs the "event_id" of the event you saw.')
        return Ack(event_id)
    raise BadFrame('Unknown message type. Send "resume", "ack" or "ping".')


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def snapshot_frame(snap: Snapshot) -> str:
    return dumps(
        {
            "type": "snapshot",
            "patient_id": snap.patient_id,
            "last_event_id": snap.last_seq,
            "samples": [s.to_json() for s in snap.samples],
        }
    )


def event_frame(event: Event, *, replay: bool) -> str:
    return dumps(
        {
            "type": "event",
            "event_id": event.event_id,
            "last_event_id": event.seq,
            "event": event.type,
            "data": event.payload,
            "at": event.created_at.isoformat(),
            "replay": replay,
        }
    )


def error_frame(code: str, message: str) -> str:
    return dumps({"type": "error", "code": code, "message": message})
