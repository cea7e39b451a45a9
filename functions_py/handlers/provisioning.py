"""The `provisioning.run` and `provisioning.deprovision` jobs: execute (or resume) one provisioning run (a resize,
backup or restore run too); the backup jobs of sql/0031: `provisioning.backup` (a schedule's slot: request the
backup run) and `provisioning.expire_backups` (retention); `provisioning.check_health` and
`provisioning.collect_usage`: one organization, or a sweep.

Payload: `{"run_id": str (uuid)}`, queued by internal.request_provisioning / request_deprovisioning (sql/0012),
request_resize (sql/0032), request_backup / request_restore_run (sql/0031: backup and restore runs are
provisioning.run jobs too); for the checks `{"org_id": str (uuid)}` or `{}` (a sweep: one job per active
infrastructure, the shape a recurring schedule enqueues).
Provider settings come from the environment (functions_py/provisioning/provider.py, docs/provisioning-guide.md).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from functions_py.errors import ConfigError
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler
from functions_py.provisioning import backups, health
from functions_py.provisioning.provider import PermanentStepError, RetryableStepError, StepError
from functions_py.provisioning.saga import RunMustWait, RunNotFound, execute_run

JOB_KEEP_WAITING_ONE = "select internal.keep_provisioning_job_waiting(%s, %s)"
# An AWS run waits for its instance (up to 5 minutes by the waiter); the worker's lease is renewed meanwhile.
TIMEOUT_S = 900.0


def _run_id(job: Job) -> UUID:
    try:
        return UUID(str(job.payload.get("run_id")))
    except ValueError:
        raise PermanentJobError(f"{job.kind}: payload.run_id is not a UUID; runs are queued by "
                                "internal.request_provisioning / request_deprovisioning.") from None


async def _execute(job: Job, ctx: JobContext) -> dict[str, Any]:
    try:
        outcome = await execute_run(ctx.pool.conninfo, _run_id(job), final_attempt=job.attempts >= job.max_attempts)
    except RunMustWait as error:  # waiting for another run of the organization is not a failed attempt
        async with ctx.pool.connection() as conn:
            await conn.execute(JOB_KEEP_WAITING_ONE, (job.id, job.lease_token))
        raise RetryableJobError(error.message) from None
    except RetryableStepError as error:
        raise RetryableJobError(error.message) from None
    except (RunNotFound, ConfigError) as error:
        raise PermanentJobError(error.message) from None
    return outcome.as_dict()


@handler("provisioning.run", timeout_s=TIMEOUT_S)
async def run(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Provision (or resume provisioning) an organization's infrastructure; returns the run's final status."""
    return await _execute(job, ctx)


@handler("provisioning.deprovision", timeout_s=TIMEOUT_S)
async def deprovision(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Remove an organization's infrastructure; returns the run's final status."""
    return await _execute(job, ctx)


BACKUP_REQUEST_ONE = "select internal.request_backup(%s, 'scheduled', %s::timestamptz)"


@handler("provisioning.backup", timeout_s=60.0)
async def backup(job: Job, ctx: JobContext) -> dict[str, Any]:
    """A backup schedule's slot (sql/0030, 0031): request the organization's backup for that slot (its run is
    executed by its own provisioning.run job); returns the run id, or why there is nothing to back up."""
    try:
        org_id = UUID(str(job.payload.get("organization_id")))
    except ValueError:
        raise PermanentJobError("provisioning.backup: payload.organization_id is not a UUID; backups are scheduled "
                                "by internal.sync_backup_schedule.") from None
    async with ctx.pool.connection() as conn:
        run_id = (await (await conn.execute(BACKUP_REQUEST_ONE, (org_id, job.payload.get("slot")))).fetchone())[0]
    if run_id is None:
        return {"skipped": "the organization has no active infrastructure"}
    return {"run_id": str(run_id)}


@handler("provisioning.expire_backups", timeout_s=TIMEOUT_S)
async def expire_backups(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Remove the snapshots and exports of an organization's backups beyond its plan's retention."""
    try:
        org_id = UUID(str(job.payload.get("organization_id")))
    except ValueError:
        raise PermanentJobError("provisioning.expire_backups: payload.organization_id is not a UUID.") from None
    try:
        expired = await asyncio.to_thread(backups.expire_backups, ctx.pool.conninfo, org_id)
    except RetryableStepError as error:
        raise RetryableJobError(error.message) from None
    except (PermanentStepError, ConfigError) as error:
        raise PermanentJobError(error.message) from None
    return {"expired": [str(b) for b in expired]}


def _org_id(job: Job) -> UUID | None:
    raw = job.payload.get("org_id")
    if raw is None:
        return None
    try:
        return UUID(str(raw))
    except ValueError:
        raise PermanentJobError(f"{job.kind}: payload.org_id is not a UUID; leave it out to sweep every "
                                "active infrastructure.") from None


async def _check(job: Job, ctx: JobContext, one: Any) -> dict[str, Any]:
    org_id = _org_id(job)
    if org_id is None:
        return await asyncio.to_thread(health.sweep, ctx.pool.conninfo, job.kind)
    try:
        return await asyncio.to_thread(one, ctx.pool.conninfo, org_id)
    except health.NotProvisioned as error:
        return {"skipped": error.message}
    except RetryableStepError as error:
        raise RetryableJobError(error.message) from None
    except (StepError, ConfigError) as error:
        raise PermanentJobError(error.message) from None


@handler("provisioning.check_health", timeout_s=120.0)
async def check_health(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Check one organization's instance and site (payload org_id), or queue a check of every active one."""
    return await _check(job, ctx, health.check_health)


@handler("provisioning.collect_usage", timeout_s=120.0)
async def collect_usage(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Collect one organization's usage (payload org_id), or queue a collection for every active one."""
    return await _check(job, ctx, health.collect_usage)
