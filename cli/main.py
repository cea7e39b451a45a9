"""The `supakit` command: global options, command groups, and errors turned into exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cli import auth, billing, db, gen, jobs, lint, migrate, provision, realtime, serve, stack, worker
from cli.context import Globals
from functions_py.errors import SupakitError

app = typer.Typer(no_args_is_help=True, help="supakit: business rules in SQL on Supabase, Docker-free locally.",
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(db.app, name="db")
app.add_typer(migrate.app, name="migrate")
app.add_typer(jobs.app, name="jobs")
app.add_typer(auth.app, name="auth")
app.add_typer(realtime.app, name="realtime")
app.add_typer(billing.app, name="billing")
app.add_typer(provision.app, name="provision")
app.add_typer(gen.app, name="gen")
app.command()(stack.seed)
app.command()(stack.reset)
app.command()(stack.up)
app.command()(lint.lint)
app.command()(worker.worker)
app.command()(serve.serve)


@app.callback()
def main_options(
    ctx: typer.Context,
    project_dir: Path = typer.Option(None, "--project-dir", envvar="SUPAKIT_PROJECT_DIR", show_default=False,
                                     help="Project root (default: nearest directory with supabase/config.toml)."),
    data_dir: Path = typer.Option(None, "--data-dir", envvar="SUPAKIT_DATA_DIR", show_default=False,
                                  help="Embedded database data directory (default: <project>/.supakit)."),
    database_url: str = typer.Option(None, "--database-url", envvar="DATABASE_URL", show_default=False,
                                     show_envvar=True, help="Use this PostgreSQL instead of the embedded one."),
) -> None:
    ctx.obj = Globals(project_dir=project_dir, data_dir=data_dir, database_url=database_url)


def main() -> None:
    """Console-script entry point: run the app; a SupakitError prints its message and exits with its code."""
    try:
        app()
    except SupakitError as error:
        typer.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
