"""SQL lives in core's store modules: no string in the adapters and the web package (bots/, portal/, realtime/,
consult/) is a SQL statement. A statement added there fails this test; move it to the table's store in core/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
# Upper case, as this code base writes SQL (so "Select a test" in a page is not a statement)
_SQL = re.compile(
    r"^\s*(SELECT\s.*\bFROM\b|SELECT\s+\d|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\s)", re.S
)


def _statements(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value.strip()[:60]}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.match(node.value)
    ]


def test_no_sql_outside_core() -> None:
    found = [s for pkg in ("bots", "portal", "realtime", "consult") for p in sorted((ROOT / pkg).rglob("*.py"))
             for s in _statements(p)]  # fmt: skip
    assert found == []


def test_the_check_sees_sql(tmp_path: Path) -> None:
    sample = tmp_path / "module.py"
    sample.write_text(
        'A = "SELECT id FROM samples"\nB = """\n  INSERT INTO t VALUES (1)"""\nC = "Select a test from the list"\n'
    )
    found = [line.split(": ", 1)[1] for line in _statements(sample, tmp_path)]
    assert found == ["SELECT id FROM samples", "INSERT INTO t VALUES (1)"]
