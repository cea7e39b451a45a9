"""A comparable snapshot of a database's schema, for "these two databases hold the same objects" tests."""

from __future__ import annotations

import psycopg

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")

_QUERIES = {
    "columns": """
        select table_schema, table_name, column_name, data_type, is_nullable, column_default, is_generated
        from information_schema.columns where table_schema not in ('pg_catalog', 'information_schema')
        order by 1, 2, 3""",
    "constraints": """
        select n.nspname, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        from pg_constraint c join pg_namespace n on n.oid = c.connamespace
        where n.nspname not in ('pg_catalog', 'information_schema') order by 1, 2, 3""",
    "indexes": """
        select schemaname, tablename, indexname, indexdef from pg_indexes
        where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2, 3""",
    "functions": """
        select n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prosecdef, p.provolatile,
               p.proconfig, md5(p.prosrc)
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname not in ('pg_catalog', 'information_schema') order by 1, 2, 3""",
    "triggers": """
        select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) from pg_trigger
        where not tgisinternal order by 1, 2""",
    "policies": """
        select schemaname, tablename, policyname, cmd, roles::text, qual, with_check from pg_policies
        order by 1, 2, 3""",
    "rls": """
        select n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
        order by 1, 2""",
    "table_grants": """
        select table_schema, table_name, grantee, privilege_type from information_schema.role_table_grants
        where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2, 3, 4""",
    "column_grants": """
        select table_schema, table_name, column_name, grantee, privilege_type
        from information_schema.column_privileges
        where table_schema not in ('pg_catalog', 'information_schema') and grantee <> 'postgres'
        order by 1, 2, 3, 4, 5""",
    "schemas": """
        select nspname, pg_get_userbyid(nspowner), nspacl::text from pg_namespace
        where nspname not like 'pg\\_%' and nspname <> 'information_schema' order by 1""",
}


def snapshot(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """Every user-visible schema object, as sorted tuples per category."""
    return {name: conn.execute(query).fetchall() for name, query in _QUERIES.items()}
