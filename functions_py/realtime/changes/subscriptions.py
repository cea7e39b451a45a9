"""postgres_changes subscriptions: a client's binding, validated against the database as Supabase Realtime does.

Realtime inserts one `realtime.subscription` row per (binding, table in the publication) and a trigger checks
the filters (supabase/realtime `subscriptions.ex`, `subscription_check_filters`). We keep subscriptions in memory
and run the same checks: the tables come from `pg_publication_tables` (a missing `table` or `*` means every table
of the schema; a missing `schema` means `public`), each filter column must be one the role may select, each value
must cast to the column's type (`in`: to its array type, at most 100 values), and `select` columns must exist.
A wildcard binding covers the tables in the publication when it subscribes, as on Supabase.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from functions_py.errors import EXIT_BAD_INPUT, SupakitError
from functions_py.realtime.changes.catalog import TypeCache
from functions_py.realtime.changes.filters import (
    IS_VALUES,
    MAX_IN_VALUES,
    Filter,
    FilterSpec,
    FilterSyntaxError,
    make_filter,
    parse_filter,
)
from functions_py.realtime.pgoutput import lsn_to_int

ACTIONS = ("INSERT", "UPDATE", "DELETE")

publication_tables_many = """
select format('%%I.%%I', schemaname, tablename)::regclass::oid, schemaname::text, tablename::text
from pg_catalog.pg_publication_tables
where pubname = %(publication)s
  and schemaname like (case %(schema)s when '*' then '%%' else %(schema)s end) escape ''
  and tablename like (case %(table)s when '*' then '%%' else %(table)s end) escape ''
order by 1
"""

columns_for_role_many = """
select a.attname::text, a.atttypid
from pg_catalog.pg_attribute as a
where a.attrelid = %(oid)s and a.attnum > 0 and not a.attisdropped
  and pg_catalog.has_column_privilege(%(role)s, a.attrelid, a.attnum, 'SELECT')
order by a.attnum
"""

operator_exists_one = """
select exists (select from pg_catalog.pg_operator
               where oprname = %(name)s and oprleft = %(type)s and (%(right)s::oid is null or oprright = %(right)s))
"""


class SubscriptionError(SupakitError):
    """Unable to subscribe to changes with the given parameters; check the binding and the publication."""

    exit_code = EXIT_BAD_INPUT


@dataclass(slots=True)
class Subscription:
    id: str
    role: str
    claims: dict
    claims_json: str  # what request.jwt.claims is set to for the RLS check
    action: str  # '*' or one of ACTIONS
    tables: frozenset[int]
    filters: dict[int, tuple[Filter, ...]]  # by table oid
    select: tuple[str, ...] | None  # the binding's `select` (None: every column)
    start_lsn: int  # changes committed at or after this WAL position are delivered
    group: tuple[str, str] = field(init=False)  # subscribers sharing one RLS check

    def __post_init__(self) -> None:
        self.group = (self.role, self.claims_json)

    def wants(self, action: str) -> bool:
        return self.action == "*" or self.action == action


def action_filter(binding: dict) -> str:
    event = binding.get("event")
    if isinstance(event, str) and event.upper() in ACTIONS:
        return event.upper()
    return "*"


def describe(binding: dict, filters: list[FilterSpec] | None = None) -> str:
    """The parameters as Realtime logs them in its subscribe errors."""
    shown_filters = "[" + ", ".join(f.as_log() for f in (filters or [])) + "]"
    select = binding.get("select")
    return (f"event: {action_filter(binding)}, schema: {binding.get('schema') or 'public'}, "
            f"table: {binding.get('table') or '*'}, filters: {shown_filters}, "
            f"select: {json.dumps(select) if select is not None else 'nil'}")


def parse_binding(binding: object) -> tuple[str, str, list[FilterSpec], tuple[str, ...] | None]:
    """(schema, table, filters, select) of a binding, or SubscriptionError with Realtime's message."""
    if not isinstance(binding, dict) or not (isinstance(binding.get("schema"), str)
                                             or isinstance(binding.get("table"), str)):
        raise SubscriptionError("No subscription params provided. Please provide at least a `schema` or `table` "
                                f"to subscribe to: {json.dumps(binding)[:200]}")
    schema = binding.get("schema") if isinstance(binding.get("schema"), str) else "public"
    table = binding.get("table") if isinstance(binding.get("table"), str) else "*"
    raw_select = binding.get("select")
    select: tuple[str, ...] | None = None
    if isinstance(raw_select, list):
        names = tuple(c for c in raw_select if isinstance(c, str))
        select = names or None
    elif isinstance(raw_select, str):
        raise SubscriptionError('Error parsing `select` params: expected a list of column name strings, '
                                'e.g. select: ["col1", "col2"]')
    if select is not None and (schema == "*" or table == "*"):
        raise SubscriptionError("Column selection is not supported for wildcard subscriptions. "
                                "Provide an explicit schema and table name.")
    raw_filter = binding.get("filter")
    if "filter" in binding and not (isinstance(binding.get("schema"), str) and isinstance(binding.get("table"), str)):
        # Realtime accepts a filter only next to both a schema and a table (parse_subscription_params)
        raise SubscriptionError("No subscription params provided. Please provide at least a `schema` or `table` "
                                f"to subscribe to: {json.dumps(binding)[:200]}")
    if raw_filter is not None and not isinstance(raw_filter, str):
        raise SubscriptionError(f"Error parsing `filter` params: expected a string, not {json.dumps(raw_filter)}")
    try:
        filters = parse_filter(raw_filter)
    except FilterSyntaxError as error:
        raise SubscriptionError(f"Error parsing `filter` params: {error}") from None
    return schema, table, filters, select


