"""`supakit gen`: generate code from the database (`supakit gen types typescript|python`) and JWT signing keys
(`supakit gen signing-key`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from cli.context import info, settings
from functions_py import tokens
from functions_py.db import connect
from functions_py.errors import ConfigError
from functions_py.stack import database_url
from functions_py.typegen import LANGUAGES, generate

app = typer.Typer(no_args_is_help=True, help="Generate typed clients from the database schema, and signing keys.")


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


@app.command("signing-key")
def signing_key(ctx: typer.Context,
                algorithm: str = typer.Option("ES256", "--algorithm", help="RS256 or ES256."),
                append: bool = typer.Option(False, "--append", help="Add the key to the signing keys file (key "
                                                                     "rotation) instead of replacing the file."),
                force: bool = typer.Option(False, "--force", help="Replace a signing keys file with keys.")) -> None:
    """Make a private JWK for asymmetric JWT signing, as `supabase gen signing-key` does: written to
    auth.signing_keys_path ([auth] signing_keys_path, relative to supabase/) when set, else printed."""
    config = settings(ctx)
    key = tokens.generate_signing_key(algorithm.upper())
    path = config.signing_keys_file
    if path is None:
        typer.echo(json.dumps(key))
        info('save it as supabase/signing_keys.json and set [auth] signing_keys_path = "./signing_keys.json" in '
             "supabase/config.toml (keep the file out of git).")
        return
    keys: list[dict] = []
    if path.exists() and path.stat().st_size > 0:
        if append:
            keys = [dict(entry) for entry in _read_keys(path)]
            # rotation: the new key signs, the old ones keep verifying the tokens they signed (GoTrue refuses a
            # file with two signing keys, which the CLI's --append would leave)
            for entry in keys:
                entry["key_ops"] = [op for op in entry.get("key_ops") or [] if op != "sign"] or ["verify"]
        elif not force:
            raise ConfigError(f"{path} already holds signing keys; pass --append to add a key (rotation) or --force "
                              "to replace them (tokens they signed stop verifying).")
    keys.append(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(json.dumps(keys, indent=2) + "\n")
    path.chmod(0o600)
    tokens.SigningKeys.load(path)  # what was written must load
    info(f"JWT signing key {key['kid']} ({key['alg']}) written to {path} (now contains {len(keys)} keys); keep the "
         "file out of git.")


def _read_keys(path: Path) -> list:
    try:
        document = json.loads(path.read_text())
    except ValueError as error:
        raise ConfigError(f"{path} is not JSON ({error}); fix it or pass --force to replace it.") from None
    if not isinstance(document, list) or not all(isinstance(entry, dict) for entry in document):
        raise ConfigError(f"{path} is not a JSON array of JWKs; fix it or pass --force to replace it.")
    return document
