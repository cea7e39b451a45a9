"""`supakit jobs`: inspect and operate the job queue (list, schedules, show, enqueue, cancel, retry, stats)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import typer

from cli.context import info, result, settings
from functions_py.db import connect
from functions_py.errors import EXIT_FAILURE, ConfigError, SupakitError
from functions_py.handlers.builtin import load_all
from functions_py.jobs import queue
from functions_py.stack import database_url

app = typer.Typer(no_args_is_help=True, help="Inspect and operate the job queue.")

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")

class JobNotFound(SupakitError):
    """No job has that id; `supakit jobs list` shows the ids."""


def _url(ctx: typer.Context) -> str:
    return database_url(settings(ctx))


def _interval(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ConfigError(f"--window {text!r} is not a duration; use e.g. 30m, 1h or 1d.")
    return timedelta(seconds=int(text[:-1]) * units[text[-1]])


@app.command("list")
def list_(ctx: typer.Context,
          status: str = typer.Option(None, "--status", help=f"Only jobs in this status ({', '.join(STATUSES)})."),
          kind: str = typer.Option(None, "--kind", help="Only jobs of this kind."),
          limit: int = typer.Option(20, "--limit", min=1, max=10_000, help="How many, newest first."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List jobs, newest first."""
    if status is not None and status not in STATUSES:
        raise ConfigError(f"--status {status!r} is not a job status; use one of {', '.join(STATUSES)}.")
    with connect(_url(ctx)) as conn:
        jobs = queue.list_jobs(conn, status=status, kind=kind, limit=limit)
    result(jobs, as_json=as_json, text=_job_table(jobs) if jobs else "no jobs")


LIST_HEADER = f"{'ID':>8}  {'KIND':<20} {'STATUS':<10} {'PRI':<4} {'TRIES':<5}  {'CREATED (UTC)':<19}  WORKER / ERROR"


def _job_table(jobs: list[dict]) -> str:
    """`jobs list` as a table with a header row (the error cut at 60 characters)."""
    rows = [f"{j['id']:>8}  {j['kind']:<20} {j['status']:<10} {j['priority']:<4} "
            f"{str(j['attempts']) + '/' + str(j['max_attempts']):<5}  {j['created_at']:%Y-%m-%d %H:%M:%S}"
            + (f"  {j['worker']}" if j["worker"] else "") + (f"  {j['error'][:60]}" if j["error"] else "")
            for j in jobs]
    return "\n".join([LIST_HEADER, *rows])


