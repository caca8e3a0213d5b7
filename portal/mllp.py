"""`labpulse mllp`: the HL7 v2 listener for analyzers and the LIS, over MLLP (the ``hl7`` package's framing).

Each framed block is handed to ``core.hl7.intake`` and answered with one ACK per message it holds, on the same
connection, in order. A block that is not framed properly or is too large still gets an AR, and the connection
carries on; nothing a sender does can stop the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import asyncpg
from hl7.mllp import InvalidBlockError, start_hl7_server

from core import results
from core.config import Settings
from core.db.pool import pool_from_settings
from core.hl7 import ack, intake
from core.vault import Vault

log = logging.getLogger("labpulse.mllp")
MAX_BLOCK_BYTES = 1024 * 1024


def handler(pool: asyncpg.Pool, vault: Vault):  # type: ignore[no-untyped-def]
    ranges = results.RangeCache()

    async def handle(reader, writer) -> None:  # type: ignore[no-untyped-def]
        try:
            while True:
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError:
                    break  # the sender closed the connection
                except (InvalidBlockError, ValueError) as exc:
                    writer.writeblock(ack.build("AR", "", f"Not a valid MLLP block: {type(exc).__name__}").encode())
                    await writer.drain()
                    continue
                try:
                    async with pool.acquire() as conn:
                        outcomes = await intake.receive(conn, vault, block, ranges=ranges)
                    replies = [ack.build(o.ack_code, o.control_id, o.text, o.sender) for o in outcomes]
                except (asyncpg.PostgresError, OSError) as exc:
                    # Not stored: the sender keeps it and sends again (AE asks for that); the listener goes on.
                    log.error("could not store an inbound message", exc_info=exc)
                    replies = [ack.build("AE", "", "Could not store the message now; please send it again.")]
                for reply in replies:
                    writer.writeblock(reply.encode())
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    return handle


async def serve(
    settings: Settings, host: str, port: int, *, reuse_port: bool = False, ready: asyncio.Event | None = None
) -> None:
    """Listen until SIGTERM/SIGINT. With ``reuse_port``, several processes share the port (the kernel spreads
    the connections), which is how the listener uses more than one core."""
    pool = await pool_from_settings(settings)
    server = await start_hl7_server(
        handler(pool, Vault.from_settings(settings)), host, port, limit=MAX_BLOCK_BYTES, reuse_port=reuse_port
    )
    log.info("MLLP listener on %s:%s", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await pool.close()
