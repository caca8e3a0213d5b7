"""The processes around the fan-out server: socket clients that record every frame, and a Redis listener that
timestamps each event on the bus (to split latency into relay and server parts). Used by bench/fanout.py."""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing as mp
import os
import random
import time
from collections import Counter
from typing import Any

import redis.asyncio as aioredis
from common import raise_nofile

from core.patients.sessions import PATIENT_COOKIE

ATTEMPTS = 10  # handshakes per socket before it counts as failed


def client(
    idx: int,
    url: str,
    origin: str,
    creds: list[tuple[str, str]],
    connect_concurrency: int,
    ctl: mp.Queue,  # type: ignore[type-arg]
    stop: mp.Event,  # type: ignore[type-arg]
    received: Any,  # mp.Value('q'): events received so far, read by the driver to know when all arrived
) -> None:
    """One load-generator process holding len(creds) sockets; reports what each one received."""
    raise_nofile()
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    async def main() -> None:
        records: list[tuple[str, int, int, float, str]] = []  # sample_id, version, seq, received at, frame "at"
        dupes = gaps = replays = closed = 0
        close_codes: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        retries: Counter[str] = Counter()
        sem = asyncio.Semaphore(connect_concurrency)
        readers: list[asyncio.Task[None]] = []
        stopping = False

        async def read(ws: Any, last_seq: int) -> None:
            nonlocal dupes, gaps, replays, closed
            seen: set[str] = set()
            try:
                async for raw in ws:
                    now = time.time()
                    msg = json.loads(raw)
                    if msg.get("type") != "event":
                        continue
                    if msg["event_id"] in seen or msg["last_event_id"] <= last_seq:
                        dupes += 1
                        continue
                    seen.add(msg["event_id"])
                    if msg["last_event_id"] != last_seq + 1:
                        gaps += 1
                    if msg["replay"]:
                        replays += 1
                    last_seq = msg["last_event_id"]
                    data = msg["data"]
                    records.append((data["sample_id"], data["version"], last_seq, now, msg["at"]))
                    received.value += 1
            except ConnectionClosed:
                pass
            if not stopping:  # the server closed it (a clean close ends the loop without raising)
                closed += 1
                close_codes[str(ws.close_code)] += 1

        def why(exc: BaseException) -> str:
            if isinstance(exc, ConnectionClosed):
                return f"closed {exc.rcvd.code if exc.rcvd else 'without a close frame'}"
            if isinstance(exc, InvalidStatus):
                return f"HTTP {exc.response.status_code}"
            return type(exc).__name__

        async def open_one(patient_id: str, token: str) -> bool:
            """Open one socket and read its snapshot; on failure, reconnect as a browser would (with backoff)."""
            for attempt in range(ATTEMPTS):
                try:
                    async with sem:
                        ws = await connect(
                            url,
                            origin=origin,  # type: ignore[arg-type]
                            additional_headers={"Cookie": f"{PATIENT_COOKIE}={token}"},
                            compression=None,
                            proxy=None,
                            ping_interval=None,
                            open_timeout=120,
                            close_timeout=1,
                            user_agent_header=None,
                        )
                        first = json.loads(await asyncio.wait_for(ws.recv(), 120))
                    if first.get("type") != "snapshot" or first.get("patient_id") != patient_id:
                        failures[f"first frame {first.get('type')}:{first.get('code')}"] += 1
                        await ws.close()
                        return False
                    readers.append(asyncio.create_task(read(ws, int(first["last_event_id"]))))
                    return True
                except Exception as exc:  # noqa: BLE001 — counted and retried, as a client would
                    if attempt == ATTEMPTS - 1:
                        failures[why(exc)] += 1
                        return False
                    retries[why(exc)] += 1
                    await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
            return False

        t0 = time.time()
        ok = sum(await asyncio.gather(*(open_one(p, t) for p, t in creds)))
        t1 = time.time()
        gc.collect()
        gc.freeze()
        gc.disable()
        ctl.put(("connected", idx, ok, dict(failures), dict(retries), t0, t1))
        await asyncio.to_thread(stop.wait)
        stopping = True
        ctl.put(("done", idx, records, dupes, gaps, replays, closed, dict(close_codes)))
        ctl.close()
        ctl.join_thread()
        os._exit(0)  # the kernel closes the sockets; a polite close of thousands is not what is measured

    asyncio.run(main())


def bus_listener(redis_url: str, channel: str, ready: Any, stop: Any, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Timestamps each event as it reaches Redis, to split the latency into relay (commit → Redis) and server
    (Redis → socket) parts."""

    async def main() -> None:
        redis = aioredis.from_url(redis_url)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        ready.set()
        seen: dict[tuple[str, int], float] = {}
        while not stop.is_set():
            msg = await pubsub.get_message(timeout=0.1)
            if msg is None:
                continue
            now = time.time()
            payload = json.loads(msg["data"])["payload"]
            seen.setdefault((payload["sample_id"], payload["version"]), now)
        out.put(seen)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()

    asyncio.run(main())
