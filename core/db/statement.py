"""Assemble one SQL statement from several data-modifying CTEs, so a unit of work costs one round trip.

Each module stages its own part (``audit.stage``, ``outbox.stage``, …) and binds its own values; the
placeholders are numbered here, so the parts never need to know about each other. PostgreSQL runs every
data-modifying CTE of a statement exactly once whether or not the final SELECT reads it, and the statement is
atomic on its own. The text is the same for the same combination of parts, so asyncpg's prepared-statement
cache still applies.
"""

from __future__ import annotations

from typing import Any


class Statement:
    def __init__(self) -> None:
        self.args: list[Any] = []
        self._ctes: list[str] = []
        self._names: set[str] = set()

    def bind(self, value: Any) -> str:
        """Add a parameter and return its placeholder (``$n``)."""
        self.args.append(value)
        return f"${len(self.args)}"

    def cte(self, name: str, sql: str) -> None:
        if name in self._names:
            raise ValueError(f"CTE {name!r} is staged twice")
        self._names.add(name)
        self._ctes.append(f"{name} AS ({sql})")

    def sql(self, final: str) -> str:
        if not self._ctes:
            return final
        return "WITH " + ",\n".join(self._ctes) + "\n" + final
