"""What the feed reads from the system catalogs: column types (cached by OID) and, per batch, each table's primary
key, whether RLS is on, and which columns a role may select."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from functions_py.realtime.changes.values import TypeInfo

# to_jsonb's categories by base type OID (PostgreSQL json_categorize_type)
_KIND_BY_OID = {16: "bool", 20: "int", 21: "int", 23: "int", 700: "float", 701: "float", 1700: "numeric",
                114: "json", 3802: "json", 1082: "date", 1114: "timestamp", 1184: "timestamptz"}

type_one = """
select t.oid, t.typname::text, t.typtype::text, t.typcategory::text, t.typelem, t.typdelim::text, t.typbasetype,
       pg_catalog.format_type(t.oid, null),
       exists (select from pg_catalog.pg_cast as c
               where c.castsource = t.oid and c.casttarget in ('json'::regtype, 'jsonb'::regtype))
from pg_catalog.pg_type as t where t.oid = %s
"""

# One row per (table, role): RLS on?, the primary key's columns in key order, the columns the role may select.
table_access_one = """
select c.relrowsecurity,
       coalesce((select array_agg(a.attname::text order by pg_catalog.array_position(con.conkey, a.attnum))
                 from pg_catalog.pg_constraint as con
                 join pg_catalog.pg_attribute as a on a.attrelid = con.conrelid and a.attnum = any(con.conkey)
                 where con.conrelid = c.oid and con.contype = 'p'), '{}'),
       coalesce((select array_agg(a.attname::text)
                 from pg_catalog.pg_attribute as a
                 where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                   and pg_catalog.has_column_privilege(%(role)s, c.oid, a.attnum, 'SELECT')), '{}')
from pg_catalog.pg_class as c where c.oid = %(oid)s
"""


@dataclass(frozen=True, slots=True)
class TableAccess:
    """A table as one role sees it, read in the batch that uses it."""

    rls_enabled: bool
    primary_key: tuple[str, ...]
    selectable: frozenset[str]


class TypeCache:
    """TypeInfo by OID, read once per type (a type's category never changes)."""

    def __init__(self) -> None:
        self.types: dict[int, TypeInfo] = {}

    async def get(self, conn: psycopg.AsyncConnection, oid: int) -> TypeInfo:
        if oid in self.types:
            return self.types[oid]
        info = await self._load(conn, oid)
        self.types[oid] = info
        return info

    async def _row(self, conn: psycopg.AsyncConnection, oid: int) -> tuple | None:
        return await (await conn.execute(type_one, (oid,))).fetchone()

    async def _load(self, conn: psycopg.AsyncConnection, oid: int) -> TypeInfo:
        row = await self._row(conn, oid)
        if row is None:
            return TypeInfo(oid, str(oid), "text", sql_name="text")
        name, sql_name, delimiter = row[1], row[7], row[5]
        base = row
        while base[2] == "d":  # a domain: to_jsonb and comparisons follow its base type
            parent = await self._row(conn, base[6])
            if parent is None:
                break
            base = parent
        base_oid, base_name, base_type, base_category, base_elem, casts_to_json = \
            base[0], base[1], base[2], base[3], base[4], base[8]
        element = None
        if base_oid in _KIND_BY_OID:
            kind = _KIND_BY_OID[base_oid]
        elif base_category == "A" and base_elem and base_name.startswith("_"):
            element = await self.get(conn, base_elem)
            kind = "sql" if element.kind == "sql" else "array"
            element_row = await self._row(conn, base_elem)
            delimiter = element_row[5] if element_row else ","  # elements are split by their type's delimiter
        elif base_type == "c" or casts_to_json:
            kind = "sql"
        else:
            kind = "text"
        return TypeInfo(oid, name, kind, element, delimiter, sql_name, base_name, enum=(base_type == "e"))


async def table_access(conn: psycopg.AsyncConnection, oid: int, role: str) -> TableAccess:
    row = await (await conn.execute(table_access_one, {"oid": oid, "role": role})).fetchone()
    if row is None:
        return TableAccess(False, (), frozenset())
    return TableAccess(bool(row[0]), tuple(row[1]), frozenset(row[2]))
