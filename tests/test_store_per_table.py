"""Each table is named in SQL by one module of core/, its store (issue 18): a statement that needs another
table's rows calls that table's store, or takes an SQL fragment the owner builds (``core.db.statement``).

KNOWN_DEBTS lists the (table, module) pairs that still break the rule. It is a ratchet: a new pair fails the
test, and so does a listed pair that no longer occurs, so the list only shrinks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
CORE = ROOT / "core"

# The tables the migrations create, so CTE names, functions and words after FROM are not taken for tables.
TABLES = frozenset(
    re.findall(
        r"CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)",
        "\n".join(p.read_text(encoding="utf-8") for p in sorted((CORE / "db" / "migrations").glob("*.sql"))),
    )
)

OWNERS: dict[str, str] = {
    **dict.fromkeys(("patients", "patient_merges"), "core/patients/store.py"),
    **dict.fromkeys(("samples", "sample_transitions", "unknown_scans"), "core/samples/store.py"),
    **dict.fromkeys(("orders", "order_tests", "test_codes"), "core/orders/store.py"),
    "reports": "core/reports/store.py",
    "results": "core/results.py",
    **dict.fromkeys(("analytes", "reference_ranges"), "core/ranges.py"),
    **dict.fromkeys(("critical_alerts", "escalation_chain"), "core/critical.py"),
    **dict.fromkeys(("mllp_listeners", "mllp_links"), "core/hl7/links.py"),
    "stored_files": "core/storage.py",
    "duty_roster": "core/roster.py",
    "alerts": "core/alert_rules.py",
    "deliveries": "core/reports/store.py",  # the reports store: a notice is part of its report
    "dead_letters": "core/jobs/runner.py",
    **dict.fromkeys(("test_catalogue", "centres", "packages", "served_pincodes"), "core/booking/catalogue.py"),
    **dict.fromkeys(("slots", "bookings", "reminders_sent"), "core/booking/store.py"),
    "staff": "core/staff/store.py",
    **dict.fromkeys(
        ("consults", "consult_slots", "consult_links", "consult_notes", "consult_consents", "consult_lines"),
        "core/teleconsult/store.py",
    ),
    **dict.fromkeys(("audit_log", "audit_chain", "audit_head", "audit_seal_start"), "core/audit.py"),
    "outbox": "core/outbox.py",
    "doctors": "core/doctors/store.py",
    **dict.fromkeys(("hl7_messages", "hl7_outbound", "hl7_destinations"), "core/hl7/store.py"),
    "break_glass": "core/access.py",
    "once_keys": "core/once.py",
    **dict.fromkeys(("telegram_links", "provider_statuses"), "core/chat_links.py"),
    "consents": "core/consent.py",
    "patient_acks": "core/tracking.py",  # tracking writes them; the export (patient_rights) reads them there
    "triage_assessments": "core/triage/assess.py",
}

# (table, module) pairs that break the rule today. Remove a pair when its SQL moves to the owner.
KNOWN_DEBTS: set[tuple[str, str]] = set()  # every one paid; keep it empty

# A keyword that names a table after it, then the name (kept only if it is a table). Upper-case keywords,
# as this code base writes SQL, so prose such as "from the list" is not read.
_NAMED = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|DELETE\s+FROM|USING)\s+([a-z_][a-z0-9_]*)\b")


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _texts(tree: ast.AST) -> list[str]:
    """Every string literal but docstrings; an f-string is read whole, with ``{}`` where a value goes."""
    skip = _docstrings(tree)
    texts: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            texts.append("".join(str(p) for p in parts))
            skip.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            texts.append(node.value)
    return texts


def tables_named(path: Path) -> set[str]:
    """The tables that SQL in the module at ``path`` names after FROM, JOIN, INTO, UPDATE, DELETE FROM or USING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {t for text in _texts(tree) for t in _NAMED.findall(text) if t in TABLES}


def pairs(root: Path) -> set[tuple[str, str]]:
    """(table, module) for every table named in SQL by a module under ``root/core``."""
    return {
        (table, str(path.relative_to(root)))
        for path in sorted((root / "core").rglob("*.py"))
        for table in tables_named(path)
    }


def violations(root: Path) -> set[tuple[str, str]]:
    return {(table, module) for table, module in pairs(root) if OWNERS.get(table) != module}


def test_every_table_has_an_owner() -> None:
    assert sorted(TABLES - OWNERS.keys()) == []
    assert sorted(OWNERS.keys() - TABLES) == []


def test_sql_names_a_table_only_in_its_store() -> None:
    found = violations(ROOT)
    assert sorted(found - KNOWN_DEBTS) == [], "SQL naming another owner's table: move it to the owner's store"
    assert sorted(KNOWN_DEBTS - found) == [], "paid debts: remove these pairs from KNOWN_DEBTS"


def test_the_check_sees_a_planted_violation(tmp_path: Path) -> None:
    module = tmp_path / "core" / "planted.py"
    module.parent.mkdir()
    module.write_text(
        '"""Docstrings are prose: SELECT nothing FROM patients."""\n'
        'A = "SELECT id FROM samples WHERE id = $1"\n'
        'B = f"""UPDATE orders SET x = {1}\n  FROM unnest($2::int[]) AS u"""\n'
        'C = f"SELECT {A} FROM moved JOIN results r ON r.id = moved.id"\n'
        'D = "Pick a test from the list"\n'
        'E = "JOIN reports rp ON rp.sample_id = s.id"\n'
    )
    assert pairs(tmp_path) == {
        ("samples", "core/planted.py"),
        ("orders", "core/planted.py"),
        ("results", "core/planted.py"),
        ("reports", "core/planted.py"),
    }
    assert violations(tmp_path) == pairs(tmp_path)
