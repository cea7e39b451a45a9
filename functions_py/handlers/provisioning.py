"""The `provisioning.run` and `provisioning.deprovision` jobs: execute (or resume) one provisioning run; and the
backup jobs of sql/0031: `provisioning.backup` (a schedule's slot: request the backup run) and
`provisioning.expire_backups` (retention).

Payload: `{"run_id": str (uuid)}`, queued by internal.request_provisioning / request_deprovisioning (sql/0012),
request_backup / request_restore_run (sql/0031: backup and restore runs are provisioning.run jobs too).
Provider settings come from the environment (functions_py/provisioning/provider.py, docs/provisioning-guide.md).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from functions_py.errors import ConfigError
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler
from functions_py.provisioning import backups
from functions_py.provisioning.provider import PermanentStepError, RetryableStepError
from functions_py.provisioning.saga import RunNotFound, execute_run

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
