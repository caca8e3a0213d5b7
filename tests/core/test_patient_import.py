"""`labpulse patients import`: a lab's existing patients in from CSV, idempotent by MRN, all or nothing, every bad
row named by its line, PHI sealed and each creation audited."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from core.config import Settings
from core.identity import Actor
from core.patients import importer, service
from core.vault import Vault
from tests.support.procs import env_for, run

IMPORTER = Actor.system("tests.import")
GOOD = (
    "\ufeffmrn,name,date_of_birth,sex,phone,ward\n"
    "H-0001,Asha  Verma,1984-03-09,F,98000 11111,east\n"
    "H-0002,Ravi Kumar,09/03/1960,male,+91 98000 22222,\n"
    'H-0003,"Singh, Meera",,U,,west\n'
)


async def _count(conn: asyncpg.Connection, sql: str) -> int:
    n: int = await conn.fetchval(sql)
    return n


async def test_a_good_file_imports_once_sealed_and_audited_and_a_rerun_changes_nothing(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    report = await importer.import_csv(conn, vault, GOOD, actor=IMPORTER)
    assert (report.rows, report.created, report.already_present, report.errors) == (3, 3, 0, [])
    row = await conn.fetchrow("SELECT id::text, name_enc FROM patients WHERE mrn = 'H-0002'")
    assert b"Ravi" not in row["name_enc"]  # sealed at rest
    patient = await service.read(conn, vault, row["id"], actor=IMPORTER, purpose="test")
    assert (patient.name, patient.phone, str(patient.date_of_birth)) == ("Ravi Kumar", "+919800022222", "1960-03-09")
    assert await service.ids_for_phone(conn, vault, "9800011111")  # found by phone, as sign-in will
    audits = await _count(conn, "SELECT count(*) FROM audit_log WHERE action = 'patient.create'")
    assert audits == 3

    again = await importer.import_csv(conn, vault, GOOD, actor=IMPORTER)
    assert (again.created, again.already_present, again.errors) == (0, 3, [])
    assert await _count(conn, "SELECT count(*) FROM patients") == 3
    assert await _count(conn, "SELECT count(*) FROM audit_log WHERE action = 'patient.create'") == 3


async def test_bad_rows_are_each_named_by_line_and_nothing_is_imported(conn: asyncpg.Connection, vault: Vault) -> None:
    text = (
        "mrn,name,date_of_birth,sex,phone\n"
        "A-1,Good Person,1990-01-01,F,9800033333\n"  # line 2: fine, but not imported: the file has errors
        "A-2,Bad Date,31/02/1990,M,\n"  # 3
        "A-3,Bad Sex,1990-01-01,X,\n"  # 4
        "A-4,Bad Phone,1990-01-01,F,12\n"  # 5
        ",No Mrn,1990-01-01,F,\n"  # 6
        "A-1,Same Mrn,1990-01-01,F,\n"  # 7
        "A-7,Nul\x00Byte,1990-01-01,F,\n"  # 8
        "A-8,Short Row\n"  # 9
        "A-9,Future,2990-01-01,F,\n"  # 10
    )
    report = await importer.import_csv(conn, vault, text, actor=IMPORTER)
    assert [e.line for e in report.errors] == [3, 4, 5, 6, 7, 8, 9, 10]
    reasons = dict((e.line, e.reason) for e in report.errors)
    assert "date_of_birth" in reasons[3] and "sex" in reasons[4] and "phone" in reasons[5]
    assert "mrn" in reasons[6] and "line 2" in reasons[7] and "control character" in reasons[8]
    assert "columns" in reasons[9] and "future" in reasons[10]
    assert "Bad" not in " ".join(reasons.values())  # a reason never repeats a PHI value
    assert report.created == 0 and await _count(conn, "SELECT count(*) FROM patients") == 0


async def test_a_header_without_the_required_columns_is_refused(conn: asyncpg.Connection, vault: Vault) -> None:
    report = await importer.import_csv(conn, vault, "id,full_name\n1,A\n", actor=IMPORTER)
    assert [(e.line, "mrn" in e.reason and "phone" in e.reason) for e in report.errors] == [(1, True)]


async def test_the_cli_reports_and_exits_non_zero_on_bad_rows(
    settings: Settings, migrated: str, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text("mrn,name,date_of_birth,sex,phone\nB-1,Someone,not a date,F,\n", encoding="utf-8")
    env = env_for(settings)
    out = run(["patients", "import", str(bad)], env)
    assert out.returncode == 1 and "line 2: date_of_birth" in out.stderr and "nothing imported" in out.stderr
    out = run(["patients", "import", str(good), "--dry-run"], env)
    assert out.returncode == 0 and "3 new patients would be imported" in out.stdout, out.stderr
    out = run(["patients", "import", str(good)], env)
    assert out.returncode == 0 and "3 new patients imported; 0 already present" in out.stdout, out.stderr
    out = run(["patients", "import", str(good)], env)
    assert "0 new patients imported; 3 already present" in out.stdout
