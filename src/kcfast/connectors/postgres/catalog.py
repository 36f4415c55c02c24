"""Reading table, column, key and type definitions from PostgreSQL's catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kcfast.connectors.postgres.config import TableFilter
from kcfast.connectors.postgres.types import BUILTIN_TYPES, TypeInfo

__all__ = ["ColumnInfo", "TableInfo", "TypeRegistry", "load_tables", "quote_ident"]


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class ColumnInfo:
    """One column: name, type, type modifier, nullability."""

    name: str
    type_oid: int
    type_modifier: int
    nullable: bool


@dataclass(frozen=True)
class TableInfo:
    """One captured table and its primary key (column names in key order)."""

    oid: int
    schema: str
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...]
    replica_identity: str = "d"

    @property
    def qualified(self) -> str:
        """``"schema"."table"`` for SQL."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"


_TABLES_SQL = """
SELECT c.oid, n.nspname, c.relname, c.relreplident
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY n.nspname, c.relname
"""

_COLUMNS_SQL = """
SELECT a.attrelid, a.attname, a.atttypid, a.atttypmod, NOT a.attnotnull
FROM pg_attribute a
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attrelid, a.attnum
"""

_KEYS_SQL = """
SELECT i.indrelid, a.attname
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indisprimary AND i.indrelid = ANY(%s)
ORDER BY i.indrelid, array_position(i.indkey::int2[], a.attnum)
"""


def load_tables(cursor: Any, table_filter: TableFilter, oids: list[int] | None = None) -> list[TableInfo]:
    """The captured tables (or the tables with ``oids``), with their columns and primary keys."""
    cursor.execute(_TABLES_SQL)
    rows = [r for r in cursor.fetchall() if table_filter.captures_table(r[1], r[2])]
    if oids is not None:
        wanted = set(oids)
        rows = [r for r in rows if r[0] in wanted]
    if not rows:
        return []
    relids = [r[0] for r in rows]
    cursor.execute(_COLUMNS_SQL, (relids,))
    columns: dict[int, list[ColumnInfo]] = {}
    for relid, name, type_oid, typmod, nullable in cursor.fetchall():
        columns.setdefault(relid, []).append(ColumnInfo(name, type_oid, typmod, nullable))
    cursor.execute(_KEYS_SQL, (relids,))
    keys: dict[int, list[str]] = {}
    for relid, name in cursor.fetchall():
        keys.setdefault(relid, []).append(name)
    return [TableInfo(relid, schema, name, tuple(columns.get(relid, ())), tuple(keys.get(relid, ())), ident)
            for relid, schema, name, ident in rows]


class TypeRegistry:
    """``pg_type`` entries by OID, loaded on demand (built-in types need no query)."""

    def __init__(self) -> None:
        self._types: dict[int, TypeInfo] = dict(BUILTIN_TYPES)

    def get(self, oid: int) -> TypeInfo | None:
        """The type of ``oid`` if known (call :meth:`load` first for user-defined types)."""
        return self._types.get(oid)

    def load(self, cursor: Any, oids: set[int]) -> None:
        """Read the types ``oids`` and everything they refer to (domain bases, array elements, enum labels)."""
        pending = {o for o in oids if o not in self._types}
        while pending:
            cursor.execute(
                "SELECT oid, typname, typtype, typbasetype, typtypmod, typelem, typcategory FROM pg_type "
                "WHERE oid = ANY(%s)", (list(pending),))
            rows = cursor.fetchall()
            enum_oids = [r[0] for r in rows if r[2] == "e"]
            labels: dict[int, list[str]] = {}
            if enum_oids:
                cursor.execute("SELECT enumtypid, enumlabel FROM pg_enum WHERE enumtypid = ANY(%s) "
                               "ORDER BY enumtypid, enumsortorder", (enum_oids,))
                for oid, label in cursor.fetchall():
                    labels.setdefault(oid, []).append(label)
            found = set()
            for oid, name, kind, base, base_typmod, elem, category in rows:
                self._types[oid] = TypeInfo(oid, name, kind, base, base_typmod, elem, category,
                                            tuple(labels.get(oid, ())))
                found.add(oid)
                for ref in (base, elem):
                    if ref and ref not in self._types:
                        found.discard(ref)
                        pending.add(ref)
            pending -= set(self._types)
            if not rows:
                break
