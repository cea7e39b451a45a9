"""The `supakit` command: global options, command groups, and errors turned into exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import typer

from cli import (
    auth,
    billing,
    configuration,
    db,
    gen,
    jobs,
    lint,
    migrate,
    provision,
    realtime,
    serve,
    stack,
    status,
    worker,
)
from cli.context import Globals
from functions_py import config
from functions_py.errors import EXIT_UNAVAILABLE, SupakitError

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
app.command()(configuration.config)
app.command()(status.status)


@app.callback()
def main_options(
    ctx: typer.Context,
    # The environment variables are read by functions_py/config.py (not by typer), so `supakit config` can say
    # whether a value came from the flag or the variable.
    project_dir: Path = typer.Option(None, "--project-dir", show_default=False,
                                     help="Project root (default: SUPAKIT_PROJECT_DIR, else the nearest directory "
                                          "with supabase/config.toml)."),
    data_dir: Path = typer.Option(None, "--data-dir", show_default=False,
                                  help="supakit's data directory: the embedded database, mail, provisioning files "
                                       "(default: SUPAKIT_DATA_DIR, else <project>/.supakit)."),
    database_url: str = typer.Option(None, "--database-url", show_default=False,
                                     help="Use this PostgreSQL instead of the embedded one (default: DATABASE_URL)."),
) -> None:
    ctx.obj = Globals(project_dir=project_dir, data_dir=data_dir, database_url=database_url)
    ctx.call_on_close(lambda: config.use(None))  # the process's settings live as long as the command
    if ctx.invoked_subcommand not in (None, "docs") and "--help" not in sys.argv:
        ctx.obj.settings()  # at start: a bad value fails before anything runs, naming the setting


def main() -> None:
    """Console-script entry point: run the app; a SupakitError prints its message and exits with its code."""
    try:
        app()
    except SupakitError as error:
        typer.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)
    except psycopg.OperationalError as error:  # the database went away while the command ran (connecting is
        # translated by functions_py.db.connect already): exit 3, as for an unreachable database
        reason = next((line.strip() for line in str(error).splitlines() if line.strip()), "no reason given")
        typer.echo(f"error: lost the connection to the database: {reason}. Check that it still runs (`supakit db "
                   "status`, or the server DATABASE_URL names) and run the command again.", err=True)
        sys.exit(EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
