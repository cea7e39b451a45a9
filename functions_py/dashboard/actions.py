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
    a thread). A worker executes what this queues. The rule is internal.retry_provisioning (sql/0022)."""
    from functions_py.provisioning import runs

    with connect(url) as conn:
        org_id = runs.run_organization(conn, run_id)
        if org_id is None:
            return Outcome(False, f"no provisioning run {run_id}")
        latest_id, kind, status = runs.latest_run(conn, org_id) or (None, None, None)
        if latest_id != run_id:
            return Outcome(False, f"run {run_id} is not the organization's latest run ({latest_id}); retry that one")
        new_id, outcome = runs.retry(conn, org_id)
    if outcome == "succeeded":
        return Outcome(False, f"run {run_id} ({kind}) succeeded; there is nothing to retry")
    if outcome == "left":
        return Outcome(False, f"run {run_id} left as is: its job is already queued or running")
    if new_id is None:
        return Outcome(False, f"nothing to retry for run {run_id}")
    requested = "provisioning" if status == "rolled_back" else "deprovision"
    action = f"run {run_id} queued again" if outcome == "requeued" else f"requested a new {requested} run {new_id}"
    return Outcome(True, action, path=f"/provisioning/runs/{new_id}" if new_id != run_id else None)
