"""`supakit provision`: request, inspect, retry, resize, health-check and tear down an organization's
infrastructure; back it up and restore a backup."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import psycopg
import typer

from cli.context import info, org_option, organization_id, result, settings
from functions_py.db import connect
from functions_py.errors import EXIT_BAD_INPUT, EXIT_FAILURE, SupakitError
from functions_py.provisioning import backups, runs
from functions_py.provisioning import health as health_checks
from functions_py.provisioning import resize as resize_saga
from functions_py.provisioning.provider import RetryableStepError
from functions_py.provisioning.saga import execute_run
from functions_py.stack import database_url

app = typer.Typer(no_args_is_help=True,
                  help="Provision customers' infrastructure (runs, status, retry, resize, health, teardown, "
                       "backups, restore).")

# What internal.retry_provisioning did (sql/0022), as the CLI says it.
RETRY_ACTIONS = {"requested": "requested a new run", "left": "left as is: its job is already queued or running",
                 "requeued": "queued again"}


class BadInput(SupakitError):
    """The argument is not what the command takes."""

    exit_code = EXIT_BAD_INPUT


class BackupNotFound(SupakitError):
    """No backup has that id; `supakit provision backups --org <org>` lists them."""

    exit_code = EXIT_FAILURE


BACKUP_STATUSES = ("pending", "running", "succeeded", "failed", "expiring", "expired")


class NothingToDo(SupakitError):
    """There is nothing to provision or retry for this organization."""

    exit_code = EXIT_FAILURE


def _organization(conn: Any, org: str) -> UUID:
    return organization_id(conn, org)  # the shared --org resolver (slug or id), cli/context.py


def _execute(url: str, run_id: UUID) -> str:
    info(f"executing run {run_id} in this process ...")
    try:
        outcome = asyncio.run(execute_run(url, run_id, final_attempt=True))
    except RetryableStepError as error:
        raise SupakitError(f"run {run_id} must wait: {error.message}; a worker will resume it "
                           "(`supakit worker`).") from None
    return outcome.status


@app.command()
def run(ctx: typer.Context, org: str = org_option(),
        reason: str = typer.Option("manual", "--reason", help="Why (recorded on the run)."),
        now: bool = typer.Option(False, "--now", help="Execute the run in this process instead of a worker."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Request provisioning for an organization (one run, however often asked); --now runs it here."""
    url = database_url(settings(ctx))
    with connect(url) as conn:
        org_id = _organization(conn, org)
        run_id = runs.request_provisioning(conn, org_id, reason)
    if run_id is None:
        raise NothingToDo(f"organization {org} already has active infrastructure, or a failed rollback to retry "
                          "first; see `supakit provision status --org " + org + "`.")
    status = _execute(url, run_id) if now else "queued"
    result({"run_id": str(run_id), "status": status}, as_json=as_json, text=f"run {run_id}: {status}")
    if status in ("rolled_back", "failed"):
        raise typer.Exit(EXIT_FAILURE)