async def _validate_filter(conn: psycopg.AsyncConnection, types: TypeCache, spec: FilterSpec, type_oid: int
                           ) -> Filter:
    """The filter with its literal cast to the column type, or an exception message as the trigger raises it."""
    info = await types.get(conn, type_oid)
    cast = sql.SQL(info.sql_name)
    canonical: str | None = None
    values: tuple[str | None, ...] = ()
    if spec.op == "in":
        row = await (await conn.execute(
            sql.SQL("select array(select x::text from unnest(%s::text::{}[]) as x)").format(cast),
            (spec.value,))).fetchone()
        values = tuple(row[0])
        if len(values) > MAX_IN_VALUES:
            raise ValueError(f"too many values for `in` filter. Maximum {MAX_IN_VALUES}")
    elif spec.op == "is":
        if spec.value not in IS_VALUES:
            raise ValueError("invalid value for is filter: must be null, true, false, or unknown")
        if spec.value != "null" and (info.base_name or info.name) != "bool":
            raise ValueError(f"is {spec.value} filter requires a boolean column, got {info.sql_name}")
    elif spec.op in ("like", "ilike", "match", "imatch"):
        name = {"like": "~~", "ilike": "~~*", "match": "~", "imatch": "~*"}[spec.op]
        right = type_oid if spec.op in ("match", "imatch") else None
        row = await (await conn.execute(operator_exists_one, {"name": name, "type": type_oid, "right": right})
                     ).fetchone()
        if not row[0]:
            raise ValueError(f"operator {spec.op} requires a text-compatible column type, got {info.sql_name}")
        if spec.op in ("match", "imatch"):
            try:
                async with conn.transaction():
                    await conn.execute("select '' ~ %s", (spec.value,))
            except psycopg.Error as error:
                raise ValueError(f"invalid regular expression for {spec.op} filter: "
                                 f"{error.diag.message_primary}") from None
        canonical = spec.value
    else:
        row = await (await conn.execute(sql.SQL("select %s::text::{}::text").format(cast), (spec.value,))
                     ).fetchone()
        canonical = row[0]
    return make_filter(spec, info, canonical, values)


async def validate(conn: psycopg.AsyncConnection, types: TypeCache, publication: str, sub_id: str, role: str,
                   claims: dict, binding: dict) -> Subscription:
    """A Subscription for `binding`, checked against the database; SubscriptionError when it cannot be."""
    schema, table, specs, select = parse_binding(binding)
    params = describe(binding, specs)
    try:
        async with conn.transaction():
            exists = await (await conn.execute("select pg_catalog.to_regrole(%s) is not null", (role,))).fetchone()
            if not exists[0]:
                raise ValueError(f'role "{role}" does not exist')
            tables = await (await conn.execute(
                publication_tables_many, {"publication": publication, "schema": schema, "table": table})).fetchall()
            if not tables:
                raise SubscriptionError(
                    "Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the "
                    f"given connect parameters: [{params}]")
            filters: dict[int, tuple[Filter, ...]] = {}
            for oid, _schema, _table in tables:
                columns = dict(await (await conn.execute(columns_for_role_many, {"oid": oid, "role": role})
                                      ).fetchall())
                built = []
                for spec in specs:
                    if spec.column not in columns:
                        raise ValueError(f"invalid column for filter {spec.column}")
                    built.append(await _validate_filter(conn, types, spec, columns[spec.column]))
                for column in select or ():
                    if column not in columns:
                        raise ValueError(f"invalid column for select {column}")
                filters[oid] = tuple(built)
            lsn = await (await conn.execute("select pg_catalog.pg_current_wal_insert_lsn()::text")).fetchone()
    except (ValueError, psycopg.Error) as error:
        message = error.diag.message_primary if isinstance(error, psycopg.Error) else str(error)
        raise SubscriptionError(
            "Unable to subscribe to changes with given parameters. An exception happened so please check your "
            f"connect parameters: [{params}]. Exception: {message}") from None
    return Subscription(id=sub_id, role=role, claims=claims, claims_json=json.dumps(claims, sort_keys=True),
                        action=action_filter(binding), tables=frozenset(t[0] for t in tables), filters=filters,
                        select=select, start_lsn=lsn_to_int(lsn[0]))
