"""`supakit jobs`: inspect and operate the job queue (list, show, enqueue, cancel, retry, stats)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import typer
from psycopg.types.json import Jsonb

from cli.context import info, result, settings
from functions_py.db import connect
from functions_py.errors import EXIT_FAILURE, ConfigError, SupakitError
from functions_py.stack import database_url

app = typer.Typer(no_args_is_help=True, help="Inspect and operate the job queue.")

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")

JOB_SELECT_MANY = """
select id, kind, status::text, priority, attempts, max_attempts, run_at, created_at, finished_at, lease_owner, error
from internal.jobs
where (%(status)s::text is null or status::text = %(status)s) and (%(kind)s::text is null or kind = %(kind)s)
order by id desc
limit %(limit)s
"""
JOB_SELECT_ONE = "select row_to_json(j) from internal.jobs as j where j.id = %s"
JOB_ENQUEUE_ONE = """
select internal.enqueue_job(%(kind)s, %(payload)s, priority => %(priority)s, run_at => %(run_at)s,
  max_attempts => %(max_attempts)s, dedupe_key => %(dedupe_key)s)
"""
JOB_CANCEL_ONE = "select internal.cancel_job(%s)::text"
JOB_RETRY_ONE = "select internal.retry_job(%s)::text"
JOB_STATUS_ONE = "select status::text from internal.jobs where id = %s"
JOB_DEPTH_BY_KIND = "select kind, status::text, count(*) from internal.jobs group by 1, 2 order by 1, 2"
JOB_WINDOW_OUTCOMES = """
select count(*) filter (where status = 'failed'), count(*) filter (where status in ('succeeded', 'failed'))
from internal.jobs where finished_at >= now() - %s::interval
"""
JOB_OLDEST_QUEUED = """
select extract(epoch from now() - min(run_at)) from internal.jobs where status = 'queued' and run_at <= now()
"""
WORKERS_SEEN = """
select name, kinds, concurrency, last_seen_at from internal.workers
where stopped_at is null and last_seen_at >= now() - %s::interval order by name
"""


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
        rows = conn.execute(JOB_SELECT_MANY, {"status": status, "kind": kind, "limit": limit}).fetchall()
    keys = ("id", "kind", "status", "priority", "attempts", "max_attempts", "run_at", "created_at", "finished_at",
            "worker", "error")
    lines = [f"{r[0]:>8}  {r[1]:<20} {r[2]:<10} p{r[3]:<3} {r[4]}/{r[5]}  {r[7]:%Y-%m-%d %H:%M:%S}"
             + (f"  {r[9]}" if r[9] else "") + (f"  {r[10][:60]}" if r[10] else "") for r in rows]
    result([dict(zip(keys, r, strict=True)) for r in rows], as_json=as_json, text="\n".join(lines) or "no jobs")


@app.command()
def show(ctx: typer.Context, job_id: int = typer.Argument(..., help="The job's id.")) -> None:
    """Print one job as JSON (payload, result, error, lease, timestamps)."""
    with connect(_url(ctx)) as conn:
        row = conn.execute(JOB_SELECT_ONE, (job_id,)).fetchone()
    if row is None:
        raise JobNotFound(f"job {job_id} not found; `supakit jobs list` shows the ids.")
    typer.echo(json.dumps(row[0], indent=2, default=str))


@app.command()
def enqueue(ctx: typer.Context,
            kind: str = typer.Argument(..., help="The job kind, e.g. system.noop or ai.generate."),
            payload: str = typer.Option("{}", "--payload", help="JSON object given to the handler."),
            priority: int = typer.Option(0, "--priority", help="Higher runs first."),
            run_at: datetime = typer.Option(None, "--run-at", help="Not before this time (ISO 8601)."),
            max_attempts: int = typer.Option(3, "--max-attempts", min=1, max=100),
            dedupe_key: str = typer.Option(None, "--dedupe-key", help="Unique among unfinished jobs.")) -> None:
    """Enqueue a job; prints its id (the existing job's id for a duplicate dedupe key)."""
    try:
        body = json.loads(payload)
    except json.JSONDecodeError as error:
        raise ConfigError(f"--payload is not JSON ({error}); pass an object such as '{{\"seconds\": 1}}'.") from error
    if not isinstance(body, dict):
        raise ConfigError("--payload must be a JSON object, such as '{\"seconds\": 1}'.")
    with connect(_url(ctx)) as conn:
        try:
            job_id = conn.execute(JOB_ENQUEUE_ONE, {
                "kind": kind, "payload": Jsonb(body), "priority": priority, "run_at": run_at,
                "max_attempts": max_attempts, "dedupe_key": dedupe_key}).fetchone()[0]
        except Exception as error:
            if getattr(error, "sqlstate", None) == "23514":
                raise ConfigError(f"{kind!r} is not a job kind: use dotted lowercase names like email.send.") \
                    from error
            raise
    typer.echo(job_id)


@app.command()
def cancel(ctx: typer.Context, job_id: int = typer.Argument(..., help="The job's id.")) -> None:
    """Cancel a job: queued at once; running when its worker notices (within about a second)."""
    with connect(_url(ctx)) as conn:
        outcome = conn.execute(JOB_CANCEL_ONE, (job_id,)).fetchone()[0]
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
        outcome = conn.execute(JOB_RETRY_ONE, (job_id,)).fetchone()[0]
        current = conn.execute(JOB_STATUS_ONE, (job_id,)).fetchone()
    if current is None:
        raise JobNotFound(f"job {job_id} not found; `supakit jobs list` shows the ids.")
    if outcome is None:
        raise ConfigError(f"job {job_id} is {current[0]}: only failed or cancelled jobs can be retried.")
    typer.echo(outcome)


@app.command()
def stats(ctx: typer.Context,
          window: str = typer.Option("1h", "--window", help="Failure rate and workers over this past (30m, 1h, 1d)."),
          check: bool = typer.Option(False, "--check", help="Exit 1 when a threshold below is crossed (for cron)."),
          max_queued: int = typer.Option(50, "--max-queued", envvar="SUPAKIT_JOBS_MAX_QUEUED",
                                         help="--check: the most ready jobs waiting."),
          max_failure_rate: float = typer.Option(0.05, "--max-failure-rate", envvar="SUPAKIT_JOBS_MAX_FAILURE_RATE",
                                                 help="--check: the highest share of failed jobs in the window."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Queue depth per kind and status, failure rate, oldest queued age, workers seen."""
    span = _interval(window)
    with connect(_url(ctx)) as conn:
        depth = conn.execute(JOB_DEPTH_BY_KIND).fetchall()
        failed, finished = conn.execute(JOB_WINDOW_OUTCOMES, (span,)).fetchone()
        oldest = conn.execute(JOB_OLDEST_QUEUED).fetchone()[0]
        workers = conn.execute(WORKERS_SEEN, (span,)).fetchall()
    queued = sum(count for _, status, count in depth if status == "queued")
    rate = failed / finished if finished else 0.0
    report = {
        "depth": [{"kind": k, "status": s, "count": c} for k, s, c in depth],
        "queued": queued, "window": window, "finished_in_window": finished, "failed_in_window": failed,
        "failure_rate": round(rate, 4), "oldest_queued_seconds": float(oldest) if oldest is not None else None,
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
