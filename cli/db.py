"""`supakit db`: the embedded PostgreSQL."""

from __future__ import annotations

import typer

from cli.context import info, result, settings
from functions_py.errors import EXIT_UNAVAILABLE
from functions_py.stack import embedded

app = typer.Typer(no_args_is_help=True, help="Start, stop and inspect the embedded PostgreSQL (no Docker).")


@app.command()
def start(ctx: typer.Context) -> None:
    """Start the embedded database (initialising it on first use); starting it twice is harmless."""
    server = embedded(settings(ctx))
    status, started_now = server.start()
    info(("started" if started_now else "already running") + f": {status.url} (pid {status.pid}, data {status.pgdata})")
    typer.echo(status.url)


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop the embedded database; stopping a stopped database is harmless. A server whose data directory was
    deleted while it ran is stopped too (it holds the port but has no data)."""
    server = embedded(settings(ctx))
    current = server.status()
    if current.orphaned:
        server.stop_orphan(current.orphan_pid)
        info(f"stopped the orphaned PostgreSQL (pid {current.orphan_pid}) whose data directory {server.pgdata} was "
             "deleted; `supakit db start` creates a new, empty database")
        return
    info("stopped" if server.stop() else f"not running (data {server.data_dir})")


@app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Say whether the embedded database runs and where; exit 3 when it is not running (or its data directory was
    deleted under it)."""
    server = embedded(settings(ctx))
    current = server.status()
    if current.running:
        text = (f"running\n  url:      {current.url}\n  pid:      {current.pid}\n  port:     {current.port}\n"
                f"  pgdata:   {current.pgdata}\n  log:      {current.log_file}")
    elif current.orphaned:
        text = f"orphaned: {server.orphan_message(current)}"
    else:
        text = (f"not running\n  data dir: {current.data_dir} ({'initialised' if current.initialized else 'empty'})\n"
                f"  port:     {current.port} (when started)\n  start it with `supakit db start`")
    result({**current.as_dict(), "orphaned": current.orphaned}, as_json=as_json, text=text)
    if not current.running:
        raise typer.Exit(EXIT_UNAVAILABLE)


@app.command()
def url(ctx: typer.Context) -> None:
    """Print the URL commands connect to: DATABASE_URL when set, else the embedded database's."""
    current = settings(ctx)
    typer.echo(current.database_url or embedded(current).status().url)
