"""Sending one HL7 message over MLLP and reading its ACK: the connection is opened for the message and closed
after it (a destination's listener may be restarted between messages), with a time limit on each step. The ACK
must answer this message (MSA-2 is its control id) or the send counts as failed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from core.hl7.frames import Frames, frame

ACK_LIMIT = 1024 * 1024


class SendFailed(Exception):
    """No usable answer: the destination could not be reached, did not answer in time, or answered another
    message. Worth trying again."""


@dataclass(frozen=True, slots=True)
class Ack:
    code: str  # AA, AE, AR (or CA, CE, CR in enhanced mode)
    text: str


async def send(host: str, port: int, message: str, control_id: str, *, wait: float = 10.0) -> Ack:
    """Send and read the ACK, each step within ``wait`` seconds."""
    timeout = wait
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        raise SendFailed(f"could not connect: {type(exc).__name__}") from exc
    try:
        writer.write(frame(message.encode()))
        await asyncio.wait_for(writer.drain(), timeout)
        block = await asyncio.wait_for(Frames(reader, ACK_LIMIT).next(), timeout)
    except (OSError, TimeoutError, EOFError) as exc:
        raise SendFailed(f"no answer: {type(exc).__name__}") from exc
    finally:
        writer.close()
    return _ack(block.data.decode("utf-8", errors="replace"), control_id)


def _ack(text: str, control_id: str) -> Ack:
    msa = next((seg for seg in text.replace("\n", "\r").split("\r") if seg.startswith("MSA")), None)
    if msa is None:
        raise SendFailed("the answer has no MSA segment")
    fields = msa.split(msa[3]) if len(msa) > 3 else []
    code = fields[1] if len(fields) > 1 else ""
    if len(fields) < 3 or fields[2] != control_id:
        raise SendFailed("the answer is for another message")
    if code not in ("AA", "AE", "AR", "CA", "CE", "CR"):
        raise SendFailed(f"the answer's code {code!r} is not an HL7 acknowledgment code")
    return Ack(code, fields[3][:200] if len(fields) > 3 else "")
