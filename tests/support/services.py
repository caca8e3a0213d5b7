"""Where the tests' PostgreSQL and Redis come from: the CI/dev URLs, or embedded servers for a fresh clone."""

from __future__ import annotations

import atexit
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str


_embedded: ServiceUrls | None = None


def service_urls() -> ServiceUrls:
    """LABPULSE_TEST_DATABASE_URL / LABPULSE_TEST_REDIS_URL when set, else embedded servers (one per process)."""
    global _embedded
    db = os.environ.get("LABPULSE_TEST_DATABASE_URL")
    redis = os.environ.get("LABPULSE_TEST_REDIS_URL")
    if db and redis:
        return ServiceUrls(db, redis)
    if _embedded is None:
        from core.embedded import start_embedded

        # A short path: PostgreSQL's unix socket lives under it.
        services = start_embedded(Path(tempfile.mkdtemp(prefix="lpt", dir="/tmp")))
        atexit.register(services.stop)
        _embedded = ServiceUrls(db or services.database_url, redis or services.redis_url)
    return _embedded
