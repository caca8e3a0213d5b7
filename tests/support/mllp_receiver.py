"""A doctor's system as a test stand-in: an MLLP listener that keeps every message it is sent and answers each
with the ACK code it is told to (AA unless ``answers`` says otherwise, one code per message in turn; None hangs
up without answering). Like a real receiver it recognises a resent control id (``unique``)."""

from __future__ import annotations

import asyncio
from collections import deque

from core.hl7.frames import Frames, frame
from core.hl7.parse import header_of


class Receiver:
    def __init__(self, answers: list[str | None] | None = None, hold_first: asyncio.Event | None = None) -> None:
        self.messages: list[str] = []
        self.hold_first = hold_first  # the first ACK waits for this: the sender is caught mid-send
        self.received = asyncio.Event()
        self.answers: deque[str | None] = deque(answers or [])
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def unique(self) -> dict[str, str]:
        """Messages by control id: what a receiver that drops duplicates keeps."""
        return {header_of(m).control_id: m for m in self.messages}

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = Frames(reader, 8 * 1024 * 1024)
        try:
            while True:
                block = await frames.next()
                text = block.data.decode()
                self.messages.append(text)
                self.received.set()
                if self.hold_first is not None and len(self.messages) == 1:
                    await self.hold_first.wait()
                code = self.answers.popleft() if self.answers else "AA"
                if code is None:
                    break
                control = header_of(text).control_id
                ack = f"MSH|^~\\&|DR|CLINIC|LABPULSE|LAB|20261207||ACK^R01^ACK|A-{len(self.messages)}|P|2.5.1\r"
                writer.write(frame(f"{ack}MSA|{code}|{control}|as told\r".encode()))
                await writer.drain()
        except (EOFError, ConnectionError):
            pass
        finally:
            writer.close()