@app.command()
def deprovision(ctx: typer.Context, org: str = org_option(),
                reason: str = typer.Option("manual", "--reason", help="Why (recorded on the run)."),
                now: bool = typer.Option(False, "--now", help="Execute the run in this process instead of a worker."),
                as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Remove an organization's infrastructure."""
    url = database_url(settings(ctx))
    with connect(url) as conn:
        org_id = _organization(conn, org)
        run_id = runs.request_deprovisioning(conn, org_id, reason)
    if run_id is None:
        raise NothingToDo(f"organization {org} has no infrastructure to remove.")
    status = _execute(url, run_id) if now else "queued"
    result({"run_id": str(run_id), "status": status}, as_json=as_json, text=f"run {run_id}: {status}")
    if status == "failed":
        raise typer.Exit(EXIT_FAILURE)


@app.command()
def retry(ctx: typer.Context, org: str = org_option(),
          now: bool = typer.Option(False, "--now", help="Execute the run in this process instead of a worker."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Retry the organization's latest run: resume a stalled one, finish a failed rollback, or start anew after a
    rollback or a failed teardown."""
    url = database_url(settings(ctx))
    with connect(url) as conn:
        org_id = _organization(conn, org)
        run_id, outcome = runs.retry(conn, org_id)
    if outcome == "no_run":
        raise NothingToDo(f"organization {org} has no provisioning run; start one with `supakit provision run`.")
    if outcome == "succeeded":
        raise NothingToDo(f"the latest run of {org} succeeded; there is nothing to retry.")
    action = RETRY_ACTIONS[outcome]
    if run_id is None:
        raise NothingToDo(f"nothing to retry for {org}; see `supakit provision status --org {org}`.")
    info(f"run {run_id}: {action}")
    outcome = _execute(url, run_id) if now else "queued"
    result({"run_id": str(run_id), "status": outcome, "action": action}, as_json=as_json,
           text=f"run {run_id}: {outcome}")


@app.command()
def status(ctx: typer.Context, org: str = org_option(),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the organization's infrastructure, latest run, its steps and recent logs."""
    with connect(database_url(settings(ctx))) as conn:
        org_id = _organization(conn, org)
        report = runs.status(conn, org_id)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    infra = report.get("infrastructure") or {}
    lines = [f"infrastructure: {infra.get('status', 'none')}"
             + (f"  {infra.get('provider')}  {infra.get('subdomain') or ''}  {infra.get('public_address') or ''}"
                if infra else "")]
    run_ = report.get("run")
    if run_:
        lines.append(f"run {run_['id']} ({run_['kind']}, plan {run_['plan_id']}): {run_['status']}"
                     + (f"  error: {run_['error']}" if run_.get("error") else ""))
        lines += [f"  {s['ordinal']}. {s['name']:<16} {s['status']:<20} attempts {s['attempts']}"
                  + (f"  {s['error']}" if s.get("error") else "") for s in report["steps"]]
        lines.append("log:")
        lines += [f"  {entry['at'][:19]}  {entry['level']:<7} {(entry['step'] or '-'):<16} {entry['message']}"
                  for entry in report["logs"][-20:]]
    else:
        lines.append("no provisioning run yet")
    result(report, as_json=False, text="\n".join(lines))


@app.command()
def backup(ctx: typer.Context, org: str = org_option(),
           reason: str = typer.Option("manual", "--reason", help="Why (recorded on the backup)."),
           now: bool = typer.Option(False, "--now", help="Execute the backup in this process instead of a worker."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Back up an organization's infrastructure now (instance snapshot + data export); --now runs it here."""
    url = database_url(settings(ctx))
    with connect(url) as conn:
        org_id = _organization(conn, org)
        run_id = backups.request_backup(conn, org_id, reason)
        backup_id = runs.run_backup(conn, run_id) if run_id else None
    if run_id is None:
        raise NothingToDo(f"organization {org} has no active infrastructure to back up; see `supakit provision "
                          f"status --org {org}`.")
    status = _execute(url, run_id) if now else "queued"
    result({"run_id": str(run_id), "backup_id": str(backup_id), "status": status}, as_json=as_json,
           text=f"backup {backup_id} (run {run_id}): {status}")
    if status in ("rolled_back", "failed"):
        raise typer.Exit(EXIT_FAILURE)


@app.command()
def resize(ctx: typer.Context, org: str = org_option(),
           instance_type: str | None = typer.Option(
               None, "--instance-type", help="Resize to this instance type (e.g. t3.large) instead of the plan's."),
           reason: str = typer.Option("manual", "--reason", help="Why (recorded on the run)."),
           now: bool = typer.Option(False, "--now", help="Execute the run in this process instead of a worker."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Resize the organization's instance to its plan's size (or --instance-type): snapshot, launch the new one,
    verify, switch DNS, retire the old one. One resize per organization at a time; a second request is merged or
    follows the running one."""
    url = database_url(settings(ctx))
    with connect(url) as conn:
        org_id = _organization(conn, org)
        try:
            run_id, action = resize_saga.request(conn, org_id, reason, instance_type)
        except psycopg.errors.InvalidParameterValue as error:  # internal.request_resize checks the type
            raise BadInput(f"--instance-type: {error.diag.message_primary}; {error.diag.message_hint}") from None
    if action in ("not_active", "nothing"):
        raise NothingToDo(f"organization {org}: {resize_saga.ACTIONS[action]}.")
    info(f"{resize_saga.ACTIONS[action]}" + (f" (run {run_id})" if run_id else ""))
    status = _execute(url, run_id) if now and action in ("requested", "merged") else action
    result({"run_id": str(run_id) if run_id else None, "action": action, "status": status}, as_json=as_json,
           text=f"run {run_id}: {status}" if run_id else status)
    if status in ("rolled_back", "failed"):
        raise typer.Exit(EXIT_FAILURE)


@app.command("backups")
def list_backups(ctx: typer.Context, org: str = org_option(),
                 status: str = typer.Option(None, "--status", help="Only backups in this status (pending, running, "
                                            "succeeded, failed, expiring, expired)."),
                 limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many, newest first."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List an organization's backups, newest first: status, size, sha256, where the export is."""
    if status is not None and status not in BACKUP_STATUSES:
        raise BadInput(f"--status {status!r} is not a backup status; use one of {', '.join(BACKUP_STATUSES)}.")
    with connect(database_url(settings(ctx))) as conn:
        org_id = _organization(conn, org)
        rows = backups.list_backups(conn, org_id, status=status, limit=limit)
    lines = [f"{r['id']}  {r['status']:<9} {r['created_at']:%Y-%m-%d %H:%M:%S}  {r['reason']:<10}"
             + (f"  {r['size_bytes']} B  sha256 {r['sha256'][:12]}  {r['export_url']}" if r["sha256"] else "")
             + (f"  {r['error'][:60]}" if r["error"] else "") for r in rows]
    result([{k: (str(v) if isinstance(v, UUID) else v) for k, v in r.items()} for r in rows], as_json=as_json,
           text="\n".join(lines) or "no backups")


@app.command()
def restore(ctx: typer.Context, backup_id: str = typer.Argument(..., help="The backup's id (`supakit provision "
                                                                "backups --org <org>`)."),
            reason: str = typer.Option("manual", "--reason", help="Why (recorded on the run)."),
            now: bool = typer.Option(False, "--now", help="Execute the restore in this process instead of a worker."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Restore a succeeded backup as a saga (stage, swap, verify, retire; a failure swaps the data back)."""
    try:
        chosen = UUID(backup_id)
    except ValueError:
        raise BadInput(f"{backup_id!r} is not a backup id (a UUID); list them with `supakit provision backups "
                       "--org <org>`.") from None
    url = database_url(settings(ctx))
    with connect(url) as conn:
        if backups.backup_organization(conn, chosen) is None:
            raise BackupNotFound(f"no backup has the id {chosen}; list them with `supakit provision backups "
                                 "--org <org>`.")
        try:
            run_id = backups.request_restore(conn, chosen, reason)
        except psycopg.errors.InvalidParameterValue as error:
            raise BadInput(error.diag.message_primary or str(error)) from None
        except psycopg.errors.ObjectNotInPrerequisiteState as error:
            raise NothingToDo(f"{error.diag.message_primary}; {error.diag.message_hint or ''}".strip("; ")) from None
    status = _execute(url, run_id) if now else "queued"
    result({"run_id": str(run_id), "backup_id": str(chosen), "status": status}, as_json=as_json,
           text=f"restore of backup {chosen} (run {run_id}): {status}")
    if status in ("rolled_back", "failed"):
        raise typer.Exit(EXIT_FAILURE)


@app.command()
def health(ctx: typer.Context, org: str = org_option(),
           check: bool = typer.Option(True, "--check/--no-check",
                                      help="Check the instance and site and collect usage now (else: show the last)."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Check an organization's instance (provider status, HTTP GET of its site), collect its usage, and show the
    services, health and usage as the customer dashboard gets them (provisioning_status). Exits 1 unless healthy."""
    url = database_url(settings(ctx))
    with connect(url) as conn:
        org_id = _organization(conn, org)
    if check:
        try:
            health_checks.check_health(url, org_id)
            health_checks.collect_usage(url, org_id)
        except health_checks.NotProvisioned as error:
            raise NothingToDo(error.message) from None
    with connect(url) as conn:
        report = runs.status(conn, org_id)
    state = (report.get("health") or {}).get("status", "unknown")
    if as_json:
        typer.echo(json.dumps({k: report[k] for k in ("organization_id", "infrastructure", "services", "health",
                                                       "usage")}, indent=2))
    else:
        services = report["services"]
        usage = report.get("usage") or {}
        lines = [f"health: {state}" + (f" since {report['health']['since'][:19]}" if report.get("health")
                                       and report["health"].get("since") else "")]
        lines += [f"  {name:<9} {value.get('state')}" for name, value in services.items()]
        site = services["site"]
        if site.get("url"):
            lines.append(f"  site GET {site['url']}: {site.get('http_status') or '-'}"
                         + (f" in {site['latency_ms']} ms" if site.get("latency_ms") is not None else "")
                         + (f"  ({site['error']})" if site.get("error") else ""))
        if usage:
            lines.append(f"usage {usage['day']}: storage {usage['storage_bytes']} B, bandwidth "
                         f"{usage['bandwidth_bytes'] if usage['bandwidth_bytes'] is not None else 'not measured'},"
                         f" users {usage['users']}")
        typer.echo("\n".join(lines))
    if state != "healthy":
        raise typer.Exit(EXIT_FAILURE)
