"""`labpulse mllp`: the HL7 v2 listener for analyzers and the LIS, over MLLP (``core.hl7.frames``).

Each framed block is handed to ``core.hl7.intake`` (with whatever other blocks are waiting: group commit) and
answered with one ACK per message it holds, on the same connection, in order, once it is committed. A block that
is not framed properly or is over the size limit (``LABPULSE_MLLP_MAX_BLOCK_BYTES``) gets exactly one AR, echoing
its control id when its head has one, and the connection carries on; nothing a sender does can stop the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from core import metrics, ranges, trace
from core.config import Settings
from core.db.pool import probe
from core.hl7 import ack, intake
from core.hl7 import links as hl7_links
from core.hl7.frames import Frames, frame
from core.hl7.links import Links
from core.hl7.parse import header_of
from core.vault import Vault
from portal import health_port
from portal.services import open_services

log = logging.getLogger("labpulse.mllp")


class GroupCommit:
    """Applies blocks in the background, as many as are waiting (up to ``max_group``) together in one statement,
    so that a burst from many analyzers costs one commit (one flush to disk) per group instead of one per message.
    Each block's ACK is sent only after the commit that stored it. If a group fails, every block in it is applied
    again on its own, so one bad message never costs the others. ``appliers`` groups are in flight at once: while
    they are busy, the next group gathers; a lone message waits for nothing."""

    def __init__(self, pool: asyncpg.Pool, vault: Vault, *, appliers: int = 2, max_group: int = 32) -> None:
        self._pool, self._vault = pool, vault
        self._ranges = ranges.RangeCache()
        self._max_group = max_group
        self._queue: asyncio.Queue[tuple[bytes, asyncio.Future[list[str]]]] = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._apply_groups()) for _ in range(appliers)]
        self.largest_group = 0  # for the operator (and a test): how much grouping the load has called for

    async def submit(self, block: bytes) -> list[str]:
        """The ACKs for one block, once it is committed (or an AE asking the sender to send it again)."""
        done: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((block, done))
        return await done

    def alive(self) -> bool:
        return all(not task.done() for task in self._tasks)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _apply_groups(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self._max_group and not self._queue.empty():
                group.append(self._queue.get_nowait())
            self.largest_group = max(self.largest_group, len(group))
            try:
                answers = await self._apply(group)
            except Exception as exc:  # noqa: BLE001 - no database at all, say: every sender is asked to resend
                log.error("could not reach the database for %d blocks: %s", len(group), type(exc).__name__)
                answers = [[_resend(block)] for block, _ in group]
            for (_, done), replies in zip(group, answers, strict=True):
                if not done.done():  # the sender may have hung up meanwhile: what was stored stays stored
                    done.set_result(replies)

    async def _apply(self, group: list[tuple[bytes, asyncio.Future[list[str]]]]) -> list[list[str]]:
        token = trace.bind(trace.new("mllp-"))  # the group's events and jobs carry it; so does each log line
        try:
            return await self._apply_group(group)
        finally:
            trace.reset(token)

    async def _apply_group(self, group: list[tuple[bytes, asyncio.Future[list[str]]]]) -> list[list[str]]:
        async with self._pool.acquire() as conn:
            try:
                outcomes = await intake.receive_many(conn, self._vault, [b for b, _ in group], ranges=self._ranges)
            except Exception as exc:  # noqa: BLE001 - whatever it was, each block gets its own try next
                log.warning(
                    "a group of %d blocks failed (%s); applying them one by one", len(group), type(exc).__name__
                )
                return [await self._apply_one(conn, block) for block, _ in group]
        return [_acks(each) for each in outcomes]

    async def _apply_one(self, conn: asyncpg.Connection, block: bytes) -> list[str]:
        """A block on its own; if it still fails and holds several messages (a batch), each message on its own,
        so that only the one that cannot be stored is asked to come again."""
        try:
            return _acks(await intake.receive(conn, self._vault, block, ranges=self._ranges))
        except Exception as exc:  # noqa: BLE001 - an applier must outlive any one message
            log.error("could not store an inbound block: %s", type(exc).__name__)
        messages = intake.messages_of(block)
        if len(messages) == 1:
            return [_resend(block)]
        replies = []
        for message in messages:
            try:
                replies += _acks(await intake.receive(conn, self._vault, message, ranges=self._ranges))
            except Exception as exc:  # noqa: BLE001 - not stored: the sender keeps it and sends it again
                log.error("could not store an inbound message: %s", type(exc).__name__)
                replies.append(_resend(message))
        return replies


def _acks(outcomes: list[intake.Outcome]) -> list[str]:
    for o in outcomes:
        metrics.HL7_MESSAGES.labels(metrics.hl7_type(o.header.message_type), metrics.ack_code(o.ack_code)).inc()
    return [ack.build(o.ack_code, o.header, o.text, o.error) for o in outcomes]


def _resend(block: bytes) -> str:
    text = "Could not store the message now; please send it again."
    header = header_of(block)
    metrics.HL7_MESSAGES.labels(metrics.hl7_type(header.message_type), "AE").inc()
    return ack.build("AE", header, text, ack.AckError("207"))


def _refuse(head: bytes, why: str, code: str) -> str:
    """The one AR for a block that is not taken as a whole: echoing what its head says of the message."""
    header = header_of(head)
    metrics.HL7_MESSAGES.labels(metrics.hl7_type(header.message_type), "AR").inc()
    return ack.build("AR", header, why, ack.AckError(code))


def handler(group_commit: GroupCommit, max_block_bytes: int, links: Links | None = None):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = Frames(reader, max_block_bytes)
        key = id(writer)
        if links is not None:
            links.opened(key, _peer(writer))
        try:
            while True:
                try:
                    block = await frames.next()
                except EOFError:
                    break  # the sender closed the connection
                if block.unframed:
                    why = "Not a valid MLLP block: it is not framed by <VT> ... <FS><CR>."
                    replies = [_refuse(block.data, why, "100")]
                elif block.oversized:
                    why = f"The block is {block.oversized} bytes, over this listener's limit of {max_block_bytes}."
                    replies = [_refuse(block.data, why, "207")]
                else:
                    replies = await group_commit.submit(block.data)
                for reply in replies:
                    writer.write(frame(reply.encode()))
                await writer.drain()
                if links is not None:
                    links.heard(key, header_of(block.data[:1024]).sender, len(replies))
        except (ConnectionError, OSError):
            pass
        finally:
            if links is not None:
                links.closed(key)
            writer.close()

    return handle


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer or "?")[:60]


async def report_links(pool: asyncpg.Pool, links: Links, beat: Callable[[], None], every: float) -> None:
    """Tell the operations page, every ``every`` seconds, which senders are connected to this listener."""
    while True:
        async with pool.acquire() as conn:
            await hl7_links.report(conn, links, datetime.now(UTC))
        beat()
        await asyncio.sleep(every)


async def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    reuse_port: bool = False,
    ready: asyncio.Event | None = None,
    health: int | None = None,
) -> None:
    """Listen until SIGTERM/SIGINT. With ``reuse_port``, several processes share the port (the kernel spreads
    the connections), which is how the listener uses more than one core. ``health``: the port of ``/readyz``,
    which fails while PostgreSQL does not answer (every block is then answered AE: send it again)."""
    services = await open_services(settings, messaging=False)
    pool, supervisor = services.pool, services.supervisor
    group_commit = GroupCommit(pool, services.vault, appliers=settings.mllp_appliers)
    supervisor.add_check("appliers", lambda: None if group_commit.alive() else "an applier has stopped")
    prober = supervisor.loop("database", lambda beat: probe(pool, beat), stale_after=10)
    links = Links(f"{socket.gethostname()}:{os.getpid()}", f"{host}:{port}")
    every = settings.mllp_report_ms / 1000
    reporter = supervisor.loop("mllp-links", lambda beat: report_links(pool, links, beat, every),
                               stale_after=max(30, 6 * every))  # fmt: skip
    server = await asyncio.start_server(
        handler(group_commit, settings.mllp_max_block_bytes, links), host, port, reuse_port=reuse_port
    )
    health_server = await health_port.start(supervisor, host, health) if health else None
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
        if health_server is not None:
            health_server.close()
            await health_server.wait_closed()
        prober.cancel()
        reporter.cancel()
        with contextlib.suppress(Exception):  # gone from the page at once; else it shows as gone within 30 s
            async with pool.acquire(timeout=2) as conn:
                await hl7_links.withdraw(conn, links.listener)
        await group_commit.close()
        await services.close()
