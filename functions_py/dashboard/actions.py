"""What the dashboard's buttons do, through the same SQL functions and modules as the CLI:
`internal.retry_job` / `internal.cancel_job` (`supakit jobs retry|cancel`), `functions_py.billing.webhooks.replay`
(`supakit billing replay`) and the provisioning retry of `supakit provision retry` (its queries, reused)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from functions_py.billing import webhooks
from functions_py.dashboard import queries
from functions_py.db import connect


@dataclass(frozen=True)
class Outcome:
    """What an action did, for the flash message: `ok` false means nothing changed."""

    ok: bool
    message: str
    path: str | None = None  # where to look next, when not the page the action was taken on


async def retry_job(conn: Any, job_id: int) -> Outcome:
    outcome = (await (await conn.execute(queries.JOB_RETRY_ONE, {"id": job_id})).fetchone())[0]
    if outcome is None:
        return Outcome(False, f"job {job_id} was not retried: only failed or cancelled jobs can be")
    return Outcome(True, f"job {job_id} queued again from attempt one")


async def cancel_job(conn: Any, job_id: int) -> Outcome:
    outcome = (await (await conn.execute(queries.JOB_CANCEL_ONE, {"id": job_id})).fetchone())[0]
    if outcome is None:
        return Outcome(False, f"job {job_id} not found")
    return Outcome(outcome in ("cancelled", "running"), {
        "cancelled": f"job {job_id} cancelled",
        "running": f"job {job_id} is running: its worker has been asked to stop it"}.get(
        outcome, f"job {job_id} had already finished ({outcome}); nothing to cancel"))


def replay_event(url: str, event_id: str, *, force: bool) -> Outcome:
    """`supakit billing replay [--force]` (blocking: run it in a thread)."""
    with connect(url) as conn:
        try:
            receipt = webhooks.replay(conn, event_id, force=force)
        except psycopg.errors.NoDataFound:
            return Outcome(False, f"no Stripe event {event_id} in the ledger")
    if receipt.outcome == "duplicate":
        return Outcome(False, f"{event_id} was already processed; replay it again with force")
    return Outcome(not receipt.failed, f"{event_id} ({receipt.event_type}): {receipt.outcome}"
                   + (f": {receipt.error}" if receipt.error else ""))


def retry_provisioning(url: str, run_id: UUID) -> Outcome:
    """`supakit provision retry` for the run's organization, when `run_id` is its latest run (blocking: run it in
    a thread). A worker executes what this queues."""
    from cli.provision import DEPROVISION_REQUEST_ONE, LOG_INSERT_ONE, RUN_LATEST, RUN_REQUEST_ONE, RUN_REQUEUE_ONE

    with connect(url) as conn:
        row = conn.execute("select organization_id from public.provisioning_runs where id = %s",
                           (run_id,)).fetchone()
        if row is None:
            return Outcome(False, f"no provisioning run {run_id}")
        org_id = row[0]
        latest_id, kind, status, _, job_status = conn.execute(RUN_LATEST, (org_id,)).fetchone()
        if latest_id != run_id:
            return Outcome(False, f"run {run_id} is not the organization's latest run ({latest_id}); retry that one")
        if status == "succeeded":
            return Outcome(False, f"run {run_id} ({kind}) succeeded; there is nothing to retry")
        if status == "rolled_back":
            new_id = conn.execute(RUN_REQUEST_ONE, (org_id, "retry")).fetchone()[0]
            action = f"requested a new provisioning run {new_id}"
        elif kind == "deprovision" and status == "failed":
            new_id = conn.execute(DEPROVISION_REQUEST_ONE, (org_id, "retry")).fetchone()[0]
            action = f"requested a new deprovision run {new_id}"
        elif job_status in ("queued", "running"):
            return Outcome(False, f"run {run_id} left as is: its job is already queued or running")
        else:
            new_id = run_id
            with conn.transaction():
                conn.execute(RUN_REQUEUE_ONE, (run_id,))
                conn.execute(LOG_INSERT_ONE, ("retry requested from the dashboard", run_id))
            action = f"run {run_id} queued again"
        if new_id is None:
            return Outcome(False, f"nothing to retry for run {run_id}")
    return Outcome(True, action, path=f"/provisioning/runs/{new_id}" if new_id != run_id else None)
