"""The health port of `labpulse worker` and `labpulse mllp`: ``GET /healthz`` (the process answers), ``/readyz``
(every supervised loop is running and has beaten recently; 503 with the detail otherwise) and ``/metrics``
(Prometheus text). A few lines of HTTP/1.1 on asyncio, so neither process loads the web stack for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from core import metrics
from core.supervise import Supervisor

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def answer(supervisor: Supervisor, method: str, path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) for one request."""
    path = path.split("?", 1)[0]
    if method != "GET":
        return 405, "text/plain", b"GET only\n"
    if path == "/healthz":
        return 200, "application/json", b'{"status": "ok"}'
    if path == "/readyz":
        ready, detail = supervisor.health()
        body = json.dumps({"status": "ready" if ready else "unready", **detail}).encode()
        return (200 if ready else 503), "application/json", body
    if path == "/metrics":
        body, media_type = metrics.exposition()
        return 200, media_type, body
    return 404, "text/plain", b"/healthz, /readyz or /metrics\n"


async def _serve_one(supervisor: Supervisor, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        request = await asyncio.wait_for(reader.readline(), 5)
        while (line := await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
            if len(line) > 8192:
                return
        parts = request.decode("latin-1").split()
        status, kind, body = answer(supervisor, *parts[:2]) if len(parts) >= 2 else (405, "text/plain", b"")
        head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n")  # fmt: skip
        writer.write(head.encode() + body)
        await writer.drain()
    except (TimeoutError, OSError, UnicodeDecodeError, ValueError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def start(supervisor: Supervisor, host: str, port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_one(supervisor, reader, writer)

    return await asyncio.start_server(handle, host, port)
