"""`supakit worker`: run jobs from the queue until SIGTERM/SIGINT."""

from __future__ import annotations

import typer

from cli.context import settings
from functions_py.handlers.builtin import load_all
from functions_py.jobs.worker import WorkerConfig, configure_logging, default_name, run_worker
from functions_py.stack import database_url


def worker(
    ctx: typer.Context,
    # Every option is also a setting (worker.*, docs/settings.md): functions_py/config.py reads its variable and
    # supabase/config.toml, the flag wins; the defaults are the settings'.
    concurrency: int = typer.Option(None, "--concurrency", "-c", show_default=False,
                                    help="Jobs run at the same time."),
    batch_size: int = typer.Option(None, "--batch-size", show_default=False,
                                   help="Most jobs claimed at once (default: the concurrency)."),
    kinds: str = typer.Option(None, "--kinds", show_default=False,
                              help="Comma-separated job kinds to run (default: every registered kind)."),
    lease_seconds: int = typer.Option(None, "--lease-seconds", show_default=False,
                                      help="Lease per claim, renewed every third of it while the job runs."),
    poll_interval: float = typer.Option(None, "--poll-interval", show_default=False,
                                        help="Seconds between polls when no NOTIFY arrives."),
    shutdown_timeout: float = typer.Option(None, "--shutdown-timeout", show_default=False,
                                           help="Seconds in-flight jobs get to finish at shutdown before release."),
    name: str = typer.Option(None, "--name", show_default=False,
                             help="Worker name in leases and logs (default: <hostname>:<pid>)."),
    timeouts: str = typer.Option(None, "--timeouts", show_default=False,
                                 help="Per-kind handler timeouts overriding the handlers', e.g. ai.generate=120."),
    reap_interval: float = typer.Option(None, "--reap-interval", show_default=False,
                                        help="Seconds between requeueing jobs whose lease expired."),
    prune_interval: float = typer.Option(None, "--prune-interval", show_default=False,
                                         help="Seconds between retention runs (0: off)."),
    keep_succeeded: int = typer.Option(None, "--keep-succeeded", show_default=False,
                                       help="Succeeded jobs kept per kind by retention."),
    keep_failed: int = typer.Option(None, "--keep-failed", show_default=False,
                                    help="Failed and cancelled jobs kept per kind by retention."),
) -> None:
    """Run jobs from the queue (JSON log lines on stderr); SIGTERM/SIGINT shuts down gracefully."""
    current = settings(ctx, **{
        "worker.concurrency": concurrency, "worker.batch_size": batch_size, "worker.kinds": kinds,
        "worker.lease_seconds": lease_seconds, "worker.poll_interval": poll_interval,
        "worker.shutdown_timeout": shutdown_timeout, "worker.name": name, "worker.timeouts": timeouts,
        "worker.reap_interval": reap_interval, "worker.prune_interval": prune_interval,
        "worker.keep_succeeded": keep_succeeded, "worker.keep_failed": keep_failed})
    options = current.worker
    url = database_url(current)
    config = WorkerConfig(
        name=options.name or default_name(), kinds=tuple(options.kinds) or None, concurrency=options.concurrency,
        batch_size=options.batch_size, lease_seconds=options.lease_seconds, poll_interval=options.poll_interval,
        shutdown_timeout=options.shutdown_timeout, reap_interval=options.reap_interval,
        prune_interval=options.prune_interval, keep_succeeded=options.keep_succeeded,
        keep_failed=options.keep_failed, timeouts=dict(options.timeouts))
    configure_logging()
    run_worker(url, load_all(), config)
