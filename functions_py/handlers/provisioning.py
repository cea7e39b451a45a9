"""The `provisioning.run` and `provisioning.deprovision` jobs: execute (or resume) one provisioning run (a resize
run too: sql/0026); `provisioning.check_health` and `provisioning.collect_usage`: one organization, or a sweep.

Payload: `{"run_id": str (uuid)}`, queued by internal.request_provisioning / request_deprovisioning (sql/0012) /
request_resize (sql/0026); for the checks `{"org_id": str (uuid)}` or `{}` (a sweep: one job per active
infrastructure, the shape a recurring schedule enqueues).
Provider settings come from the environment (functions_py/provisioning/provider.py, docs/provisioning-guide.md).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from functions_py.errors import ConfigError
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler
from functions_py.provisioning import health
from functions_py.provisioning.provider import RetryableStepError, StepError
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
