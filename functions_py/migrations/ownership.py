"""What a repeatable file (policies/*.sql) owns, so that what it stops creating stops applying.

A repeatable file owns
- the **grants** of the tables it declares: every table named in its `grant ... on table` / `revoke ... on table`
  statements or in `alter table ... enable row level security`. On those tables it owns the privileges of PUBLIC,
  of the API roles (anon, authenticated, service_role), of every role it names there, and of every role it named
  there when last applied;
- the **policies** on the tables it declares, except those another repeatable file creates; and the policies it
  created on any other table (realtime.messages, storage.objects) when last applied.

Before the file runs, in its transaction, `withdraw` revokes those privileges and drops those policies; the file
then grants and creates what it still gives, and `record` writes down what it named, for the next application.
So a policy or grant deleted from the file is gone after `supakit migrate`, and the file's text alone decides its
tables' access. Tables must be named with `on table` in grants (`grant select on public.t` is not recognised) and
schema-qualified everywhere. docs/migrations.md, "Repeatable files own their access control".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from functions_py.migrations.statements import split

API_ROLES = ("anon", "authenticated", "service_role")
PUBLIC = "public"  # the PUBLIC pseudo-role, as written in grant/revoke

_NAME = r'(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)'
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
CREATE_POLICY = re.compile(rf"^create\s+policy\s+(?P<policy>{_NAME})\s+on\s+(?P<table>{_QUALIFIED})", re.I | re.S)
TABLE_GRANT = re.compile(
    rf"^(?:grant|revoke)\b.*?\bon\s+table\s+(?P<tables>{_QUALIFIED}(?:\s*,\s*{_QUALIFIED})*)\s+(?:to|from)\s+"
    r"(?P<roles>.+?)(?:\s+(?:with\s+grant\s+option|granted\s+by\s+\S+|cascade|restrict))*\s*;?\s*$", re.I | re.S)
ENABLE_RLS = re.compile(
    rf"^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(?P<table>{_QUALIFIED})\s+(?:force|enable)\s+row\s+level"
    r"\s+security", re.I | re.S)

# named queries
table_resolve_one = """
select n.nspname, c.relname from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where c.oid = to_regclass(%s)
"""
policy_names_of_table = """
select p.polname from pg_catalog.pg_policy as p
join pg_catalog.pg_class as c on c.oid = p.polrelid join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where n.nspname = %s and c.relname = %s
"""
recorded_objects_of_file = """
select object_kind, schema_name, table_name, name from supakit_migrations.repeatable_objects where file_key = %s
"""
recorded_objects_delete = "delete from supakit_migrations.repeatable_objects where file_key = %s"
recorded_object_insert_one = """
insert into supakit_migrations.repeatable_objects (file_key, object_kind, schema_name, table_name, name)
values (%s, %s, %s, %s, %s) on conflict do nothing
"""
role_exists = "select to_regrole(%s) is not null"
table_exists = "select to_regclass(format('%%I.%%I', %s::text, %s::text)) is not null"

Table = tuple[str, str]  # (schema, table), as the catalog spells them


def _unquote(name: str) -> str:
    name = name.strip()
    if name.startswith('"'):
        return name[1:-1].replace('""', '"')
    return name.lower()


@dataclass
class Declared:
    """What a file's text names: tables as written -> roles named in their grants; (table as written, policy)."""

    tables: dict[str, set[str]] = field(default_factory=dict)
    policies: set[tuple[str, str]] = field(default_factory=set)


def declared(text: str) -> Declared:
    """The tables a repeatable file declares (with the roles its grants name) and the policies it creates."""
    found = Declared()
    for statement in split(text):
        body = statement.text
        if match := CREATE_POLICY.match(body):
            found.policies.add((match["table"], _unquote(match["policy"])))
            continue
        if match := TABLE_GRANT.match(body):
            roles = {_unquote(role) for role in match["roles"].split(",") if role.strip()}
            for table in re.split(rf"\s*,\s*(?={_QUALIFIED})", match["tables"]):
                found.tables.setdefault(table.strip(), set()).update(roles)
            continue
        if match := ENABLE_RLS.match(body):
            found.tables.setdefault(match["table"], set())
    return found


def _resolve(conn: psycopg.Connection, table: str) -> Table | None:
    row = conn.execute(table_resolve_one, (table,)).fetchone()
    return (row[0], row[1]) if row else None


def _policies(conn: psycopg.Connection, mine: Declared) -> set[tuple[str, str, str]]:
    resolved = set()
    for table, policy in mine.policies:
        if where := _resolve(conn, table):
            resolved.add((*where, policy))
    return resolved


def withdraw(conn: psycopg.Connection, key: str, mine: Declared, others: list[Declared]) -> None:
    """Before file `key` runs (in its transaction): revoke the privileges it owns and drop the policies it owns,
    so that what it no longer grants or creates does not survive it."""
    recorded = conn.execute(recorded_objects_of_file, (key,)).fetchall()
    grants: dict[Table, set[str]] = {}
    for table, roles in mine.tables.items():
        if where := _resolve(conn, table):
            grants.setdefault(where, set()).update(roles)
    kept = set().union(*(_policies(conn, other) for other in others)) if others else set()
    drop = {(schema, table, name) for kind, schema, table, name in recorded if kind == "policy"}
    for kind, schema, table, name in recorded:
        if kind == "grant" and conn.execute(table_exists, (schema, table)).fetchone()[0]:
            grants.setdefault((schema, table), set()).add(name)
    for (schema, table), roles in grants.items():
        target = sql.Identifier(schema, table)
        for role in sorted(roles | {PUBLIC, *API_ROLES}):
            if role == PUBLIC:
                grantee = sql.SQL("public")
            elif conn.execute(role_exists, (sql.Identifier(role).as_string(conn),)).fetchone()[0]:
                grantee = sql.Identifier(role)
            else:
                continue
            conn.execute(sql.SQL("revoke all on table {} from {} cascade").format(target, grantee))
        if (schema, table) in {where for t in mine.tables if (where := _resolve(conn, t))}:
            drop |= {(schema, table, name) for name, in conn.execute(policy_names_of_table, (schema, table))}
    for schema, table, name in sorted(drop - kept):
        conn.execute(sql.SQL("drop policy if exists {} on {}").format(sql.Identifier(name),
                                                                       sql.Identifier(schema, table)))


def record(conn: psycopg.Connection, key: str, mine: Declared) -> None:
    """After file `key` ran: what it owns now, for the next application's `withdraw`."""
    conn.execute(recorded_objects_delete, (key,))
    rows = [(key, "policy", *policy) for policy in _policies(conn, mine)]
    for table, roles in mine.tables.items():
        if where := _resolve(conn, table):
            rows += [(key, "grant", *where, role) for role in roles | {PUBLIC}]
    with conn.cursor() as cur:
        cur.executemany(recorded_object_insert_one, sorted(rows))
