"""`supakit gen`: generate code from the database: `supakit gen types typescript|python`."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import info, settings
from functions_py.db import connect
from functions_py.stack import database_url
from functions_py.typegen import LANGUAGES, generate

app = typer.Typer(no_args_is_help=True, help="Generate code from the database schema (typed clients).")


@app.command()
def types(ctx: typer.Context,
          language: str = typer.Argument(..., metavar="LANGUAGE", help=f"{' or '.join(LANGUAGES)}.",
                                         show_default=False),
          schema: list[str] = typer.Option(None, "--schema", "-s",
                                           help="A schema to include (repeatable or comma-separated; default: the "
                                                "exposed schemas, PGRST_DB_SCHEMAS or api.schemas in config.toml)."),
          output: Path = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
          local: bool = typer.Option(False, "--local", help="Accepted as the Supabase CLI spells it; the local "
                                                            "database (or DATABASE_URL) is the source.")) -> None:
    """Print the database's types: `typescript` is supabase-js's `Database` type (as `supabase gen types
    typescript --local` writes it), `python` is TypedDict models for supabase-py."""
    config = settings(ctx)
    # repeatable or comma-separated, as the Supabase CLI takes it (--schema public,api)
    named = [part.strip() for value in schema or () for part in value.split(",") if part.strip()]
    schemas = tuple(named) if named else tuple(config.rest.db_schemas)
    with connect(database_url(config)) as conn:
        text = generate(conn, language, schemas)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    info(f"wrote {output} ({len(text.splitlines())} lines)")
