"""`supakit auth`: the local stack's API keys and user access tokens (no GoTrue runs locally)."""

from __future__ import annotations

import typer

from cli.context import result, settings
from functions_py import tokens, users
from functions_py.config import Settings
from functions_py.db import connect, is_local
from functions_py.errors import ConfigError
from functions_py.stack import database_url

app = typer.Typer(no_args_is_help=True, help="API keys and user tokens for the local stack.")


def _secret(current: Settings, url: str) -> str:
    """The signing secret; the public local default only for a local database."""
    return tokens.TokenSettings.from_settings(current, require_explicit=not is_local(url)).secret


@app.command()
def keys(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the anon and service_role keys, signed with SUPAKIT_JWT_SECRET (default: the Supabase CLI's local
    secret, so they equal the CLI's well-known local keys)."""
    secret = _secret(settings(ctx), database_url(settings(ctx)))
    anon, service = tokens.api_key("anon", secret), tokens.api_key("service_role", secret)
    result({"anon_key": anon, "service_role_key": service}, as_json=as_json,
           text=f"anon key:         {anon}\nservice_role key: {service}")


@app.command()
def token(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The user's e-mail (auth.users)."),
    expires_in: int = typer.Option(3600, "--expires-in", help="Seconds until the token expires."),
) -> None:
    """Print an access token for a user, shaped like GoTrue's and signed as Auth signs (the signing key of
    auth.signing_keys_path when set, else the JWT secret), for Realtime `setAuth`, the edge functions and /rest/v1
    (as `Authorization: Bearer`). supabase-js `setSession` needs a refresh token from the local Auth API
    (/auth/v1), which this stack does not serve yet: it does not work with this token."""
    if expires_in <= 0:
        raise ConfigError(f"--expires-in must be a positive number of seconds, got {expires_in}")
    url = database_url(settings(ctx))
    signer = tokens.TokenSettings.from_settings(settings(ctx), require_explicit=not is_local(url))
    with connect(url) as conn:
        row = users.find_by_email(conn, email)
    if row is None:
        raise ConfigError(f"no user with e-mail {email!r} in auth.users; seed the database (`supakit seed`) or "
                          "create the user first")
    typer.echo(tokens.user_token(row[0], signer, email=row[1], expires_in_s=expires_in))
