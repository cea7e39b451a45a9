"""`supakit status`: the local stack's URLs and keys, as `supabase status` prints them."""

from __future__ import annotations

import enum

import typer

from cli.context import result, settings
from functions_py.http.status import dotenv_line, frontend_env, status_values
from functions_py.stack import database_url


class Output(enum.StrEnum):
    pretty = "pretty"
    env = "env"
    json = "json"


LABELS = {"API_URL": "API URL", "REST_URL": "REST URL", "FUNCTIONS_URL": "Functions URL", "DB_URL": "DB URL",
          "PUBLISHABLE_KEY": "publishable key", "SECRET_KEY": "secret key", "ANON_KEY": "anon key",
          "SERVICE_ROLE_KEY": "service_role key", "JWT_SECRET": "JWT secret"}


def env_block(values: dict[str, str]) -> str:
    """Supabase's names sorted (as `supabase status -o env`), then the frontend's `.env` lines."""
    lines = [dotenv_line(name, values[name]) for name in sorted(values)]
    lines += ["", "# for a frontend's .env"]
    lines += [f"{name}={value}" for name, value in frontend_env(values).items()]
    return "\n".join(lines)


def status(ctx: typer.Context,
           output: Output = typer.Option(Output.pretty, "--output", "-o", help="pretty, env or json.")) -> None:
    """Print the API URL, REST URL, DB URL and the keys; `-o env` prints them as `supabase status -o env` does,
    plus NEXT_PUBLIC_SUPABASE_URL / NEXT_PUBLIC_SUPABASE_ANON_KEY for a frontend's .env."""
    current = settings(ctx)
    values = status_values(current, database_url(current))
    if output is Output.env:
        typer.echo(env_block(values))
        return
    width = max(len(label) for label in LABELS.values())
    text = "\n".join(f"{LABELS[name]:>{width}}: {value}" for name, value in values.items())
    result(values, as_json=output is Output.json, text=text)
