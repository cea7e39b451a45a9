"""`supakit seed`, `supakit reset`, `supakit up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import typer

from cli.context import info, settings
from functions_py.db import redact
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
       worker: bool = typer.Option(True, "--worker/--no-worker",
                                   help="Then run a job worker in the foreground until Ctrl-C (default), or return.")
       ) -> None:
    """Start the embedded database (unless DATABASE_URL is set), migrate, seed, print connection details, then run
    a job worker in the foreground (Ctrl-C stops it; the database keeps running until `supakit db stop`)."""
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
    info(f"\n  psql \"{redact(url)}\"\n  supakit migrate status\n  supakit db stop    # when you are done")
    if worker:
        raise typer.Exit(_run_worker_child(url))


def _run_worker_child(url: str) -> int:
    """Run `supakit worker` as a child (it reads the SUPAKIT_WORKER_* settings) until it stops; Ctrl-C reaches it
    through the terminal's process group, SIGTERM is passed on. Later issues add the edge app and the Realtime
    server as siblings."""
    info("\nstarting a job worker (Ctrl-C stops it; the database keeps running until `supakit db stop`)")
    sys.stdout.flush()
    child = subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env={**os.environ, "DATABASE_URL": url})
    previous = signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # the worker got the same SIGINT and is shutting down gracefully
    finally:
        signal.signal(signal.SIGTERM, previous)
