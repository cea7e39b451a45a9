"""`supakit lint`: sqlfluff over the project's SQL (postgres dialect, lowercase; config in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

import typer

from cli.context import info, settings
from functions_py.errors import EXIT_FAILURE


def lint(ctx: typer.Context,
         fix: bool = typer.Option(False, "--fix", help="Let sqlfluff fix what it can, then lint again.")) -> None:
    """Lint sql/, policies/, supabase/compat/ and seed.sql; exit 1 on violations."""
    current = settings(ctx)
    targets = [p for p in (current.sql_dir, current.policies_dir, current.compat_dir, current.seed_file) if p.exists()]
    if not targets:
        info("nothing to lint")
        return
    base = [sys.executable, "-m", "sqlfluff"]
    config = ["--config", str(current.project_dir / "pyproject.toml")]
    paths = [str(p) for p in targets]
    if fix:
        subprocess.run([*base, "fix", *config, "--force", *paths], cwd=current.project_dir, check=False)
    completed = subprocess.run([*base, "lint", *config, "--processes", "2", *paths], cwd=current.project_dir,
                               check=False)
    if completed.returncode != 0:
        raise typer.Exit(EXIT_FAILURE)
