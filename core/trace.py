"""The request id that follows one piece of work across processes (issue 20): set where the work comes in (an HTTP
request or WebSocket, an MLLP block, a job the worker runs), written with what that work records (an outbox event,
a queued job), carried on the bus with the event, bound again by the worker that runs the job, and added to every
log line while it is set. Ids only: never anything about a person."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

_CURRENT: ContextVar[str | None] = ContextVar("labpulse_request_id", default=None)
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
JOB_KEY = "_rid"  # where a queued job's payload carries the id of the work that queued it


def current() -> str | None:
    return _CURRENT.get()


def well_formed(candidate: str | None) -> str | None:
    """A caller's id kept as is when it is safe to log and store (8-64 of letters, digits and ._-), else None."""
    return candidate if candidate and _WELL_FORMED.match(candidate) else None


def new(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def bind(request_id: str | None) -> Token[str | None]:
    return _CURRENT.set(request_id)


def reset(token: Token[str | None]) -> None:
    _CURRENT.reset(token)
