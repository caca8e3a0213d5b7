"""Pooled connections carry no session state. The pool hands a connection back without asyncpg's reset query
(core/db/pool.py) and PgBouncer in transaction mode shares server connections, so no code that runs on a pooled
connection may change the session: a SET other than SET LOCAL, a LISTEN, a session advisory lock, set_config for
the session. Migrations run on their own connection and may."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "portal", "bots", "realtime", "consult")
OWN_CONNECTION = {
    "core/db/migrate.py",  # migrations: a connection of their own, closed afterwards
    "core/db/pool.py",  # names PgBouncer's connect_query in an error message
}
SESSION_STATE = re.compile(
    r"""(?x)
    (["'](?:\s|;)*SET\s+(?!LOCAL\b)(?:SESSION\s+)?\w+)  # a statement that starts with SET, not SET LOCAL
    | (["'](?:\s|;)*(?:UN)?LISTEN\s)                    # LISTEN / UNLISTEN
    | (pg_(?:try_)?advisory_lock(?:_shared)?\s*\()      # a session advisory lock (the _xact_ ones are fine)
    | (set_config\s*\([^)]*,\s*(?i:false)\s*\))         # set_config(..., is_local => false)
    | (\.add_listener\s*\()                             # asyncpg's LISTEN
    """
)


def _offences(text: str) -> list[str]:
    return [m.group(0).strip() for m in SESSION_STATE.finditer(text)]


def test_no_code_on_a_pooled_connection_changes_the_session() -> None:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if name in OWN_CONNECTION or name.startswith("portal/drill/"):  # the drill sets up its own servers
                continue
            if offences := _offences(path.read_text()):
                found[name] = offences
    assert found == {}


def test_the_check_sees_each_kind_of_session_state() -> None:
    for sql in ('"SET search_path TO x"', "'SET SESSION work_mem = 1'", '"LISTEN jobs"',
                "pg_advisory_lock(42)", "set_config('x', 'y', false)", "conn.add_listener("):  # fmt: skip
        assert _offences(sql), sql
    for sql in ('"SET LOCAL lock_timeout = 1"', '"UPDATE t SET a = 1"', "pg_advisory_xact_lock(1)",
                "pg_try_advisory_xact_lock(1)", "set_config('x', 'y', true)"):  # fmt: skip
        assert not _offences(sql), sql
