"""What every command shares: the settings from global options, and output helpers.

The settings are built once per process, from the global options (`--project-dir`, `--data-dir`,
`--database-url`) over the environment and supabase/config.toml, and installed as the process's settings
(functions_py.config.use) for the code the commands call; commands pass them down explicitly where they can.

Progress and status go to stderr; results go to stdout (so `supakit db url` can feed another command).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import typer

from functions_py import config, organizations
from functions_py.config import Settings
from functions_py.errors import EXIT_BAD_INPUT, SupakitError


@dataclass
class Globals:
    project_dir: Path | None = None
    data_dir: Path | None = None
    database_url: str | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(project_dir=self.project_dir, data_dir=self.data_dir,
                                           database_url=self.database_url)
            config.use(self._settings)
        return self._settings


def settings(ctx: typer.Context, **flags: Any) -> Settings:
    """The process's settings; `flags` are this command's options by setting name (`{"api.port": port}`, None when
    not given), which take precedence over the environment and config.toml as the global options do."""
    current = ctx.find_root().ensure_object(Globals).settings()
    given = {name: value for name, value in flags.items() if value is not None}
    if not given:
        return current
    current = current.with_flags(given)
    config.use(current)
    return current


class OrganizationNotFound(SupakitError):
    """No organization has that id or slug."""

    exit_code = EXIT_BAD_INPUT


def organization_id(conn: psycopg.Connection, org: str) -> UUID:
    """The id of the organization `--org` names by id or by slug; OrganizationNotFound (exit 2) naming a few slugs
    when neither matches. Every command that takes --org resolves it here."""
    found = organizations.find(conn, org)
    if found is None:
        slugs = organizations.some_slugs(conn)
        known = f"; organizations here include {', '.join(slugs)}" if slugs else "; this database has none yet"
        raise OrganizationNotFound(f"--org {org!r}: no organization has that id or slug{known}.", org=org)
    return found


def org_option(required: bool = True, help: str = "Organization: its slug (e.g. acme) or its id.") -> Any:
    return typer.Option(... if required else None, "--org", help=help, show_default=False)


def info(message: str) -> None:
    """Progress for humans, on stderr."""
    typer.echo(message, err=True)


def result(payload: object, *, as_json: bool, text: str) -> None:
    """A command's result on stdout, as JSON when asked."""
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)
