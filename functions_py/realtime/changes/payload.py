"""The postgres_changes `data` object, built as Supabase Realtime's `apply_rls` builds it (pure).

Per role and `select` list: `columns` are the relation's columns the role may select (narrowed to `select` plus
the primary key), with `pg_type.typname` as type; `record` (INSERT, UPDATE) holds the new values of those columns,
an unchanged TOASTed value taken from the old row when the replica identity sent it; `old_record` (UPDATE, DELETE)
holds what the replica identity gives: the whole old row under REPLICA IDENTITY FULL, else the key columns (for an
UPDATE that did not change the key, read from the new row). A DELETE on a table with RLS keeps only the primary
key in `old_record`: no RLS check can run on a deleted row. When the change is larger than `max_record_bytes`,
only values of at most 64 bytes are kept and `errors` is `["Error 413: Payload Too Large"]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from functions_py.realtime.changes.catalog import TableAccess
from functions_py.realtime.changes.values import TypeInfo, json_size, to_json
from functions_py.realtime.pgoutput import UNCHANGED, Change

ERROR_TOO_LARGE = "Error 413: Payload Too Large"
ERROR_NO_PRIMARY_KEY = "Error 400: Bad Request, no primary key"
ERROR_UNAUTHORIZED = "Error 401: Unauthorized"
ERROR_RLS_FAILED = "Error 500: Internal Server Error, RLS policy evaluation failed"
SMALL_VALUE_BYTES = 64
DEFAULT_MAX_RECORD_BYTES = 1024 * 1024


def commit_timestamp(moment: datetime) -> str:
    """'2026-01-01T00:00:00.123Z': UTC, milliseconds (to_char(... 'MS') truncates)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class TypedChange:
    """A decoded change with its values typed (JSON) once, shared by every subscriber group."""

    change: Change
    types: tuple[TypeInfo, ...]
    new: dict[str, object] | None  # column -> JSON value; unchanged TOAST columns absent
    old: dict[str, object] | None  # what the replica identity sent (or the key columns of the new row)
    too_large: bool
    commit_timestamp: str

    @property
    def schema(self) -> str:
        return self.change.relation.schema

    @property
    def table(self) -> str:
        return self.change.relation.name

    @property
    def type(self) -> str:
        return self.change.type


def type_change(change: Change, types: tuple[TypeInfo, ...], json_values: dict[tuple[str, int], object],
                committed: datetime, max_record_bytes: int) -> TypedChange:
    """Type the values of `change`. `json_values[(side, index)]` holds values converted by the database
    (side 'new' or 'old'); every other value is converted here."""
    columns = change.relation.columns

    def typed(side: str, values: tuple) -> dict[str, object]:
        out: dict[str, object] = {}
        for index, (column, value) in enumerate(zip(columns, values, strict=False)):
            if value is UNCHANGED:
                continue
            if (side, index) in json_values:
                out[column.name] = json_values[(side, index)]
            else:
                out[column.name] = to_json(value, types[index])  # type: ignore[arg-type]
        return out

    new = typed("new", change.new) if change.new is not None else None
    old: dict[str, object] | None = None
    if change.old is not None:
        old = typed("old", change.old)
        if change.old_kind == "K":  # key columns only; the others arrive as NULLs
            old = {c.name: old[c.name] for c in columns if c.is_key and c.name in old}
    elif change.type == "UPDATE" and new is not None:
        old = {c.name: new[c.name] for c in columns if c.is_key and c.name in new}
    if new is not None and old is not None and change.old_kind == "O":
        for column in columns:  # unchanged TOAST: the old row has the value
            if column.name not in new and column.name in old:
                new[column.name] = old[column.name]
    # Realtime measures wal2json's message: the values' text plus the column names, near enough
    size = sum(len(c.name) + (len(v) if isinstance(v, str | bytes) else 4)
               for row in (change.new, change.old) if row is not None for c, v in zip(columns, row, strict=False))
    return TypedChange(change, types, new, old, size > max_record_bytes, commit_timestamp(committed))


def build_data(typed: TypedChange, access: TableAccess, select: tuple[str, ...] | None) -> dict:
    """The `data` object for subscribers with this table access (role) and `select` list."""
    relation = typed.change.relation
    primary_key = set(access.primary_key)

    def shown(name: str) -> bool:
        return name in access.selectable and (select is None or name in select or name in primary_key)

    def values(row: dict[str, object], keep=lambda name: True) -> dict[str, object]:
        out = {}
        for column in relation.columns:
            name = column.name
            if name in row and shown(name) and keep(name):
                value = row[name]
                if typed.too_large and json_size(value) > SMALL_VALUE_BYTES:
                    continue
                out[name] = value
        return out

    data: dict = {
        "schema": relation.schema,
        "table": relation.name,
        "commit_timestamp": typed.commit_timestamp,
        "type": typed.type,
        "columns": [{"name": c.name, "type": t.name} for c, t in zip(relation.columns, typed.types, strict=False)
                    if shown(c.name)],
        "errors": [ERROR_TOO_LARGE] if typed.too_large else None,
    }
    if typed.type in ("INSERT", "UPDATE"):
        data["record"] = values(typed.new or {})
    if typed.type == "UPDATE":
        data["old_record"] = values(typed.old or {})
    elif typed.type == "DELETE":
        keep = (lambda name: name in primary_key) if access.rls_enabled else (lambda name: True)
        data["old_record"] = values(typed.old or {}, keep)
    return data


def error_data(typed: TypedChange, error: str) -> dict:
    """The payload Realtime sends with a 400/401/500 error: no columns, no values."""
    data: dict = {"schema": typed.schema, "table": typed.table, "commit_timestamp": None, "type": typed.type,
                  "columns": [], "errors": [error]}
    if typed.type in ("INSERT", "UPDATE"):
        data["record"] = {}
    if typed.type in ("UPDATE", "DELETE"):
        data["old_record"] = {}
    return data
