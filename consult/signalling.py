"""Teleconsult signalling: the JSON text frames a participant's browser and the server exchange over a WebSocket.

Everything a browser sends is untrusted, so `parse` turns one frame into exactly one typed, frozen message or
raises `SignallingError` with a short code (for the client's logic) and a calm sentence (for a person reading
the console). Nothing else escapes it, whatever the bytes: the WebSocket handler answers an error frame and
keeps the socket open. Checks are strict where a bad value would otherwise travel into aiortc and fail there
obscurely (an SDP that is not a session description, a candidate with too few fields makes aiortc `assert`),
and exact about fields (no missing, no extra) so a client typo is reported, not silently ignored.

Outgoing frames go through `dump`, which checks them against `OUTGOING`: the one list of what the server sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from core.inputs import json_problem

MAX_FRAME_BYTES: Final = 64 * 1024
MAX_SDP_BYTES: Final = 32 * 1024  # a browser's audio+video offer is 5-10 KB
MAX_CANDIDATE_CHARS: Final = 1024
MAX_MID_CHARS: Final = 64
MAX_MLINE_INDEX: Final = 63


class SignallingError(Exception):
    """A frame we will not act on. `code` is stable (clients switch on it); `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --- incoming ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """The participant's SDP offer: the server answers it with a fresh peer connection for their side."""

    sdp: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A trickled ICE candidate ("candidate:…" line without the "a="). An empty `candidate` ends the list."""

    candidate: str
    sdp_mid: str | None
    sdp_mline_index: int | None

    @property
    def end_of_candidates(self) -> bool:
        return self.candidate == ""


@dataclass(frozen=True, slots=True)
class Consent:
    """The participant gives or withdraws consent to the live transcript."""

    given: bool


@dataclass(frozen=True, slots=True)
class Mute:
    """What the participant is sending now, so the other side can show "muted" rather than a frozen picture."""

    audio: bool
    video: bool


@dataclass(frozen=True, slots=True)
class Leave:
    """The participant hangs up (closing the socket means the same)."""


@dataclass(frozen=True, slots=True)
class Ping:
    """Keep-alive from the client; answered with "pong" (proxies close idle sockets)."""


Message = Offer | Candidate | Consent | Mute | Leave | Ping

_Check: TypeAlias = type | tuple[type, ...]
_NoneType = type(None)

# type -> (class, {field: accepted types}); every field is required and no other field is allowed.
_INCOMING: Final[dict[str, tuple[type[Message], dict[str, _Check]]]] = {
    "offer": (Offer, {"sdp": str}),
    "candidate": (Candidate, {"candidate": str, "sdp_mid": (str, _NoneType), "sdp_mline_index": (int, _NoneType)}),
    "consent": (Consent, {"given": bool}),
    "mute": (Mute, {"audio": bool, "video": bool}),
    "leave": (Leave, {}),
    "ping": (Ping, {}),
}


def parse(raw: str | bytes) -> Message:
    """Parse one WebSocket frame. Raises `SignallingError` (and nothing else) when the frame is not acceptable."""
    data = _decode(raw)
    kind = data.get("type")
    if "type" not in data:
        raise SignallingError("missing_field", 'Every message needs a "type" field.')
    if not isinstance(kind, str):
        raise SignallingError("wrong_type", 'The "type" field must be a string.')
    if kind not in _INCOMING:
        known = ", ".join(sorted(_INCOMING))
        raise SignallingError("unknown_type", f'"{_short(kind)}" is not a message type we know (we know: {known}).')
    cls, spec = _INCOMING[kind]
    fields = {name: value for name, value in data.items() if name != "type"}
    _check_fields(kind, fields, spec)
    if cls is Offer:
        _check_sdp(fields["sdp"])
    elif cls is Candidate:
        _check_candidate(fields["candidate"], fields["sdp_mid"], fields["sdp_mline_index"])
    return cls(**fields)


def _decode(raw: str | bytes) -> dict[str, Any]:
    if not isinstance(raw, str | bytes):
        raise SignallingError("not_json", "A message must be a JSON text frame.")
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_FRAME_BYTES:
        raise SignallingError("too_large", f"A message may be at most {MAX_FRAME_BYTES // 1024} KiB.")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SignallingError("not_json", "A message must be UTF-8 encoded JSON.") from None
    if json_problem(raw.encode("utf-8", "surrogatepass")) == "depth":  # each field's check speaks of its characters
        raise SignallingError("not_json", "A message must be one JSON object, not deeply nested JSON.")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; so are over-long integers
        raise SignallingError("not_json", "A message must be one JSON object; this frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise SignallingError("not_object", 'A message must be a JSON object such as {"type": "ping"}.')
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


def _check_fields(kind: str, fields: Mapping[str, Any], spec: Mapping[str, _Check]) -> None:
    missing = [name for name in spec if name not in fields]
    if missing:
        raise SignallingError("missing_field", f'The "{kind}" message needs {_names(missing)}.')
    extra = sorted(name for name in fields if name not in spec)
    if extra:
        raise SignallingError("unexpected_field", f'The "{kind}" message does not take {_names(extra)}.')
    for name, accepted in spec.items():
        if not _is_instance(fields[name], accepted):
            raise SignallingError("wrong_type", f'In "{kind}", "{name}" must be {_describe(accepted)}.')


def _is_instance(value: Any, accepted: _Check) -> bool:
    types = accepted if isinstance(accepted, tuple) else (accepted,)
    if isinstance(value, bool) and bool not in types:  # JSON true is not the number 1
        return False
    return isinstance(value, types)


_TYPE_NAMES: Final[dict[type, str]] = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "an object",
    _NoneType: "null",
}


def _describe(accepted: _Check) -> str:
    types = accepted if isinstance(accepted, tuple) else (accepted,)
    return " or ".join(_TYPE_NAMES[t] for t in types)


def _names(names: list[str]) -> str:
    quoted = [f'"{_short(name)}"' for name in names[:5]]
    noun = "field" if len(names) == 1 else "fields"
    return f"the {noun} {', '.join(quoted)}"


def _short(text: str, limit: int = 40) -> str:
    """Echo a client's string back only as a bounded, printable excerpt."""
    excerpt = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return excerpt + ("…" if len(text) > limit else "")


_SDP_LINE = re.compile(r"[a-z]=.*", re.DOTALL)


def _check_sdp(sdp: str) -> None:
    """A plausible session description: what RFC 8866 says every one looks like, no more (aiortc parses it)."""
    if len(sdp.encode("utf-8", "surrogatepass")) > MAX_SDP_BYTES:
        raise SignallingError("bad_sdp", f"The session description is larger than {MAX_SDP_BYTES // 1024} KiB.")
    lines = sdp.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != "v=0":
        raise SignallingError("bad_sdp", 'A session description must start with "v=0".')
    for number, line in enumerate(lines, start=1):
        if not _SDP_LINE.fullmatch(line) or not line.isprintable():
            raise SignallingError("bad_sdp", f'Line {number} of the session description is not a "x=value" line.')
    if not any(line.startswith("m=") for line in lines):
        raise SignallingError("bad_sdp", 'The session description has no media ("m=") section.')


_TOKEN = re.compile(r"[A-Za-z0-9+/._:\-]+")  # foundations, addresses (IPv4, IPv6, mDNS names), ufrags
_CANDIDATE_TYPES: Final = frozenset({"host", "srflx", "prflx", "relay"})
_TRANSPORTS: Final = frozenset({"udp", "tcp"})


def _check_candidate(candidate: str, sdp_mid: str | None, sdp_mline_index: int | None) -> None:
    """RFC 8839: "candidate:" foundation component transport priority address port "typ" type, then name/value
    pairs (raddr, rport, generation, ufrag, network-cost…). An empty string is the end-of-candidates marker."""
    if sdp_mid is not None and not (0 < len(sdp_mid) <= MAX_MID_CHARS and _TOKEN.fullmatch(sdp_mid)):
        raise SignallingError(
            "bad_candidate", f'"sdp_mid" must be a short token of at most {MAX_MID_CHARS} characters.'
        )
    if sdp_mline_index is not None and not 0 <= sdp_mline_index <= MAX_MLINE_INDEX:
        raise SignallingError("bad_candidate", f'"sdp_mline_index" must be between 0 and {MAX_MLINE_INDEX}.')
    if candidate == "":
        return
    if sdp_mid is None and sdp_mline_index is None:
        raise SignallingError("bad_candidate", 'A candidate needs "sdp_mid" or "sdp_mline_index".')
    if len(candidate) > MAX_CANDIDATE_CHARS or not candidate.isascii() or not candidate.isprintable():
        raise SignallingError("bad_candidate", "An ICE candidate must be a short line of printable ASCII.")
    if not candidate.startswith("candidate:"):
        raise SignallingError("bad_candidate", 'An ICE candidate must start with "candidate:" (or be empty to end).')
    bits = candidate.removeprefix("candidate:").split(" ")
    if len(bits) < 8 or len(bits) % 2:
        raise SignallingError(
            "bad_candidate",
            "An ICE candidate has 8 fields (foundation component transport priority address port typ type) "
            f"then name/value pairs; this one has {len(bits)}.",
        )
    foundation, component, transport, priority, address, port, typ, kind = bits[:8]
    problems = [
        (not _TOKEN.fullmatch(foundation) or len(foundation) > 32, "the foundation is not a short token"),
        (not (component.isdigit() and 1 <= int(component) <= 256), "the component is not a number from 1 to 256"),
        (transport.lower() not in _TRANSPORTS, 'the transport is not "udp" or "tcp"'),
        (not (priority.isdigit() and int(priority) < 2**32), "the priority is not a 32-bit number"),
        (not _TOKEN.fullmatch(address) or len(address) > 255, "the address is not an IP address or host name"),
        (not (port.isdigit() and int(port) <= 65535), "the port is not a number from 0 to 65535"),
        (typ != "typ", 'the seventh field is not "typ"'),
        (kind not in _CANDIDATE_TYPES, "the type is not host, srflx, prflx or relay"),
        (any(not bit for bit in bits[8:]), "it has an empty name or value"),
        (not _pairs_ok(bits[8:]), "raddr is not an address, or rport, generation or network-cost not a number"),
    ]
    for bad, what in problems:
        if bad:
            raise SignallingError("bad_candidate", f"This ICE candidate cannot be used: {what}.")


def _pairs_ok(pairs: list[str]) -> bool:
    """The name/value pairs after the type: the ones aiortc reads must be readable (raddr an address, rport a
    port, generation and network-cost numbers); others are left to the ICE agent, which ignores what it does not
    know."""
    values = dict(zip(pairs[::2], pairs[1::2], strict=True))
    numbers = [values[n] for n in ("generation", "network-cost", "network-id") if n in values]
    port = values.get("rport")
    return (
        all(v.isdigit() and len(v) <= 10 for v in numbers)
        and (port is None or (port.isdigit() and int(port) <= 65535))
        and ("raddr" not in values or (_TOKEN.fullmatch(values["raddr"]) is not None and len(values["raddr"]) <= 255))
    )


# --- outgoing ------------------------------------------------------------------------------------------------

_Num = (int, float)
_OptNum = (int, float, _NoneType)

OUTGOING: Final[dict[str, dict[str, _Check]]] = {
    "answer": {"sdp": str},
    "error": {"code": str, "message": str},
    "pong": {},
    "peer_joined": {"side": str},
    "peer_left": {"side": str},
    "mute": {"side": str, "audio": bool, "video": bool},
    "consent": {"side": str, "given": bool},
    "transcript": {"id": int, "speaker": str, "started_at": _Num, "ended_at": _Num, "text": str},
    "soap_draft": {"draft": dict},
    "labs": {"results": list},
    "quality": {"rtt_ms": _OptNum, "loss": _OptNum, "jitter_ms": _OptNum},
    "ended": {"reason": str},
}
"""Every frame the server sends, by "type", with its fields (all required, nothing else).

- answer: the SDP answer to the participant's offer.
- error: a frame we could not act on (`SignallingError.code` / `.message`); the socket stays open.
- pong: the reply to "ping".
- peer_joined / peer_left: the other side ("doctor" or "patient") connected, left or dropped.
- mute: what the other side is sending now.
- consent: a participant gave or withdrew consent to the live transcript.
- transcript: one line of the live transcript (`id` is what SOAP sentences cite; times are seconds in the speaker's
  own audio).
- labs: the patient's recent released results (the doctor's page only), each {test, value, unit, flag, ...}.
- soap_draft: the SOAP draft so far, as a JSON object built by the caller from `core.notes.soap.Draft`.
- quality: the participant's own connection (round-trip ms, packet loss 0-1, jitter ms; null when not yet known).
- ended: the consult is over (the server closes the room); `reason` is for display.
"""


def dump(kind: str, **fields: Any) -> str:
    """Encode an outgoing frame. A kind or field not in `OUTGOING` is a programming error (ValueError/TypeError)."""
    spec = OUTGOING.get(kind)
    if spec is None:
        raise ValueError(f"unknown outgoing message type {kind!r}")
    if set(fields) != set(spec):
        raise TypeError(f"{kind!r} takes fields {sorted(spec)}, got {sorted(fields)}")
    for name, accepted in spec.items():
        if not _is_instance(fields[name], accepted):
            raise TypeError(f"{kind!r} field {name!r} must be {_describe(accepted)}, got {fields[name]!r}")
    return json.dumps({"type": kind, **fields}, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
