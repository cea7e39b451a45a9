"""Typed clients: `supakit gen types typescript` (the `Database` type of supabase-js, as `supabase gen types
typescript --local` writes it) and `supakit gen types python` (TypedDict models for supabase-py), both read from
pg_catalog (functions_py/typegen/catalog.py). See docs/typegen.md."""

from __future__ import annotations

from typing import Any

from functions_py.errors import ConfigError
from functions_py.typegen.catalog import Catalog, read_catalog
from functions_py.typegen.python import generate_python
from functions_py.typegen.typescript import POSTGREST_VERSION, generate_typescript

LANGUAGES = ("typescript", "python")

SCHEMA_SELECT_MANY = "select nspname from pg_namespace where nspname = any(%s)"

__all__ = ["LANGUAGES", "POSTGREST_VERSION", "Catalog", "generate", "generate_python", "generate_typescript",
           "read_catalog"]


def generate(conn: Any, language: str, schemas: tuple[str, ...] | list[str]) -> str:
    """The generated file's text for `schemas` in `language`. Schemas that do not exist are skipped (the Supabase
    CLI's default list names graphql_public, which a plain PostgreSQL lacks); none existing is an error."""
    if language not in LANGUAGES:
        raise ConfigError(f"{language!r} is not a language supakit generates types for; use {' or '.join(LANGUAGES)}.")
    wanted = list(dict.fromkeys(schemas))
    present = {row[0] for row in conn.execute(SCHEMA_SELECT_MANY, (wanted,)).fetchall()}
    found = [schema for schema in wanted if schema in present]
    if not found:
        raise ConfigError(f"none of the schemas {', '.join(wanted)} exists in the database; pass --schema with "
                          "one that does (e.g. --schema public), or run `supakit migrate` first.")
    catalog = read_catalog(conn, found)
    return generate_typescript(catalog) if language == "typescript" else generate_python(catalog)
