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

import typer

from functions_py import config
from functions_py.config import Settings


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


def settings(ctx: typer.Context) -> Settings:
    return ctx.find_root().ensure_object(Globals).settings()


def info(message: str) -> None:
    """Progress for humans, on stderr."""
    typer.echo(message, err=True)


def result(payload: object, *, as_json: bool, text: str) -> None:
    """A command's result on stdout, as JSON when asked."""
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)
