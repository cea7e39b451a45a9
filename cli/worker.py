"""`supakit worker`: run jobs from the queue until SIGTERM/SIGINT."""

from __future__ import annotations

import typer

from cli.context import settings
from functions_py.errors import ConfigError
from functions_py.handlers.builtin import load_all
from functions_py.jobs.worker import WorkerConfig, configure_logging, default_name, run_worker
from functions_py.stack import database_url


def _kinds(raw: str | None) -> tuple[str, ...] | None:
    kinds = tuple(k.strip() for k in (raw or "").split(",") if k.strip())
    return kinds or None


def _timeouts(raw: str | None) -> dict[str, float]:
    timeouts: dict[str, float] = {}
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        kind, sep, seconds = item.partition("=")
        try:
            if not sep:
                raise ValueError
            timeouts[kind.strip()] = float(seconds)
        except ValueError:
            raise ConfigError(f"--timeouts: {item.strip()!r} is not KIND=SECONDS; write e.g. "
                              "--timeouts ai.generate=120,system.sleep=5") from None
    return timeouts


def worker(
    ctx: typer.Context,
    concurrency: int = typer.Option(3, "--concurrency", "-c", envvar="SUPAKIT_WORKER_CONCURRENCY",
                                    help="Jobs run at the same time."),
    batch_size: int = typer.Option(None, "--batch-size", envvar="SUPAKIT_WORKER_BATCH_SIZE", show_default=False,
                                   help="Most jobs claimed at once (default: the concurrency)."),
    kinds: str = typer.Option(None, "--kinds", envvar="SUPAKIT_WORKER_KINDS", show_default=False,
                              help="Comma-separated job kinds to run (default: every registered kind)."),
    lease_seconds: int = typer.Option(30, "--lease-seconds", envvar="SUPAKIT_WORKER_LEASE_SECONDS",
                                      help="Lease per claim, renewed every third of it while the job runs."),
    poll_interval: float = typer.Option(1.0, "--poll-interval", envvar="SUPAKIT_WORKER_POLL_INTERVAL",
                                        help="Seconds between polls when no NOTIFY arrives."),
    shutdown_timeout: float = typer.Option(10.0, "--shutdown-timeout", envvar="SUPAKIT_WORKER_SHUTDOWN_TIMEOUT",
                                           help="Seconds in-flight jobs get to finish at shutdown before release."),
    name: str = typer.Option(None, "--name", envvar="SUPAKIT_WORKER_NAME", show_default=False,
                             help="Worker name in leases and logs (default: <hostname>:<pid>)."),
    timeouts: str = typer.Option(None, "--timeouts", envvar="SUPAKIT_WORKER_TIMEOUTS", show_default=False,
                                 help="Per-kind handler timeouts overriding the handlers', e.g. ai.generate=120."),
    reap_interval: float = typer.Option(5.0, "--reap-interval", envvar="SUPAKIT_WORKER_REAP_INTERVAL",
                                        help="Seconds between requeueing jobs whose lease expired."),
    prune_interval: float = typer.Option(60.0, "--prune-interval", envvar="SUPAKIT_WORKER_PRUNE_INTERVAL",
                                         help="Seconds between retention runs (0: off)."),
    keep_succeeded: int = typer.Option(100, "--keep-succeeded", envvar="SUPAKIT_JOBS_KEEP_SUCCEEDED",
                                       help="Succeeded jobs kept per kind by retention."),
    keep_failed: int = typer.Option(500, "--keep-failed", envvar="SUPAKIT_JOBS_KEEP_FAILED",
                                    help="Failed and cancelled jobs kept per kind by retention."),
) -> None:
    """Run jobs from the queue (JSON log lines on stderr); SIGTERM/SIGINT shuts down gracefully."""
    url = database_url(settings(ctx))
    config = WorkerConfig(
        name=name or default_name(), kinds=_kinds(kinds), concurrency=concurrency, batch_size=batch_size,
        lease_seconds=lease_seconds, poll_interval=poll_interval, shutdown_timeout=shutdown_timeout,
        reap_interval=reap_interval, prune_interval=prune_interval, keep_succeeded=keep_succeeded,
        keep_failed=keep_failed, timeouts=_timeouts(timeouts))
    configure_logging()
    run_worker(url, load_all(), config)
