"""`supakit seed`, `supakit reset`, `supakit up`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

import typer

from cli.context import info, result, settings
from functions_py.config import child_environ
from functions_py.db import describe_target, redact
from functions_py.embedded import EmbeddedPostgres, check_port
from functions_py.errors import DatabaseUnavailable
from functions_py.http.status import frontend_env, status_values
from functions_py.migrations.engine import Migrator
from functions_py.stack import database_url, embedded
from functions_py.stack import reset as reset_database
from functions_py.stack import seed as seed_database


def seed(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON: seeded, seed_file.")
         ) -> None:
    """Apply seed.sql in one transaction (it is idempotent: running it twice changes nothing)."""
    current = settings(ctx)
    seeded = seed_database(database_url(current), current)
    info("seeded" if seeded else f"no seed file at {current.seed_file}")
    if as_json:
        result({"seeded": seeded, "seed_file": str(current.seed_file)}, as_json=True, text="")


def reset(ctx: typer.Context,
          force: bool = typer.Option(False, "--force", help="Allow resetting a database that is not on this machine."),
          no_seed: bool = typer.Option(False, "--no-seed", help="Skip seed.sql."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON: the phases' seconds, files applied.")
          ) -> None:
    """Drop and recreate the database, then apply compat, migrations, policies and seed (timed). The Realtime feeds
    of a running `supakit up` / `supakit serve` are disconnected and reconnect to the new database by themselves."""
    current = settings(ctx)
    if not current.database_url:
        embedded(current).start()
    url = database_url(current)
    report = reset_database(url, current, force=force, with_seed=not no_seed, notice=info)
    for phase, seconds in report.phases.items():
        info(f"  {phase:<11} {seconds:6.2f} s")
    info(f"reset in {report.total:.2f} s")
    if as_json:
        result({"database": describe_target(url), "phases": {k: round(v, 4) for k, v in report.phases.items()},
                "total_seconds": round(report.total, 4), "applied": len(report.applied), "seeded": not no_seed},
               as_json=True, text="")


DATABASE_GRACE_S = 5.0  # how long `up` waits for a stopped embedded database to come back (a `db stop && db start`)


def up(ctx: typer.Context,
       services: bool = typer.Option(True, "--services/--no-services",
                                     help="Then run the services in the foreground until Ctrl-C (default), or return."),
       worker: bool = typer.Option(True, "--worker/--no-worker", help="Run a job worker (`supakit worker`)."),
       serve: bool = typer.Option(True, "--serve/--no-serve",
                                  help="Run the API gateway (`supakit serve`: edge functions and Realtime)."),
       port: int = typer.Option(None, "--port", min=1, max=65535, show_default=False,
                                help="The API gateway's TCP port (default: api.port, 54321)."),
       dashboard: bool = typer.Option(None, "--dashboard/--no-dashboard", show_default=False,
                                      help="Serve the local dashboard beside the gateway (default: dashboard.enabled, "
                                           "true)."),
       ) -> None:
    """Start the embedded database (unless DATABASE_URL is set), migrate, seed, print connection details, then run
    the services in the foreground: the API gateway on api.port (edge functions at /functions/v1, Realtime at
    /realtime/v1), the dashboard and a job worker. The ports are checked first: one in use stops `up` (exit 2)
    before anything changes. Ctrl-C or SIGTERM stops the services; the database keeps running until
    `supakit db stop`. When the embedded database goes away (stopped, or its data directory deleted), `up` stops
    the services and exits 3."""
    current = settings(ctx, **{"api.port": port, "dashboard.enabled": dashboard})
    started = time.perf_counter()
    if services and serve:  # before migrating or printing anything: a second `up` fails here
        check_port(current.api.port, what="the API gateway", how="--port or SUPAKIT_API_PORT", host=current.api.host)
    server = None
    if not current.database_url:
        server = embedded(current)
        status, started_now = server.start()  # checks its own port before initdb; refuses an orphaned server
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
    gateway = ["serve", *(["--port", str(port)] if port else []),
               *([] if dashboard is None else ["--dashboard" if dashboard else "--no-dashboard"])]
    commands = ([gateway] if serve else []) + ([["worker"]] if worker else [])
    if services and commands:
        raise typer.Exit(_run_children(commands, {"DATABASE_URL": url, "SUPAKIT_DATA_DIR": str(current.data_dir),
                                                  "SUPAKIT_PROJECT_DIR": str(current.project_dir)},
                                       watch=_database_watch(server) if server else None))


def _database_watch(server: EmbeddedPostgres) -> Callable[[], str | None]:
    """A check `up` runs every second: None while the embedded database runs, else what happened to it."""
    missing_since: float | None = None

    def check() -> str | None:
        nonlocal missing_since
        status = server.status()
        if status.running:
            missing_since = None
            return None
        if status.orphaned:
            return server.orphan_message(status)
        if not status.initialized:
            return (f"the embedded database's data directory {server.pgdata} was deleted while `supakit up` ran; "
                    "`supakit up` creates a new, empty database.")
        missing_since = missing_since or time.monotonic()
        if time.monotonic() - missing_since < DATABASE_GRACE_S:
            return None
        return (f"the embedded database ({server.data_dir}) stopped (`supakit db stop`?) and did not come back in "
                f"{DATABASE_GRACE_S:.0f} s; start everything again with `supakit up`.")

    return check


def _run_children(commands: list[list[str]], env: dict[str, str],
                  watch: Callable[[], str | None] | None = None) -> int:
    """Run `supakit <command>` children side by side until they stop. Ctrl-C reaches them through the terminal's
    process group and SIGTERM is passed on; when one stops on its own, the others are stopped too, and its exit
    code is ours. A child that stops because we asked it to counts as a clean stop. `watch` runs every second:
    when it returns a reason (the database is gone), the children are stopped and DatabaseUnavailable says why."""
    names = " and ".join("the API gateway" if c[0] == "serve" else "a job worker" for c in commands)
    info(f"\nstarting {names} (Ctrl-C stops them; the database keeps running until `supakit db stop`)")
    sys.stdout.flush()
    children = [subprocess.Popen([sys.executable, "-m", "cli.main", *command], env=child_environ(**env))
                for command in commands]
    asked = False
    gone: str | None = None

    def stop_all(signum: int = signal.SIGTERM) -> None:
        nonlocal asked
        asked = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, lambda *_: stop_all())
    code = 0
    next_watch = time.monotonic() + 1.0
    try:
        while any(child.poll() is None for child in children):
            try:
                for child in children:
                    if child.poll() is not None and not asked:
                        code = child.returncode if child.returncode >= 0 else 1
                        info(f"`supakit {' '.join(commands[children.index(child)])}` stopped "
                             f"(exit {child.returncode}); stopping the others")
                        stop_all()
                if watch is not None and not asked and time.monotonic() >= next_watch:
                    next_watch = time.monotonic() + 1.0
                    gone = watch()
                    if gone:
                        info(f"the database is gone; stopping {names}")
                        stop_all()
                time.sleep(0.1)
            except KeyboardInterrupt:
                asked = True  # the children got the same SIGINT and are shutting down gracefully
    finally:
        signal.signal(signal.SIGTERM, previous)
    if gone:
        raise DatabaseUnavailable(gone)
    return code
