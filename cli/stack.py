"""`supakit seed`, `supakit reset`, `supakit up`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import typer

from cli.context import info, settings
from functions_py.config import child_environ
from functions_py.db import redact
from functions_py.http.status import frontend_env, status_values
from functions_py.migrations.engine import Migrator
from functions_py.stack import database_url, embedded
from functions_py.stack import reset as reset_database
from functions_py.stack import seed as seed_database


def seed(ctx: typer.Context) -> None:
    """Apply seed.sql in one transaction (it is idempotent: running it twice changes nothing)."""
    current = settings(ctx)
    if not seed_database(database_url(current), current):
        info(f"no seed file at {current.seed_file}")
        return
    info("seeded")


def reset(ctx: typer.Context,
          force: bool = typer.Option(False, "--force", help="Allow resetting a database that is not on this machine."),
          no_seed: bool = typer.Option(False, "--no-seed", help="Skip seed.sql.")) -> None:
    """Drop and recreate the database, then apply compat, migrations, policies and seed (timed)."""
    current = settings(ctx)
    if not current.database_url:
        embedded(current).start()
    report = reset_database(database_url(current), current, force=force, with_seed=not no_seed)
    for phase, seconds in report.phases.items():
        info(f"  {phase:<11} {seconds:6.2f} s")
    info(f"reset in {report.total:.2f} s")


def up(ctx: typer.Context,
       services: bool = typer.Option(True, "--services/--no-services",
                                     help="Then run the services in the foreground until Ctrl-C (default), or return."),
       worker: bool = typer.Option(True, "--worker/--no-worker", help="Run a job worker (`supakit worker`)."),
       serve: bool = typer.Option(True, "--serve/--no-serve",
                                  help="Run the API gateway (`supakit serve`: edge functions and Realtime)."),
       ) -> None:
    """Start the embedded database (unless DATABASE_URL is set), migrate, seed, print connection details, then run
    the services in the foreground: the API gateway on SUPAKIT_API_PORT (edge functions at /functions/v1,
    Realtime at /realtime/v1) and a job worker. Ctrl-C stops them; the database keeps running until
    `supakit db stop`."""
    current = settings(ctx)
    started = time.perf_counter()
    if not current.database_url:
        status, started_now = embedded(current).start()
        info(("started" if started_now else "already running") + f" embedded PostgreSQL (pid {status.pid})")
    url = database_url(current)
    plan, applied = Migrator.for_settings(current, url, log=info).migrate()
    info(f"migrations: {len(applied)} applied" if applied else "migrations: up to date")
    seed_database(url, current)
    info(f"seeded; ready in {time.perf_counter() - started:.1f} s\n")
    typer.echo(f"DATABASE_URL={redact(url)}", nl=True)
    values = status_values(current, url)
    typer.echo("\n".join(f"{name}={value}" for name, value in frontend_env(values).items()))
    info(f"\n  psql \"{redact(url)}\"\n  supakit migrate status\n  supakit auth keys  # the anon and service_role keys"
         "\n  supakit db stop    # when you are done")
    commands = ([["serve"]] if serve else []) + ([["worker"]] if worker else [])
    if services and commands:
        raise typer.Exit(_run_children(commands, {"DATABASE_URL": url, "SUPAKIT_DATA_DIR": str(current.data_dir),
                                                  "SUPAKIT_PROJECT_DIR": str(current.project_dir)}))


def _run_children(commands: list[list[str]], env: dict[str, str]) -> int:
    """Run `supakit <command>` children side by side until they stop. Ctrl-C reaches them through the terminal's
    process group and SIGTERM is passed on; when one stops on its own, the others are stopped too, and its exit
    code is ours. A child that stops because we asked it to counts as a clean stop."""
    names = " and ".join("the API gateway" if c[0] == "serve" else "a job worker" for c in commands)
    info(f"\nstarting {names} (Ctrl-C stops them; the database keeps running until `supakit db stop`)")
    sys.stdout.flush()
    children = [subprocess.Popen([sys.executable, "-m", "cli.main", *command], env=child_environ(**env))
                for command in commands]
    asked = False

    def stop_all(signum: int = signal.SIGTERM) -> None:
        nonlocal asked
        asked = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, lambda *_: stop_all())
    code = 0
    try:
        while any(child.poll() is None for child in children):
            try:
                for child in children:
                    if child.poll() is not None and not asked:
                        code = child.returncode if child.returncode >= 0 else 1
                        info(f"`supakit {' '.join(commands[children.index(child)])}` stopped "
                             f"(exit {child.returncode}); stopping the others")
                        stop_all()
                time.sleep(0.1)
            except KeyboardInterrupt:
                asked = True  # the children got the same SIGINT and are shutting down gracefully
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)
