"""Field-key rotation through the real `labpulse keys rotate`, killed half-way and run again: no row lost, none
unreadable, every value unchanged, and the old key can then be dropped."""

from __future__ import annotations

import base64
import signal
import subprocess

import asyncpg

from core import keys
from core.config import Secret, Settings
from core.crypto import generate_key
from core.identity import Role
from core.patients import service as patients
from core.staff import service as staff
from core.staff import totp
from core.vault import Vault
from tests.support.factories import SYSTEM, make_patient
from tests.support.procs import env_for, labpulse_cmd, run


async def _everything(conn: asyncpg.Connection, vault: Vault) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    for pid in [r["id"] for r in await conn.fetch("SELECT id::text FROM patients")]:
        p = await patients.read(conn, vault, pid, actor=SYSTEM, purpose="key rotation test")
        out[pid] = (p.name, p.phone, p.date_of_birth, p.address)
    row = await conn.fetchrow("SELECT id::text, totp_secret_enc FROM staff")
    out["staff"] = (vault.open("staff", "totp_secret", row["id"], row["totp_secret_enc"]),)
    return out


async def test_rotation_killed_half_way_then_resumed_loses_and_breaks_nothing(
    settings: Settings, conn: asyncpg.Connection, vault: Vault
) -> None:
    for i in range(40):
        await make_patient(conn, vault, name=f"Rotation Patient {i}")
    member = await staff.add(
        conn, username="rot.tech", display_name="T", role=Role.LAB_TECHNICIAN, password="x" * 12, actor=SYSTEM
    )
    await totp.begin(conn, vault, member)
    before = await _everything(conn, vault)
    assert (await keys.status(conn))["patients"] == {"k1": 40 * 2}  # name and phone; no dob or address

    new_key = base64.b64encode(generate_key()).decode()
    rotated = settings.with_overrides(field_keys={**settings.field_keys, "k2": Secret(new_key)}, field_key_active="k2")
    env = env_for(rotated, LABPULSE_FIELD_KEY_ACTIVE="k2")
    proc = subprocess.Popen(
        [*labpulse_cmd(), "keys", "rotate", "--batch-size", "2"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # let a few batches commit, then kill it without warning
        if line.startswith("patients: ") and int(line.split()[1]) >= 10:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    both = Vault.from_settings(rotated)
    half = (await keys.status(conn))["patients"]
    assert half.get("k1", 0) > 0 and half.get("k2", 0) >= 10 * 2  # genuinely half-way
    assert await _everything(conn, both) == before  # every row readable, nothing changed

    again = run(["keys", "rotate", "--batch-size", "7"], env)
    assert again.returncode == 0, again.stderr
    assert "done:" in again.stdout and "patients: k2: 80" in again.stdout
    in_use = {table: counts for table, counts in (await keys.status(conn)).items() if counts}
    assert in_use == {"patients": {"k2": 80}, "staff": {"k2": 1}}  # nothing left under k1, in any table
    only_new = Vault.from_settings(rotated.with_overrides(field_keys={"k2": Secret(new_key)}))
    assert await _everything(conn, only_new) == before  # the old key can go


async def test_report_files_rotate_too_and_the_old_key_can_then_go(
    pool: asyncpg.Pool,
    vault: Vault,
    settings: Settings,
    files,  # type: ignore[no-untyped-def]
) -> None:
    from core.crypto import FieldCipher
    from core.reports import render
    from tests.core.test_report_jobs import _approved

    _, report_id = await _approved(pool, vault)
    assert await render.render(pool, vault, files, report_id)
    new_key = base64.b64encode(generate_key()).decode()
    both = Vault.from_settings(settings.with_overrides(
        field_keys={**settings.field_keys, "k2": Secret(new_key)}, field_key_active="k2"))  # fmt: skip
    async with pool.acquire() as conn:
        name = await conn.fetchval("SELECT file_name FROM reports WHERE id = $1", report_id)
        before = vault.open_file("report", name, files.path(name).read_bytes())
        assert await keys.file_status(conn, files) == {"k1": 1}
        assert await keys.rotate_files(conn, both, files) == 1
        assert await keys.rotate_files(conn, both, files) == 0  # nothing left on the old key
        assert await keys.file_status(conn, files) == {"k2": 1}
    only_new = Vault.from_settings(settings.with_overrides(field_keys={"k2": Secret(new_key)}, field_key_active="k2"))
    blob = files.path(name).read_bytes()
    assert FieldCipher.key_id_of(blob) == "k2" and only_new.open_file("report", name, blob) == before
