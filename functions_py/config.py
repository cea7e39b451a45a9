"""Settings, read from the environment (README lists every variable).

Secrets are read here and nowhere else; nothing in this module logs a value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from functions_py.errors import ConfigError

DEFAULT_DB_PORT = 54322  # the Supabase CLI's local database port, so tools configured for it just work
PROJECT_MARKERS = ("supabase/config.toml", "sql")


def find_project_dir(start: Path | None = None) -> Path:
    """The project root: SUPAKIT_PROJECT_DIR, else the nearest directory at or above `start` (default: the
    working directory) holding `supabase/config.toml` and `sql/`."""
    explicit = os.environ.get("SUPAKIT_PROJECT_DIR")
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not path.is_dir():
            raise ConfigError(f"SUPAKIT_PROJECT_DIR={explicit} is not a directory; point it at your supakit project.")
        return path
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if all((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    raise ConfigError(
        f"no supakit project found at or above {here} (looked for supabase/config.toml and sql/); "
        "run supakit from your project directory or set SUPAKIT_PROJECT_DIR."
    )


def _port(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_DB_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"SUPAKIT_DB_PORT={raw!r} is not a TCP port; use a number from 1 to 65535.")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    """Where the project, its embedded database and its target database are."""

    project_dir: Path
    data_dir: Path
    db_port: int = DEFAULT_DB_PORT
    database_url: str | None = None  # None: use the embedded database

    @classmethod
    def load(cls, *, project_dir: Path | None = None, data_dir: Path | None = None,
             database_url: str | None = None) -> Settings:
        """Settings from options (when given) falling back to the environment."""
        project = project_dir.resolve() if project_dir else find_project_dir()
        data = data_dir or (Path(os.environ["SUPAKIT_DATA_DIR"]) if os.environ.get("SUPAKIT_DATA_DIR") else None)
        data = (data.expanduser() if data else project / ".supakit").resolve()
        url = database_url or os.environ.get("DATABASE_URL") or None
        return cls(project_dir=project, data_dir=data, db_port=_port(os.environ.get("SUPAKIT_DB_PORT")),
                   database_url=url)

    @property
    def sql_dir(self) -> Path:
        return self.project_dir / "sql"

    @property
    def policies_dir(self) -> Path:
        return self.project_dir / "policies"

    @property
    def compat_dir(self) -> Path:
        return self.project_dir / "supabase" / "compat"

    @property
    def export_dir(self) -> Path:
        return self.project_dir / "supabase" / "migrations"

    @property
    def seed_file(self) -> Path:
        return self.project_dir / "seed.sql"
