"""MLLP framing (HL7 v2's Minimal Lower Layer Protocol): a block is ``<VT> message <FS><CR>``.

``Frames`` reads blocks off a stream with a size limit of its own. A block over the limit is read to its end and
dropped, keeping only its first bytes (for the control id an AR must echo), so that the sender gets exactly one
answer for it and every later block on the connection is read from its own start: the ``hl7`` package's reader
gave two answers for such a block (one when the limit was crossed, one for the rest of it) and from then on each
ACK answered the message before."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

START, END = b"\x0b", b"\x1c\r"
HEAD_BYTES = 4096  # what is kept of an oversized block: enough for its MSH segment
_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class Block:
    """One framed block: its message bytes, or (when ``oversized`` or ``unframed``) the first bytes of it."""

    data: bytes
    oversized: int = 0  # the block's size, when it was over the limit
    unframed: bool = False  # it did not begin with <VT>


def frame(message: bytes) -> bytes:
    return START + message + END


class Frames:
    """The blocks of one connection, in order. ``next()`` raises ``EOFError`` when the sender closes (a partial
    block at the end is dropped: the sender never saw it acknowledged)."""

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._reader, self._limit = reader, limit
        self._buffer = bytearray()

    async def next(self) -> Block:
        scanned = 0
        while True:
            end = self._buffer.find(END, max(scanned - 1, 0))
            if end >= 0:
                raw = bytes(self._buffer[:end])
                del self._buffer[: end + len(END)]
                return self._block(raw)
            scanned = len(self._buffer)
            if scanned > self._limit + 1:
                return await self._skip_oversized()
            await self._fill()

    def _block(self, raw: bytes) -> Block:
        start = raw.find(START)
        if start < 0:
            return Block(raw[:HEAD_BYTES], unframed=True)
        # bytes between blocks (a stray CR or LF) are not part of the next one
        junk = raw[:start]
        if junk.strip(b"\r\n\x00 "):
            return Block(raw[:HEAD_BYTES], unframed=True)
        body = raw[start + 1 :]
        if len(body) > self._limit:
            return Block(body[:HEAD_BYTES], oversized=len(body))
        return Block(body)

    async def _skip_oversized(self) -> Block:
        """Read on to the block's end, keeping only its head; what follows its end stays for the next block."""
        head = bytes(self._buffer[:HEAD_BYTES]).lstrip(b"\r\n\x00 ").removeprefix(START)
        dropped = 0
        while True:
            end = self._buffer.find(END)
            if end >= 0:
                del self._buffer[: end + len(END)]
                return Block(head, oversized=dropped + end)
            dropped += len(self._buffer) - 1
            del self._buffer[:-1]  # the <FS> of an end split across two reads stays
            await self._fill()

    async def _fill(self) -> None:
        chunk = await self._reader.read(_CHUNK)
        if not chunk:
            raise EOFError
        self._buffer += chunk