@app.command()
def schedules(ctx: typer.Context,
              kind: str = typer.Option(None, "--kind", help="Only schedules enqueueing this job kind."),
              limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="How many, next due first."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List recurring job schedules: interval, next slot, last job (any worker fires each slot once)."""
    with connect(_url(ctx)) as conn:
        rows = queue.list_schedules(conn, kind=kind, limit=limit)
    lines = [f"{r['name']:<48} {r['kind']:<22} every {r['every']:<10} next {r['next_run_at']:%Y-%m-%d %H:%M:%S}"
             + ("" if r["enabled"] else "  (disabled)")
             + (f"  last job {r['last_job_id']} {r['last_job_status'] or 'pruned'}" if r["last_job_id"] else "")
             + (f"  missed {r['missed']}" if r["missed"] else "") for r in rows]
    result(rows, as_json=as_json, text="\n".join(lines) or "no schedules")


@app.command()
def show(ctx: typer.Context, job_id: int = typer.Argument(..., help="The job's id.")) -> None:
    """Print one job as JSON (payload, result, error, lease, timestamps)."""
    with connect(_url(ctx)) as conn:
        job = queue.get_job(conn, job_id)
    if job is None:
        raise JobNotFound(f"job {job_id} not found; `supakit jobs list` shows the ids.")
    typer.echo(json.dumps(job, indent=2, default=str))


@app.command()
def enqueue(ctx: typer.Context,
            kind: str = typer.Argument(..., help="The job kind, e.g. system.noop or ai.generate."),
            payload: str = typer.Option("{}", "--payload", help="JSON object given to the handler."),
            priority: int = typer.Option(0, "--priority", help="Higher runs first."),
            run_at: datetime = typer.Option(None, "--run-at", help="Not before this time (ISO 8601)."),
            max_attempts: int = typer.Option(3, "--max-attempts", min=1, max=100, help="Attempts before it fails."),
            dedupe_key: str = typer.Option(None, "--dedupe-key", help="Unique among unfinished jobs."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Enqueue a job; prints its id (the existing job's id for a duplicate dedupe key). Warns on stderr when no
    handler of this installation has that kind (no `supakit worker` here would run it)."""
    try:
        body = json.loads(payload)
    except json.JSONDecodeError as error:
        raise ConfigError(f"--payload is not JSON ({error}); pass an object such as '{{\"seconds\": 1}}'.") from error
    if not isinstance(body, dict):
        raise ConfigError("--payload must be a JSON object, such as '{\"seconds\": 1}'.")
    with connect(_url(ctx)) as conn:
        try:
            job_id = queue.enqueue(conn, kind, body, priority=priority, run_at=run_at, max_attempts=max_attempts,
                                   dedupe_key=dedupe_key)
        except queue.JobRejected as error:
            if error.constraint == queue.KIND_IS_DOTTED_NAME:
                raise ConfigError(f"{kind!r} is not a job kind: use dotted lowercase names like email.send.") \
                    from error
            raise
    handlers = load_all()
    handled = handlers.get(kind) is not None
    if not handled:
        info(f"warning: no registered handler has the kind {kind!r}, so no `supakit worker` of this installation "
             f"will run it (registered: {', '.join(handlers.kinds)})")
    result({"id": job_id, "kind": kind, "handler_registered": handled}, as_json=as_json, text=str(job_id))


@app.command()
def cancel(ctx: typer.Context, job_id: int = typer.Argument(..., help="The job's id.")) -> None:
    """Cancel a job: queued at once; running when its worker notices (within about a second)."""
    with connect(_url(ctx)) as conn:
        outcome = queue.cancel(conn, job_id)
    if outcome is None:
        raise JobNotFound(f"job {job_id} not found; `supakit jobs list` shows the ids.")
    info({"cancelled": f"job {job_id} cancelled",
          "running": f"job {job_id} is running: its worker has been asked to stop it"}.get(
        outcome, f"job {job_id} had already finished ({outcome}); nothing to cancel"))
    typer.echo(outcome)


@app.command()
def retry(ctx: typer.Context, job_id: int = typer.Argument(..., help="The job's id.")) -> None:
    """Queue a failed or cancelled job again, from attempt one."""
    with connect(_url(ctx)) as conn:
        outcome, current = queue.retry(conn, job_id)
    if current is None:
        raise JobNotFound(f"job {job_id} not found; `supakit jobs list` shows the ids.")
    if outcome is None:
        raise ConfigError(f"job {job_id} is {current}: only failed or cancelled jobs can be retried.")
    typer.echo(outcome)


@app.command()
def stats(ctx: typer.Context,
          window: str = typer.Option("1h", "--window", help="Failure rate and workers over this past (30m, 1h, 1d)."),
          check: bool = typer.Option(False, "--check", help="Exit 1 when a threshold below is crossed (for cron)."),
          max_queued: int = typer.Option(None, "--max-queued", show_default=False,
                                         help="--check: the most ready jobs waiting."),
          max_failure_rate: float = typer.Option(None, "--max-failure-rate", show_default=False,
                                                 help="--check: the highest share of failed jobs in the window."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Queue depth per kind and status, failure rate, oldest queued age, workers seen."""
    thresholds = settings(ctx, **{"dashboard.max_queued": max_queued,
                                  "dashboard.max_failure_rate": max_failure_rate}).dashboard
    max_queued, max_failure_rate = thresholds.max_queued, thresholds.max_failure_rate
    span = _interval(window)
    with connect(_url(ctx)) as conn:
        numbers = queue.stats(conn, span)
    depth, failed, finished, oldest, workers = (numbers.depth, numbers.failed, numbers.finished,
                                                numbers.oldest_queued_s, numbers.workers)
    queued, rate = numbers.queued, numbers.failure_rate
    report = {
        "depth": [{"kind": k, "status": s, "count": c} for k, s, c in depth],
        "queued": queued, "window": window, "finished_in_window": finished, "failed_in_window": failed,
        "failure_rate": round(rate, 4), "oldest_queued_seconds": oldest,
        "workers": [{"name": n, "kinds": k, "concurrency": c, "last_seen_at": seen} for n, k, c, seen in workers],
    }
    lines = [f"{k:<24} {s:<10} {c:>8}" for k, s, c in depth] or ["(no jobs)"]
    lines += [f"queued: {queued}; failure rate over {window}: {rate:.1%} ({failed}/{finished});"
              f" oldest queued: {'-' if oldest is None else f'{float(oldest):.1f} s'}",
              f"workers seen in {window}: {len(workers)}" + "".join(f"\n  {n} (x{c})" for n, _, c, _ in workers)]
    result(report, as_json=as_json, text="\n".join(lines))
    if check:
        problems = []
        if queued > max_queued:
            problems.append(f"{queued} jobs queued (more than {max_queued})")
        if rate > max_failure_rate:
            problems.append(f"failure rate {rate:.1%} over {window} (more than {max_failure_rate:.1%})")
        if problems:
            info("check failed: " + "; ".join(problems))
            raise typer.Exit(EXIT_FAILURE)
        info("check passed")
